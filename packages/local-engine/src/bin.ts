#!/usr/bin/env node
import { runEngineCommand } from "./cli.js";

// Standalone entry: `pnpm --filter @ctxsync/local-engine engine --model X.gguf`.
// pnpm passes a literal "--" through when used as a separator; drop it.
// pnpm runs package scripts in the package folder; resolve --model and --state-dir
// against the folder the user ran pnpm from.
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === "--"));
const result = await runEngineCommand(args);
if (result.closed) await result.closed;
process.exitCode = result.exitCode;

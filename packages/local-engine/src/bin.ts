#!/usr/bin/env node
import { runEngineCommand } from "./cli.js";

// Standalone entry: `pnpm --filter @ctxsync/local-engine engine --model X.gguf`.
// pnpm passes a literal "--" through when used as a separator; drop it.
const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === "--"));
const result = await runEngineCommand(args);
if (result.closed) await result.closed;
process.exitCode = result.exitCode;

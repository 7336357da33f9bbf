#!/usr/bin/env node
import { runCli } from "./cli.js";

/**
 * Resolves once everything written to `stream` has been handed to the OS. `process.exit` does not wait
 * for that: with stdout on a pipe whose reader is slower than us (`| jq`, `| wc -c`), output past the
 * pipe's buffer (64 KiB) was lost and the command still exited 0.
 */
const drained = (stream: NodeJS.WriteStream): Promise<void> =>
  new Promise((resolve) => {
    if (stream.writableLength === 0 || stream.destroyed) resolve();
    else stream.write("", () => resolve());
  });

// A reader that goes away (`| head`) is not an error of ours: stop quietly.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });

const exit = async (code: number) => {
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
};

runCli(process.argv.slice(2)).then(exit, (e) => {
  process.stderr.write(`ctxsync: ${e instanceof Error ? e.message : String(e)}\n`);
  return exit(1);
});

// How to start each server under test. All three run as `node --import tsx` child processes
// (one process each, so /proc measures the server and nothing else) and serve the same URL
// scheme, `ws://127.0.0.1:P/sync/<ROOM>`, so the clients are identical in every run.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ServerName } from "./config.js";
import type { ServerCommand } from "./spawn-server.js";

const tsxNode = ["--import", "tsx", "--conditions=development"];

/** The ctxsync CLI entry point, relative to the repository root. */
export const CTXSYNC_MAIN = "apps/cli/src/main.ts";

export interface CtxsyncOptions {
  /** The checkout to run ctxsync from (another worktree, to compare branches). */
  readonly root?: string | undefined;
  /** Extra `serve` arguments. */
  readonly args?: readonly string[];
}

export const serverCommand = (name: ServerName, repoRoot: string, port: number, dataDir: string, ctxsync: CtxsyncOptions = {}): ServerCommand => {
  const ctxsyncRoot = ctxsync.root ?? repoRoot;
  switch (name) {
    case "ctxsync": {
      if (!existsSync(join(ctxsyncRoot, CTXSYNC_MAIN)))
        throw new Error(`${join(ctxsyncRoot, CTXSYNC_MAIN)} not found: the ctxsync server is not in this checkout`);
      // No --auth-secret: open on loopback.
      return { command: process.execPath, args: [...tsxNode, CTXSYNC_MAIN, "serve", "--port", String(port), "--data", dataDir, ...(ctxsync.args ?? [])], cwd: ctxsyncRoot };
    }
    case "ywebsocket":
      return { command: process.execPath, args: [...tsxNode, "bench/server/peer-ywebsocket.ts", "--port", String(port)], cwd: repoRoot };
    case "hocuspocus":
      return { command: process.execPath, args: [...tsxNode, "bench/server/peer-hocuspocus.ts", "--port", String(port)], cwd: repoRoot };
  }
};

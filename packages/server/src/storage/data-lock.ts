import { syncError } from "@ctxsync/protocol";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * One process at a time per SQLite file. A second writer would corrupt nothing in SQLite, but
 * the server's compaction folds "every update up to seq N" into its in-memory snapshot, so an
 * update another process appended meanwhile could be dropped. The SQLite store takes this lock
 * when it opens a file (`<dir>/<name>.pid` beside `<dir>/<name>.db`: `ctxsync.pid` for the CLI's
 * `ctxsync.db`) and drops it when it closes; a lock left by a killed process (its pid is gone) is
 * taken over.
 */

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

export const lockDataDir = (dir: string, what: string, file = "ctxsync.pid"): (() => void) => {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, file);
  let holder: { pid: number; what: string } | undefined;
  try {
    holder = JSON.parse(readFileSync(path, "utf8")) as { pid: number; what: string };
  } catch {
    holder = undefined;
  }
  if (holder && holder.pid !== process.pid && alive(holder.pid))
    throw syncError("conflict", `${dir} is in use by ${holder.what} (pid ${holder.pid}); talk to that server with --server URL, or stop it first`);
  writeFileSync(path, JSON.stringify({ pid: process.pid, what }));
  return () => {
    try {
      const cur = JSON.parse(readFileSync(path, "utf8")) as { pid: number };
      if (cur.pid === process.pid) rmSync(path, { force: true });
    } catch {
      /* already gone */
    }
  };
};

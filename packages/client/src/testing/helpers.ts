import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BranchInfo } from "../session-types.js";
import { memoryStorage, openSession } from "../node.js";
import type { Entry } from "@ctxsync/core";
import type { TestServer } from "./server.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..", "..");
const children = new Set<ChildProcessWithoutNullStreams>();

export const waitFor = async (cond: () => boolean, what: string, ms = 15_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** Run `testing/<script>` in a child: Node itself with tsx as a loader (killing the tsx wrapper would orphan the real process). */
export const runTs = (script: string, args: readonly string[]): ChildProcessWithoutNullStreams => {
  const child = spawn(process.execPath, ["--conditions=development", "--import", "tsx", join(here, script), ...args], { cwd: root, stdio: "pipe" });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
};

/** Kill children a failed test left behind. */
export const killChildren = (): void => children.forEach((c) => c.kill("SIGKILL"));

/** What the server holds: read by a fresh device with empty storage. */
export const onServer = async (server: TestServer, conversation: string): Promise<{ branches: BranchInfo[]; main: Entry[] }> => {
  const s = await openSession({ conversation, url: server.url, token: server.token(conversation), storage: memoryStorage() });
  try {
    await s.whenSynced();
    return { branches: s.branches(), main: s.transcript("main") };
  } finally {
    await s.close();
  }
};

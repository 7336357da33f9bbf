import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BranchInfo } from "@ctxsync/client";
import { memoryStorage, openSession } from "@ctxsync/client/node";
import type { Entry } from "@ctxsync/core";
import type { TestServer } from "@ctxsync/server/testing";

export { waitFor } from "@ctxsync/server/testing";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const children = new Set<ChildProcessWithoutNullStreams>();

/** Run `support/<script>` in a child: Node itself with tsx as a loader (killing the tsx wrapper would orphan the real process). */
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
  const s = await openSession({ conversation, url: server.wsUrl, token: server.token(conversation), storage: memoryStorage() });
  try {
    await s.whenSynced();
    return { branches: s.branches(), main: s.transcript("main") };
  } finally {
    await s.close();
  }
};

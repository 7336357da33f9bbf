import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runAgentLoop } from "../../packages/client/examples/agent-loop.js";
import { memoryStorage, openSession } from "@ctxsync/client/node";
import { waitFor } from "./support/helpers.js";
import { startTestServer, type TestServer } from "@ctxsync/server/testing";

let server: TestServer;
const dir = mkdtempSync(join(tmpdir(), "ctxsync-example-"));
beforeAll(async () => {
  server = await startTestServer({ secret: "test-secret" });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

it("the docs' agent loop runs against the server and another device sees its turns", async () => {
  const lines: string[] = [];
  const session = await runAgentLoop({ dir, conversation: "example", question: "How many files?", url: server.wsUrl, token: server.token("example"), log: (l) => lines.push(l) });
  await session.whenSynced();
  expect(session.transcript().map((e) => e.kind)).toEqual(["user", "assistant", "tool_result", "assistant"]);
  expect(session.usage()).toHaveLength(2);
  expect(lines.some((l) => l.startsWith("request 1:"))).toBe(true);
  const other = await openSession({ conversation: "example", url: server.wsUrl, token: server.token("example"), storage: memoryStorage(), device: "phone" });
  await other.whenSynced();
  expect(other.transcript()).toEqual(session.transcript());
  await waitFor(() => other.driver() !== undefined, "the agent's lease to show");
  expect(other.driver()?.device).toBe("agent-laptop");
  await expect(other.appendUser("typed on the phone")).rejects.toMatchObject({ code: "conflict" });
  await session.close();
  await other.close();
});

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fsStorage, openSession } from "@ctxsync/client/node";
import { killChildren, onServer, runTs } from "./support/helpers.js";
import { startTestServer, type TestServer } from "@ctxsync/server/testing";

let server: TestServer;
const dir = mkdtempSync(join(tmpdir(), "ctxsync-kill-"));

beforeAll(async () => {
  server = await startTestServer({ secret: "test-secret" });
});
afterAll(async () => {
  killChildren();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

it("a client killed with SIGKILL right after an append returned finds the entry in storage on restart and syncs it", async () => {
  await server.stop(); // nothing can leave the process: only local storage can keep the entries
  const conversation = `kill${Date.now().toString(36)}`;
  const child = runTs("append-child.ts", [dir, server.wsUrl, conversation, server.token(conversation)]);
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const acknowledged = await new Promise<string[]>((resolve, reject) => {
    let buf = "";
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n").filter(Boolean);
      if (lines.length >= 5) {
        child.kill("SIGKILL"); // right after an append returned: no chance to flush or close anything
        resolve(lines.filter((l, i) => i < lines.length - 1 || buf.endsWith("\n")));
      }
    });
    child.on("exit", (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
    setTimeout(() => reject(new Error(`child produced no output: ${stderr}`)), 30_000);
  });
  await new Promise((r) => child.once("exit", r));
  expect(child.signalCode).toBe("SIGKILL");

  // Restart on the same storage, offline first: every acknowledged entry is there.
  const restarted = await openSession({ conversation, storage: fsStorage({ dir }) });
  const ids = restarted.transcript().map((e) => e.id);
  for (const id of acknowledged) expect(ids).toContain(id);
  await restarted.close();

  // Then with the server up: they reach the server.
  await server.start();
  const online = await openSession({ conversation, url: server.wsUrl, token: server.token(conversation), storage: fsStorage({ dir }) });
  await online.whenSynced();
  await online.close();
  const onServerIds = (await onServer(server, conversation)).main.map((e) => e.id);
  for (const id of acknowledged) expect(onServerIds).toContain(id);
  expect(onServerIds.length).toBeGreaterThanOrEqual(acknowledged.length);
});

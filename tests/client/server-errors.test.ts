import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as Y from "yjs";
import { signToken } from "@ctxsync/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fsStorage, memoryStorage, openSession, type Session, type SyncError } from "@ctxsync/client/node";
import { onServer } from "./support/helpers.js";
import { startTestServer, type TestServer } from "@ctxsync/server/testing";

/** Errors produced by the real ctxsync server reach the caller as typed SyncErrors. */
let server: TestServer;
const dir = mkdtempSync(join(tmpdir(), "ctxsync-errors-"));
let n = 0;
const conv = () => `err${Date.now().toString(36)}${n++}`;
const firstError = (s: Session) => new Promise<SyncError>((r) => s.on("error", r));

beforeAll(async () => {
  server = await startTestServer({ secret: "test-secret", limits: { maxMessageBytes: 64 * 1024 } });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("server errors against the ctxsync server", () => {
  it("a token signed with the wrong secret: unauthorized, writes refused afterwards, nothing lost locally", async () => {
    const c = conv();
    const s = await openSession({ conversation: c, url: server.wsUrl, token: signToken("wrong", { conversation: c, scopes: ["read", "append"] }), storage: memoryStorage(), maxBackoffMs: 100 });
    const err = await firstError(s);
    expect(err).toMatchObject({ name: "SyncError", code: "unauthorized" });
    expect(err.message.length).toBeGreaterThan(c.length + 2);
    expect(s.status).toBe("offline");
    await expect(s.appendUser("x")).rejects.toMatchObject({ code: "unauthorized" });
    // A new token and the session carries on.
    s.connect(server.token(c));
    await s.whenSynced();
    await s.appendUser("with a good token");
    await s.whenSynced();
    await s.close();
  });

  it("a token for another conversation: forbidden", async () => {
    const c = conv();
    const s = await openSession({ conversation: c, url: server.wsUrl, token: server.token("someone-else"), storage: memoryStorage(), maxBackoffMs: 100 });
    expect(await firstError(s)).toMatchObject({ code: "forbidden" });
    await s.close();
  });

  it("a replica holding an update that deletes an entry: append-only-violation, and the server keeps the entry", async () => {
    const c = conv();
    const store = join(dir, c);
    const a = await openSession({ conversation: c, url: server.wsUrl, token: server.token(c), storage: fsStorage({ dir: store }) });
    const kept = await a.appendUser("must never disappear");
    await a.whenSynced();
    await a.close();
    // Corrupt the local replica the way a buggy client would: an update that deletes the entry.
    const raw = fsStorage({ dir: store });
    const stored = await raw.load(c);
    const doc = new Y.Doc();
    for (const u of [...(stored.snapshot ? [stored.snapshot] : []), ...stored.updates]) Y.applyUpdate(doc, u);
    doc.on("update", (u: Uint8Array) => void raw.appendUpdate(c, u));
    doc.getArray("entries").delete(0, 1);
    await raw.close();

    const b = await openSession({ conversation: c, url: server.wsUrl, token: server.token(c), storage: fsStorage({ dir: store }), maxBackoffMs: 100 });
    const err = await firstError(b);
    expect(err).toMatchObject({ code: "append-only-violation" });
    await expect(b.appendUser("more")).rejects.toMatchObject({ code: "append-only-violation" });
    await b.close();
    expect((await onServer(server, c)).main.map((e) => e.id)).toEqual([kept.id]);
  });

  it("an update over the server's message limit: message-too-large, earlier entries stay on the server", async () => {
    const c = conv();
    const s = await openSession({ conversation: c, url: server.wsUrl, token: server.token(c), storage: memoryStorage(), maxBackoffMs: 100 });
    const small = await s.appendUser("fits");
    await s.whenSynced();
    const errored = firstError(s);
    await s.appendToolResult("call_1", "x".repeat(100 * 1024));
    expect(await errored).toMatchObject({ code: "message-too-large" });
    await s.close();
    expect((await onServer(server, c)).main.map((e) => e.id)).toEqual([small.id]);
  });

  it("C/hidden is opened only with the hidden scope, and its blobs reach the server", async () => {
    const c = conv();
    const withHidden = await openSession({ conversation: c, url: server.wsUrl, token: server.token(c), storage: memoryStorage() });
    const e = await withHidden.appendAssistant({ text: "done" }, { provider: "anthropic", model: "claude-x" });
    await withHidden.attachHidden(e.id, { provider: "anthropic", model: "claude-x", kind: "anthropic.thinking", data: { signature: "sig" } });
    await withHidden.whenSynced();
    await withHidden.close();
    const reader = await openSession({ conversation: c, url: server.wsUrl, token: server.token(c, ["read"]), storage: memoryStorage() });
    await reader.whenSynced();
    expect(reader.hasHidden).toBe(false);
    expect(reader.transcript()).toHaveLength(1);
    expect(reader.hiddenBlobs(e.id)).toEqual([]);
    await reader.close();
    const full = await openSession({ conversation: c, url: server.wsUrl, token: server.token(c), storage: memoryStorage() });
    await full.whenSynced();
    expect(full.hiddenBlobs(e.id).map((b) => b.data)).toEqual([{ signature: "sig" }]);
    await full.close();
  });
});

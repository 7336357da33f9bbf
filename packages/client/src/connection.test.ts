import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { CLOSE_CODES, signToken, type SyncErrorCode } from "@ctxsync/protocol";
import { memoryStorage, openSession, type Session, type SyncError } from "./node.js";

/**
 * Close-code handling against a bare `ws` server that accepts and closes (or refuses the upgrade)
 * the way the ctxsync server does; the behaviour against the real server is in tests/.
 */
const closer = async (behaviour: { close?: number; reason?: string; http?: number }) => {
  let connections = 0;
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true });
  http.on("upgrade", (req, socket, head) => {
    connections++;
    if (behaviour.http) {
      socket.end(`HTTP/1.1 ${behaviour.http} Refused\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.close(behaviour.close, behaviour.reason));
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/sync`;
  return {
    url,
    connections: () => connections,
    stop: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => http.close(() => r()));
      http.closeAllConnections();
    },
  };
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
const firstError = (s: Session) => new Promise<SyncError>((r) => s.on("error", r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("server errors reach the caller as typed SyncErrors", () => {
  const permanent: Array<[SyncErrorCode, string]> = [
    ["unauthorized", "invalid token signature"],
    ["forbidden", "token does not cover conversation x"],
    ["append-only-violation", "entry e1 already exists"],
    ["message-too-large", "update of 3 MB exceeds 1 MB"],
    ["document-too-large", "document exceeds 64 MB"],
  ];
  for (const [code, reason] of permanent) {
    it(`${code} (${CLOSE_CODES[code]}): error event with the server's reason, no reconnect loop, thrown by the next write`, async () => {
      const srv = await closer({ close: CLOSE_CODES[code], reason });
      const s = await openSession({ conversation: "c1", url: srv.url, storage: memoryStorage(), maxBackoffMs: 50 });
      cleanups.push(() => s.close(), srv.stop);
      const err = await firstError(s);
      expect(err).toMatchObject({ name: "SyncError", code });
      expect(err.message).toContain(reason);
      await sleep(400);
      // Three documents, one attempt each: the stock client would have retried every 50 ms.
      expect(srv.connections()).toBeLessThanOrEqual(3);
      expect(s.status).toBe("offline");
      await expect(s.appendUser("after the error")).rejects.toMatchObject({ code });
      // Reads still work.
      expect(s.transcript()).toEqual([]);
    });
  }

  it("rate-limited (4429) is transient: the client keeps reconnecting", async () => {
    const srv = await closer({ close: CLOSE_CODES["rate-limited"], reason: "too many messages" });
    const s = await openSession({ conversation: "c1", url: srv.url, storage: memoryStorage(), maxBackoffMs: 50 });
    cleanups.push(() => s.close(), srv.stop);
    expect(await firstError(s)).toMatchObject({ code: "rate-limited" });
    await sleep(500);
    expect(srv.connections()).toBeGreaterThan(3);
    await s.appendUser("still writable locally");
  });

  it("a refused upgrade (HTTP 401) is reported as unauthorized and stops reconnecting", async () => {
    const srv = await closer({ http: 401 });
    const s = await openSession({ conversation: "c1", url: srv.url, storage: memoryStorage(), maxBackoffMs: 50 });
    cleanups.push(() => s.close(), srv.stop);
    expect(await firstError(s)).toMatchObject({ code: "unauthorized" });
    await sleep(300);
    expect(srv.connections()).toBeLessThanOrEqual(3);
  });

  it("a read-only token is refused locally before anything is sent", async () => {
    const token = signToken("k", { conversation: "c1", scopes: ["read"] });
    const s = await openSession({ conversation: "c1", token, storage: memoryStorage() });
    cleanups.push(() => s.close());
    expect(s.hasHidden).toBe(false);
    await expect(s.appendUser("x")).rejects.toMatchObject({ code: "forbidden", message: expect.stringContaining("append") });
    await expect(s.recordUsage({ provider: "p", model: "m", promptTokens: 1, cachedTokens: 0, expectedCachedTokens: 0, cacheWriteTokens: 0, outputTokens: 1, renderContextHash: "h" })).rejects.toMatchObject({ code: "forbidden" });
  });

  it("bad input gets a clear error and loses nothing", async () => {
    const s = await openSession({ conversation: "c1", storage: memoryStorage() });
    cleanups.push(() => s.close());
    const e = await s.appendUser("kept");
    await expect(openSession({ conversation: "a/b", storage: memoryStorage() })).rejects.toMatchObject({ code: "bad-request" });
    await expect(s.appendToolResult(undefined as unknown as string, "x")).rejects.toMatchObject({ name: "SyncError", code: "bad-request" });
    await expect(s.fork("nope")).rejects.toMatchObject({ code: "not-found" });
    expect(() => s.switchBranch("nope")).toThrow(expect.objectContaining({ code: "not-found" }));
    await expect(s.attachHidden("nope", { provider: "p", model: "m", kind: "k", data: 1 })).rejects.toMatchObject({ code: "not-found" });
    await s.fork(e.id, { name: "alt", switchTo: false });
    await expect(s.fork(s.transcript()[0]!.id, { name: "alt" })).resolves.toBe("alt");
    expect(s.transcript().map((x) => x.id)).toEqual([e.id]);
  });
});

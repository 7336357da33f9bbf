import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { openCache, openLog } from "@ctxsync/core";
import { CLOSE_CODES, syncError } from "@ctxsync/protocol";
import { createSqliteStore } from "./storage/sqlite.js";
import type { DocStore } from "./storage/types.js";
import { storedDoc, USAGE } from "./testing/fixtures.js";
import { rawClient, startTestServer, waitFor, type TestServer } from "./testing/harness.js";

const open: Array<{ destroy(): void } | TestServer> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await ("destroy" in x ? x.destroy() : x.close());
});
const provider = (t: TestServer, room: string, doc: Y.Doc) => {
  const p = new WebsocketProvider(t.wsUrl, room, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true, maxBackoffTime: 200 });
  open.push(p);
  return p;
};

describe("memory stays bounded", () => {
  it("rooms with no connection are unloaded after the idle period, and reload from storage", async () => {
    const t = await startTestServer({ timings: { idleUnloadMs: 50 } });
    open.push(t);
    const N = 150;
    const clients = [];
    for (let i = 0; i < N; i++) clients.push(rawClient(t.wsUrl, `idle-${i}${i % 3 === 1 ? "/cache" : i % 3 === 2 ? "/hidden" : ""}`));
    await Promise.all(clients.map((c) => c.opened));
    await waitFor(() => t.server.rooms.size() === N, "all rooms loaded", 5000);
    const doc = new Y.Doc();
    const p = provider(t, "idle-0", doc);
    await waitFor(() => p.synced, "synced", 5000);
    openLog(doc).append("main", { kind: "user", content: { text: "kept across unloads" } });
    await waitFor(async () => (await t.server.store.load("idle-0")).updates.length > 0, "stored", 5000);
    p.destroy();
    clients.forEach((c) => c.ws.close());
    await waitFor(() => t.server.rooms.size() === 0, "every room unloaded", 5000);
    expect(t.server.metrics.roomUnloads.get({ kind: "log" }) + t.server.metrics.roomUnloads.get({ kind: "cache" }) + t.server.metrics.roomUnloads.get({ kind: "hidden" })).toBe(N);
    expect(await (await fetch(`${t.url}/metrics`)).text()).toMatch(/^ctxsync_rooms_loaded 0$/m);
    // Unloading compacted it; reloading gives the same content.
    expect((await t.server.store.load("idle-0")).snapshot).toBeDefined();
    const again = new Y.Doc();
    const p2 = provider(t, "idle-0", again);
    await waitFor(() => p2.synced && openLog(again).size() === 1, "content after reload", 5000);
  });
});

describe("a client that stops reading", () => {
  it("is closed once its queue passes maxBufferedBytes; the room goes on", async () => {
    const t = await startTestServer({ limits: { maxBufferedBytes: 256 * 1024 } });
    open.push(t);
    const stalled = rawClient(t.wsUrl, "slow/cache");
    await stalled.opened;
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // stops reading from the TCP socket
    const doc = new Y.Doc();
    const writer = provider(t, "slow/cache", doc);
    await waitFor(() => writer.synced, "writer synced", 5000);
    const cache = openCache(doc);
    for (let i = 0; i < 600 && t.server.metrics.rejects.get({ reason: "rate-limited" }) === 0; i++) {
      cache.recordUsage({ ...USAGE, time: i, model: "m".repeat(40_000) });
      await new Promise((r) => setTimeout(r, 2));
    }
    await waitFor(() => t.server.metrics.rejects.get({ reason: "rate-limited" }) === 1, "stalled reader closed", 10_000);
    expect(t.server.rooms.get("slow/cache")!.peers.size).toBe(1); // only the writer is left
    expect(writer.wsconnected).toBe(true);
  });
});

describe("group commit", () => {
  it("updates that arrive together are stored in one commit, in order, and relayed after it", async () => {
    const inner = createSqliteStore({ path: ":memory:" });
    const batches: number[] = [];
    const store: DocStore = {
      ...inner,
      appendMany: (name, us) => {
        batches.push(us.length);
        return inner.appendMany(name, us);
      },
    };
    const t = await startTestServer({ store: () => store });
    open.push(t);
    const vd = new Y.Doc();
    const watcher = provider(t, "gc", vd);
    await waitFor(() => watcher.synced, "synced", 5000);
    const c = rawClient(t.wsUrl, "gc");
    await c.opened;
    const d = new Y.Doc();
    const log = openLog(d);
    const ups: Uint8Array[] = [];
    d.on("update", (u: Uint8Array) => ups.push(u));
    for (let i = 0; i < 200; i++) log.append("main", { kind: "user", content: { text: `u${i}` } });
    for (const u of ups) c.sendUpdate(u);
    const vl = openLog(vd);
    await waitFor(() => vl.size() === 200, "all relayed", 10_000);
    expect(vl.transcript("main").map((e) => e.id)).toEqual(log.transcript("main").map((e) => e.id));
    const total = batches.reduce((a, b) => a + b, 0);
    expect(total).toBe(200);
    expect(batches.length).toBeLessThan(200); // some commits carried several updates
    expect(Math.max(...batches)).toBeGreaterThan(1);
    c.ws.close();
  });
});

describe("background compaction", () => {
  it("folds updates into a snapshot off the hot path; what is stored stays equal to what clients hold", async () => {
    const t = await startTestServer({ timings: { compactAfterUpdates: 10 } });
    open.push(t);
    const doc = new Y.Doc();
    const p = provider(t, "compact", doc);
    await waitFor(() => p.synced, "synced", 5000);
    const log = openLog(doc);
    for (let i = 0; i < 35; i++) {
      log.append("main", { kind: "user", content: { text: `n${i}` } });
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(async () => openLog(await storedDoc(t.server, "compact")).size() === 35, "all stored", 5000);
    const s = await t.server.store.load("compact");
    expect(s.snapshot).toBeDefined();
    expect(s.updates.length).toBeLessThan(10);
    expect(t.server.metrics.compactions.get({ kind: "log" })).toBeGreaterThanOrEqual(3);
    expect(openLog(await storedDoc(t.server, "compact")).transcript("main").map((e) => e.id)).toEqual(log.transcript("main").map((e) => e.id));
  });
});

describe("the database goes away", () => {
  it("the writer gets 4504, nothing is relayed, the process keeps serving; once storage is back the client's copy fills in", async () => {
    let failing = false;
    const inner = createSqliteStore({ path: ":memory:" });
    const store: DocStore = {
      ...inner,
      append: (name, u) => (failing ? Promise.reject(syncError("storage-unavailable", "database connection lost")) : inner.append(name, u)),
      appendMany: (name, us) => (failing ? Promise.reject(syncError("storage-unavailable", "database connection lost")) : inner.appendMany(name, us)),
    };
    const t = await startTestServer({ store: () => store });
    open.push(t);
    const wd = new Y.Doc();
    const vd = new Y.Doc();
    const writer = provider(t, "gone", wd);
    const watcher = provider(t, "gone", vd);
    const closes: number[] = [];
    writer.on("connection-close", (e: { code: number } | null) => e && closes.push(e.code));
    await waitFor(() => writer.synced && watcher.synced, "synced", 5000);
    const wl = openLog(wd);
    const vl = openLog(vd);
    wl.append("main", { kind: "user", content: { text: "before" } });
    await waitFor(() => vl.size() === 1, "relayed while storage works", 5000);

    failing = true;
    wl.append("main", { kind: "user", content: { text: "during the outage" } });
    await waitFor(() => closes.includes(CLOSE_CODES["storage-unavailable"]), "writer closed with 4504", 5000);
    await new Promise((r) => setTimeout(r, 200));
    expect(vl.size()).toBe(1); // not relayed: it was never durable
    expect(openLog(await storedDoc(t.server, "gone")).size()).toBe(1);
    const h = await fetch(`${t.url}/healthz`);
    expect(h.status).toBe(200); // the process is alive (load/has still work here)

    failing = false; // the stock client reconnects by itself (45xx is transient) and resends
    await waitFor(() => vl.size() === 2, "the outage write arrives after recovery", 10_000);
    expect(openLog(await storedDoc(t.server, "gone")).size()).toBe(2);
    expect(t.server.metrics.rejects.get({ reason: "storage-unavailable" })).toBeGreaterThan(0);
  });
});

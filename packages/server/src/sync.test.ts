import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { openCache, openHidden, openLog, type EntryId } from "@ctxsync/core";
import { signToken, type Scope } from "@ctxsync/protocol";
import { USAGE } from "./testing/fixtures.js";
import { startTestServer, waitFor, type TestServer } from "./testing/harness.js";

const SECRET = "test-secret";
const tok = (conversation: string, scopes: Scope[], ttlSeconds = 600) => signToken(SECRET, { conversation, scopes, ttlSeconds });

const provider = (t: TestServer, room: string, doc: Y.Doc, token?: string) =>
  new WebsocketProvider(t.wsUrl, room, doc, {
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
    ...(token ? { params: { token } } : {}),
  });
const synced = (p: WebsocketProvider) => new Promise<void>((res) => (p.synced ? res() : p.once("sync", (s: boolean) => s && res())));

describe("sync with the stock y-websocket client", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ secret: SECRET });
  });
  afterAll(() => t.close());

  it("relays appends between two clients for C, C/cache and C/hidden", async () => {
    const token = tok("conv1", ["read", "append", "hidden"]);
    const a = { log: new Y.Doc(), cache: new Y.Doc(), hidden: new Y.Doc() };
    const b = { log: new Y.Doc(), cache: new Y.Doc(), hidden: new Y.Doc() };
    const rooms = { log: "conv1", cache: "conv1/cache", hidden: "conv1/hidden" } as const;
    const ps = (["log", "cache", "hidden"] as const).flatMap((k) => [provider(t, rooms[k], a[k], token), provider(t, rooms[k], b[k], token)]);
    await Promise.all(ps.map(synced));
    const la = openLog(a.log);
    const lb = openLog(b.log);
    const e1 = la.append("main", { kind: "user", content: { text: "hello from a" } });
    await waitFor(() => lb.size() === 1, "b sees a's entry", 5000);
    lb.append("main", { kind: "assistant", content: { text: "hi from b" } });
    await waitFor(() => la.size() === 2, "a sees b's entry", 5000);
    expect(la.transcript("main").map((e) => e.content)).toEqual([{ text: "hello from a" }, { text: "hi from b" }]);

    openHidden(a.hidden).attach({ entry: e1.id, provider: "openai", model: "o3", kind: "openai.reasoning", data: { enc: "xyz" } });
    await waitFor(() => openHidden(b.hidden).all().length === 1, "b sees the blob", 5000);
    openCache(b.cache).recordUsage(USAGE);
    await waitFor(() => openCache(a.cache).usage().length === 1, "a sees the usage record", 5000);
    // Stored, not just relayed.
    const stored = await t.server.store.load("conv1");
    expect(stored.updates.length).toBeGreaterThan(0);
    ps.forEach((p) => p.destroy());
  });
});

describe("awareness and server-side changes", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ secret: SECRET });
  });
  afterAll(() => t.close());

  it("relays presence between clients and removes it when a client leaves", async () => {
    const token = tok("aw", ["read"]);
    const a = provider(t, "aw", new Y.Doc(), token);
    const b = provider(t, "aw", new Y.Doc(), token);
    await Promise.all([synced(a), synced(b)]);
    a.awareness.setLocalStateField("driving", { branch: "main", device: "laptop" });
    await waitFor(() => b.awareness.getStates().get(a.awareness.clientID)?.driving !== undefined, "b sees a's presence", 5000);
    // A late joiner gets current presence on connect.
    const c = provider(t, "aw", new Y.Doc(), token);
    await synced(c);
    await waitFor(() => c.awareness.getStates().has(a.awareness.clientID), "late joiner sees presence", 5000);
    a.destroy();
    await waitFor(() => !b.awareness.getStates().has(a.awareness.clientID), "presence removed when a leaves", 5000);
    b.destroy();
    c.destroy();
  });

  it("a REST fork reaches connected clients (stored, then relayed)", async () => {
    const doc = new Y.Doc();
    const p = provider(t, "rf", doc, tok("rf", ["read", "append"]));
    await synced(p);
    const log = openLog(doc);
    const [first] = log.appendMany("main", [
      { kind: "user", content: { text: "q" } },
      { kind: "assistant", content: { text: "a" } },
    ]);
    await waitFor(async () => (await t.server.store.has("rf")) && t.server.rooms.get("rf")!.log!.size() === 2, "stored", 5000);
    const res = await fetch(`${t.url}/v1/conversations/rf/fork`, {
      method: "POST",
      headers: { authorization: `Bearer ${tok("rf", ["admin"])}`, "content-type": "application/json" },
      body: JSON.stringify({ at: first!.id, name: "alt" }),
    });
    expect(res.status).toBe(201);
    await waitFor(() => log.branch("alt")?.head === (first!.id as EntryId), "client sees the fork", 5000);
    p.destroy();
  });
});

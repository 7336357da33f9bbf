import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as encoding from "lib0/encoding";
import net from "node:net";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { createRng, openCache, openHidden, openLog, testSeed, type EntryId } from "@ctxsync/core";
import { canRead, canWrite, CLOSE_CODES, signToken, type Scope } from "@ctxsync/protocol";
import {
  encodeAwareness,
  encodeQueryAwareness,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  MESSAGE_AUTH,
  MESSAGE_AWARENESS,
  MESSAGE_QUERY_AWARENESS,
  MESSAGE_SYNC,
  SYNC_STEP1,
  SYNC_STEP2,
  SYNC_UPDATE,
} from "@ctxsync/protocol";
import { captureUpdate, rawClient, startTestServer, waitFor, type RawClient, type TestServer } from "./testing/harness.js";
import { storedDoc, storedJson, USAGE } from "./testing/fixtures.js";

const SECRET = "refusal-secret";
const tok = (conversation: string, scopes: Scope[], ttlSeconds = 600) => signToken(SECRET, { conversation, scopes, ttlSeconds });
const ALL: Scope[] = ["read", "append", "hidden", "admin"];
const LIMITS = { maxMessageBytes: 64 * 1024, maxDocumentBytes: 256 * 1024, maxMessagesPerSecond: 50, messageBurst: 100 };

let t: TestServer;
let other: { a: WebsocketProvider; b: WebsocketProvider; la: ReturnType<typeof openLog>; lb: ReturnType<typeof openLog> };

/** Another room keeps working: an append on one client reaches the other through the server. */
const stillServesOtherRooms = async () => {
  const n = other.lb.size();
  other.la.append("main", { kind: "user", content: { text: `still here ${n}` } });
  await waitFor(() => other.lb.size() === n + 1, "the other room to relay", 5000);
};

const seed = async (conversation: string) => {
  const res = await t.server.rooms.with(conversation, (room) =>
    room.mutate(() => {
      const log = room.log!;
      log.setInfo("title", "seeded");
      const [a, b] = log.appendMany("main", [
        { kind: "user", content: { text: "q" } },
        { kind: "assistant", content: { text: "a" } },
      ]);
      return { a: a!.id, b: b!.id };
    }),
  );
  return res;
};

/** Open a raw client, wait for the server's first frame (step 1), send `frame`, return the close. */
const sendAndClose = async (room: string, frame: Uint8Array | string | Array<Uint8Array>, token = tok(room.split("/")[0]!, ALL)) => {
  const c = rawClient(t.wsUrl, room, token);
  await c.opened;
  await waitFor(() => c.frames.length > 0, "step 1", 5000);
  for (const f of Array.isArray(frame) ? frame : [frame]) c.send(f);
  return Promise.race([c.closed, new Promise<never>((_, rej) => setTimeout(() => rej(new Error("connection was not closed")), 5000))]);
};

beforeAll(async () => {
  t = await startTestServer({ secret: SECRET, limits: LIMITS });
  const token = tok("other", ALL);
  const mk = (doc: Y.Doc) => new WebsocketProvider(t.wsUrl, "other", doc, { WebSocketPolyfill: WebSocket as never, disableBc: true, params: { token } });
  const da = new Y.Doc();
  const db = new Y.Doc();
  other = { a: mk(da), b: mk(db), la: openLog(da), lb: openLog(db) };
  await waitFor(() => other.a.synced && other.b.synced, "other room synced", 5000);
});
afterAll(async () => {
  other.a.destroy();
  other.b.destroy();
  await t.close();
});

describe("auth: refused before any data is sent", () => {
  const cases: Array<[string, () => string | undefined, number]> = [
    ["missing token", () => undefined, CLOSE_CODES.unauthorized],
    ["forged signature", () => signToken("wrong-secret", { conversation: "authc", scopes: ALL }), CLOSE_CODES.unauthorized],
    ["garbage token", () => "not.a.token", CLOSE_CODES.unauthorized],
    ["expired token", () => signToken(SECRET, { conversation: "authc", scopes: ALL, ttlSeconds: 1, now: 1000 }), CLOSE_CODES["token-expired"]],
    ["token for another conversation", () => tok("someone-else", ALL), CLOSE_CODES.forbidden],
  ];
  for (const [what, token, code] of cases) {
    it(`${what} → ${code}`, async () => {
      await seed("authc").catch(() => undefined);
      const before = await storedJson(t.server, "authc");
      for (const room of ["authc", "authc/cache", "authc/hidden"]) {
        const c = rawClient(t.wsUrl, room, token());
        const closed = await c.closed;
        expect(closed.code).toBe(code);
        expect(closed.reason.length).toBeGreaterThan(0);
        expect(c.frames).toEqual([]); // not one byte of any document
      }
      expect(await storedJson(t.server, "authc")).toBe(before);
      await stillServesOtherRooms();
    });
  }

  it("a bad room name gets 4400 before any data; a path outside /sync/ gets HTTP 404", async () => {
    for (const room of ["authc/other", "authc/cache/x", "bad%20id", "%E0%A4%A"]) {
      const c = rawClient(t.wsUrl, room, tok("authc", ALL));
      c.opened.catch(() => undefined);
      const closed = await c.closed;
      // An undecodable path is refused at the HTTP level (400), which a WebSocket client sees as 1006.
      expect([room, closed.code]).toEqual([room, room.startsWith("%E0") ? 1006 : CLOSE_CODES["bad-request"]]);
      expect(c.frames).toEqual([]);
    }
    const other = new WebSocket(t.wsUrl.replace(/\/sync$/, "/elsewhere/x"));
    const status = await new Promise<number>((res) => other.on("unexpected-response", (_req, r) => res(r.statusCode ?? 0)));
    expect(status).toBe(404);
    await stillServesOtherRooms();
  });

  it("an open connection is closed with 4402 when its token expires", async () => {
    const c = rawClient(t.wsUrl, "authc", tok("authc", ["read"], 1));
    await c.opened;
    await waitFor(() => c.frames.length > 0, "step 1", 5000);
    const closed = await c.closed;
    expect(closed).toEqual({ code: CLOSE_CODES["token-expired"], reason: "token expired" });
  });
});

describe("auth matrix: scope × room × operation", () => {
  const scopeSets: Scope[][] = [[], ["read"], ["append"], ["hidden"], ["admin"], ["read", "append"], ["read", "hidden"], ["read", "append", "hidden"]];
  const kinds = [
    ["log", ""],
    ["cache", "/cache"],
    ["hidden", "/hidden"],
  ] as const;
  for (const scopes of scopeSets) {
    for (const [kind, suffix] of kinds) {
      const mayRead = canRead(scopes, kind);
      const mayWrite = canWrite(scopes, kind);
      it(`[${scopes.join(",") || "none"}] on C${suffix}: receive ${mayRead ? "yes" : "no"}, write ${mayWrite ? "yes" : "no"}`, async () => {
        const conv = `m-${scopes.join("-") || "none"}-${kind}`;
        const room = conv + suffix;
        // Make sure the document has content to (not) leak.
        await t.server.rooms.with(room, (r) =>
          r.mutate(() => {
            if (kind === "log") r.log!.append("main", { kind: "user", content: { text: "secret" } });
            else if (kind === "cache") openCache(r.doc).recordUsage(USAGE);
            else openHidden(r.doc).attach({ entry: "e1" as EntryId, provider: "p", model: "m", kind: "k", data: "blob" });
          }),
        );
        const before = await storedJson(t.server, room);
        const c = rawClient(t.wsUrl, room, tok(conv, scopes));
        if (!mayRead) {
          const closed = await c.closed;
          expect(closed.code).toBe(CLOSE_CODES.forbidden);
          expect(c.frames).toEqual([]);
          expect(await storedJson(t.server, room)).toBe(before);
          await stillServesOtherRooms();
          return;
        }
        await c.opened;
        // Receive: ask for everything; the answer (step 2) holds the document.
        c.send(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())));
        await waitFor(() => c.frames.length >= 2, "step 2", 5000);
        const doc = new Y.Doc();
        const step2 = c.frames.find((f) => f[0] === 0 && f[1] === 1)!;
        Y.applyUpdate(doc, step2.slice(2 + lenPrefix(step2.slice(2))));
        expect(doc.share.size).toBeGreaterThan(0);
        // Write: a valid change made on a synced replica.
        const update = captureUpdate(doc, () => {
          if (kind === "log") openLog(doc).append("main", { kind: "user", content: { text: "write attempt" } });
          else if (kind === "cache") openCache(doc).recordUsage({ ...USAGE, time: 2 });
          else openHidden(doc).attach({ entry: "e2" as EntryId, provider: "p", model: "m", kind: "k", data: "blob2" });
        });
        c.sendUpdate(update);
        if (mayWrite) {
          await waitFor(async () => (await storedJson(t.server, room)) !== before, "the write to be stored", 5000);
          expect(c.ws.readyState).toBe(WebSocket.OPEN);
          c.ws.close();
        } else {
          const closed = await c.closed;
          expect(closed.code).toBe(CLOSE_CODES.forbidden);
          expect(closed.reason).toMatch(/read-only/);
          expect(await storedJson(t.server, room)).toBe(before);
          await stillServesOtherRooms();
        }
      });
    }
  }

  it("a read-only client's empty step 2 (with a delete set) is not a write", async () => {
    await seed("ro");
    await t.server.rooms.with("ro", (r) => r.mutate(() => r.log!.append("main", { kind: "user", content: { text: "moves main: a map replacement (a deletion)" } })));
    const doc = await storedDoc(t.server, "ro");
    const p = new WebsocketProvider(t.wsUrl, "ro", doc, { WebSocketPolyfill: WebSocket as never, disableBc: true, params: { token: tok("ro", ["read"]) } });
    await waitFor(() => p.synced, "read-only client synced", 5000);
    await new Promise((r) => setTimeout(r, 200));
    expect(p.wsconnected).toBe(true);
    p.destroy();
  });
});

/** Length of a lib0 varUint prefix. */
const lenPrefix = (b: Uint8Array) => {
  let i = 0;
  while (b[i]! >= 0x80) i++;
  return i + 1;
};

describe("append-only: each validator violation class", () => {
  type Case = {
    code: string;
    close?: number;
    room?: "log" | "cache" | "hidden";
    /** Follow with the client's sync step 2 (updates with missing dependencies are held until then). */
    thenStep2?: boolean;
    make: (ctx: { doc: Y.Doc; ids: { a: EntryId; b: EntryId } }) => Uint8Array;
  };
  const entry = (id: string, parent: string | null, text = "x") => ({ id, parent, kind: "user", content: { text }, meta: { device: "d", time: 1 } });
  const cases: Case[] = [
    { code: "delete", make: ({ doc }) => captureUpdate(doc, () => doc.getArray("entries").delete(0, 1)) },
    { code: "not-append", make: ({ doc }) => captureUpdate(doc, () => doc.getArray("entries").insert(0, [entry("efresh1", null)])) },
    { code: "invalid-value", make: ({ doc }) => captureUpdate(doc, () => doc.getArray("entries").push([{ id: "e-bad", nonsense: true }])) },
    { code: "duplicate-id", make: ({ doc, ids }) => captureUpdate(doc, () => doc.getArray("entries").push([entry(ids.a, null)])) },
    { code: "missing-parent", make: ({ doc }) => captureUpdate(doc, () => doc.getArray("entries").push([entry("eorphan", "enowhere")])) },
    {
      code: "head-not-descendant",
      make: ({ doc, ids }) =>
        captureUpdate(doc, () => doc.getMap("branches").set("main", { head: ids.a, base: null, createdBy: "evil", createdAt: 1 })),
    },
    {
      code: "unknown-head",
      make: ({ doc }) => captureUpdate(doc, () => doc.getMap("branches").set("b2", { head: "enothere", base: null, createdBy: "d", createdAt: 1 })),
    },
    // Rewriting an info key the writer has seen is refused. (Two replicas that set the same key
    // concurrently, neither having seen the other's value, are both accepted and settle last-writer-wins.)
    { code: "immutable", make: ({ doc }) => captureUpdate(doc, () => doc.getMap("info").set("title", "rewritten")) },
    { code: "unknown-type", make: ({ doc }) => captureUpdate(doc, () => doc.getMap("sneaky").set("k", 1)) },
    { code: "bad-content", make: ({ doc }) => captureUpdate(doc, () => doc.getArray("entries").push([new Uint8Array([1, 2, 3])])) },
        // A nested shared type is refused at its first struct (its content is a type, not JSON).
    { code: "bad-content", make: ({ doc }) => captureUpdate(doc, () => doc.getMap("info").set("nested", new Y.Map())) },
    {
      code: "missing-dependency",
      thenStep2: true,
      make: ({ doc }) => {
        captureUpdate(doc, () => doc.getMap("branches").set("b3", { head: "e-unsent", base: null, createdBy: "d", createdAt: 1 }));
        return captureUpdate(doc, () => doc.getMap("branches").set("b3", { head: "e-unsent2", base: null, createdBy: "d", createdAt: 2 }));
      },
    },
    { code: "malformed", close: CLOSE_CODES["malformed-message"], make: () => new Uint8Array([9, 9, 9, 9, 9, 9]) },
    { code: "delete", room: "hidden", make: ({ doc }) => captureUpdate(doc, () => doc.getArray("blobs").delete(0, 1)) },
    { code: "invalid-value", room: "cache", make: ({ doc }) => captureUpdate(doc, () => doc.getArray("usage").push([{ id: "u", bogus: 1 }])) },
  ];
  cases.forEach((cse, i) => {
    const room = cse.room ?? "log";
    it(`${room === "log" ? "C" : `C/${room}`}: ${cse.code} → ${cse.close ?? CLOSE_CODES["append-only-violation"]}, nothing stored or relayed`, async () => {
      const conv = `v${i}`;
      const ids = await seed(conv);
      const name = room === "log" ? conv : `${conv}/${room}`;
      if (room === "hidden") await t.server.rooms.with(name, (r) => r.mutate(() => openHidden(r.doc).attach({ entry: ids.a, provider: "p", model: "m", kind: "k", data: 1 })));
      const before = await storedJson(t.server, name);
      // A well-behaved peer in the same room must not see the bad update.
      const watcherDoc = await storedDoc(t.server, name);
      const watcher = new WebsocketProvider(t.wsUrl, name, watcherDoc, { WebSocketPolyfill: WebSocket as never, disableBc: true, params: { token: tok(conv, ALL) } });
      await waitFor(() => watcher.synced, "watcher synced", 5000);
      const seen: Uint8Array[] = [];
      watcherDoc.on("update", (u: Uint8Array) => seen.push(u));
      const doc = await storedDoc(t.server, name);
      const frame = encodeSyncUpdate(cse.make({ doc, ids }));
      const closed = await sendAndClose(name, cse.thenStep2 ? [frame, encodeSyncStep2(Y.encodeStateAsUpdate(new Y.Doc()))] : frame, tok(conv, ALL));
      expect(closed.code).toBe(cse.close ?? CLOSE_CODES["append-only-violation"]);
      expect(closed.reason).toContain(cse.code);
      expect(await storedJson(t.server, name)).toBe(before);
      await stillServesOtherRooms();
      expect(seen).toEqual([]);
      watcher.destroy();
    });
  });

  it("an update sent before the client's step 2 that depends on it is held, then applied (reconnect after a crash)", async () => {
    await seed("held");
    const serverSv = Y.encodeStateVector(await storedDoc(t.server, "held"));
    const doc = await storedDoc(t.server, "held");
    const log = openLog(doc);
    captureUpdate(doc, () => log.append("main", { kind: "user", content: { text: "written while the server was down" } }));
    const u2 = captureUpdate(doc, () => log.append("main", { kind: "assistant", content: { text: "appended right after reconnecting" } }));
    const watcherDoc = await storedDoc(t.server, "held");
    const watcher = new WebsocketProvider(t.wsUrl, "held", watcherDoc, { WebSocketPolyfill: WebSocket as never, disableBc: true, params: { token: tok("held", ["read"]) } });
    await waitFor(() => watcher.synced, "watcher synced", 5000);
    const c = rawClient(t.wsUrl, "held", tok("held", ALL));
    await c.opened;
    c.sendUpdate(u2); // depends on the first append, which the server does not have yet
    await new Promise((r) => setTimeout(r, 100));
    expect(openLog(await storedDoc(t.server, "held")).size()).toBe(2); // held: not stored
    expect(openLog(watcherDoc).size()).toBe(2); // nor relayed
    c.send(encodeSyncStep2(Y.encodeStateAsUpdate(doc, serverSv))); // the client's answer to step 1
    await waitFor(async () => openLog(await storedDoc(t.server, "held")).size() === 4, "both stored", 5000);
    await waitFor(() => openLog(watcherDoc).size() === 4, "both relayed", 5000);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.close();
    watcher.destroy();
  });

  it("a stale replica may not move a head backwards past a value the server has since replaced", async () => {
    await seed("stale");
    const stale = await storedDoc(t.server, "stale"); // saw main at b
    await t.server.rooms.with("stale", (r) => r.mutate(() => r.log!.append("main", { kind: "user", content: { text: "c" } }))); // main → c
    const update = captureUpdate(stale, () => {
      stale.getArray("entries").push([entry("ex-new-root", null)]);
      stale.getMap("branches").set("main", { head: "ex-new-root", base: null, createdBy: "stale", createdAt: 1 });
    });
    const before = await storedJson(t.server, "stale");
    const closed = await sendAndClose("stale", encodeSyncUpdate(update), tok("stale", ALL));
    expect(closed.code).toBe(CLOSE_CODES["append-only-violation"]);
    expect(closed.reason).toContain("head-not-descendant");
    expect(await storedJson(t.server, "stale")).toBe(before);
  });

  it("concurrent continuations become forks: the reconciler's branch is stored and relayed", async () => {
    const ids = await seed("fork1");
    const d1 = await storedDoc(t.server, "fork1");
    const d2 = await storedDoc(t.server, "fork1");
    // Two offline devices append after the same head.
    const u1 = captureUpdate(d1, () => openLog(d1).append("main", { kind: "user", content: { text: "device 1" } }));
    const u2 = captureUpdate(d2, () => openLog(d2).append("main", { kind: "user", content: { text: "device 2" } }));
    const watcherDoc = new Y.Doc();
    const watcher = new WebsocketProvider(t.wsUrl, "fork1", watcherDoc, { WebSocketPolyfill: WebSocket as never, disableBc: true, params: { token: tok("fork1", ["read"]) } });
    await waitFor(() => watcher.synced, "watcher synced", 5000);
    for (const u of [u1, u2]) {
      const c = rawClient(t.wsUrl, "fork1", tok("fork1", ALL));
      await c.opened;
      c.sendUpdate(u);
      await waitFor(async () => (await storedDoc(t.server, "fork1")).getArray("entries").length >= 3, "stored", 5000);
      c.ws.close();
    }
    const wl = openLog(watcherDoc);
    await waitFor(() => wl.size() === 4 && wl.branches().size === 2, "watcher sees main and one fork", 5000);
    const stored = openLog(await storedDoc(t.server, "fork1"));
    expect([...stored.branches().keys()].sort()).toEqual([...wl.branches().keys()].sort());
    const fork = [...stored.branches()].find(([n]) => n.startsWith("fork/"))!;
    expect(fork[1].base).toBe(ids.b);
    // No transcript mixes the two devices' turns.
    for (const name of stored.branches().keys()) {
      const texts = stored.transcript(name).map((e) => (e.content as { text: string }).text);
      expect(texts.filter((x) => x.startsWith("device")).length).toBe(1);
    }
    watcher.destroy();
  });
});

describe("limits", () => {
  it("message larger than maxMessageBytes → 4413", async () => {
    const before = await storedJson(t.server, "lim1");
    const big = encodeSyncUpdate(new Uint8Array(LIMITS.maxMessageBytes + 10));
    const closed = await sendAndClose("lim1", big, tok("lim1", ALL));
    expect(closed.code).toBe(CLOSE_CODES["message-too-large"]);
    expect(closed.reason).toMatch(/exceeds the limit/);
    expect(await storedJson(t.server, "lim1")).toBe(before);
    await stillServesOtherRooms();
  });

  it("frames past twice the limit are cut off by the transport (1009) without buffering", async () => {
    const before = await storedJson(t.server, "lim1");
    const closed = await sendAndClose("lim1", new Uint8Array(LIMITS.maxMessageBytes * 2 + 10), tok("lim1", ALL));
    expect(closed.code).toBe(1009);
    expect(await storedJson(t.server, "lim1")).toBe(before);
    await stillServesOtherRooms();
  });

  it("document growing past maxDocumentBytes → 4507, the stored document stays under the limit", async () => {
    const doc = new Y.Doc();
    const c = rawClient(t.wsUrl, "lim2/cache", tok("lim2", ALL));
    await c.opened;
    const cache = openCache(doc);
    let i = 0;
    const closedP = c.closed;
    let closed: { code: number; reason: string } | undefined;
    closedP.then((x) => (closed = x));
    while (!closed && i < 20) {
      c.sendUpdate(captureUpdate(doc, () => cache.recordUsage({ ...USAGE, time: i, model: "x".repeat(40_000) })));
      i++;
      await new Promise((r) => setTimeout(r, 30));
    }
    await closedP;
    expect(closed!.code).toBe(CLOSE_CODES["document-too-large"]);
    const s = await t.server.store.load("lim2/cache");
    expect(s.bytes).toBeLessThanOrEqual(LIMITS.maxDocumentBytes);
    expect(s.updates.length).toBeGreaterThan(0);
    await stillServesOtherRooms();
  });

  it("more messages per second than allowed → 4429; updates past the limit are not stored", async () => {
    const ids = await seed("lim3");
    const before = await storedJson(t.server, "lim3");
    const c = rawClient(t.wsUrl, "lim3", tok("lim3", ALL));
    await c.opened;
    for (let i = 0; i < LIMITS.messageBurst; i++) c.send(encodeQueryAwareness()); // uses up the burst
    const doc = await storedDoc(t.server, "lim3");
    c.sendUpdate(captureUpdate(doc, () => openLog(doc).append("main", { kind: "user", content: { text: "one too many" } })));
    const closed = await c.closed;
    expect(closed.code).toBe(CLOSE_CODES["rate-limited"]);
    expect(closed.reason).toMatch(/messages per second/);
    expect(await storedJson(t.server, "lim3")).toBe(before);
    expect(openLog(await storedDoc(t.server, "lim3")).transcript("main").map((e) => e.id)).toEqual([ids.a, ids.b]);
    await stillServesOtherRooms();
  });
});

describe("connection limit", () => {
  it("past maxConnections a new connection is refused with 4429 before any data; open ones keep working", async () => {
    const small = await startTestServer({ limits: { maxConnections: 2 } });
    try {
      const a = rawClient(small.wsUrl, "cl");
      const b = rawClient(small.wsUrl, "cl/cache");
      await Promise.all([a.opened, b.opened]);
      const c = rawClient(small.wsUrl, "cl");
      const closed = await c.closed;
      expect(closed.code).toBe(CLOSE_CODES["rate-limited"]);
      expect(closed.reason).toMatch(/limit of 2 connections/);
      expect(c.frames).toEqual([]);
      expect(a.ws.readyState).toBe(WebSocket.OPEN);
      a.ws.close();
      await a.closed;
      await waitFor(() => small.server.connections() === 1, "slot freed", 2000);
      const d = rawClient(small.wsUrl, "cl");
      await waitFor(() => d.frames.length > 0, "accepted again", 2000);
      d.ws.close();
      b.ws.close();
    } finally {
      await small.close();
    }
  });
});

describe("malformed frames → 4400, process alive, nothing stored", () => {
  const withLen = (type: number[], payload: Uint8Array) => {
    const e = encoding.createEncoder();
    for (const x of type) encoding.writeVarUint(e, x);
    encoding.writeVarUint8Array(e, payload);
    return encoding.toUint8Array(e);
  };
  const cases: Array<[string, Uint8Array | string]> = [
    ["empty frame", new Uint8Array(0)],
    ["truncated varint", new Uint8Array([0x80])],
    ["truncated sync varint", new Uint8Array([MESSAGE_SYNC, 0x81])],
    ["length past the end", new Uint8Array([MESSAGE_SYNC, SYNC_UPDATE, 0xff, 0x01, 1, 2])],
    ["unknown message type", new Uint8Array([7, 0])],
    ["unknown sync message type", new Uint8Array([MESSAGE_SYNC, 9, 0])],
    ["auth message from a client", new Uint8Array([MESSAGE_AUTH, 0])],
    ["trailing bytes", new Uint8Array([MESSAGE_QUERY_AWARENESS, 0, 0])],
    ["text frame", "hello"],
    ["invalid Yjs update", withLen([MESSAGE_SYNC, SYNC_UPDATE], new Uint8Array([9, 9, 9, 9, 9, 9]))],
    ["invalid Yjs update in step 2", withLen([MESSAGE_SYNC, SYNC_STEP2], new Uint8Array([1, 200, 1, 2]))],
    ["invalid state vector", withLen([MESSAGE_SYNC, SYNC_STEP1], new Uint8Array([5, 1]))],
    ["invalid awareness update", encodeAwareness(new Uint8Array([1, 1, 1, 3, 0x7b, 0x7b, 0x7b]))],
  ];
  for (const [what, frame] of cases) {
    it(what, async () => {
      await seed(`mf-${what.replace(/\W+/g, "-")}`).catch(() => undefined);
      const name = `mf-${what.replace(/\W+/g, "-")}`;
      const before = await storedJson(t.server, name);
      const closed = await sendAndClose(name, frame, tok(name, ALL));
      expect(closed.code).toBe(CLOSE_CODES["malformed-message"]);
      expect(closed.reason).toMatch(/malformed/);
      expect(await storedJson(t.server, name)).toBe(before);
      await stillServesOtherRooms();
    });
  }

  it("broken WebSocket framing (reserved opcode, unmasked client frame, garbage after the handshake) closes only that socket", async () => {
    const garbage = [
      Buffer.from([0x83, 0x80, 1, 2, 3, 4]), // reserved opcode 3
      Buffer.from([0x82, 0x03, 0, 0, 0]), // client frame without a mask
      Buffer.from("GET / HTTP/1.1\r\n\r\n"),
    ];
    for (const bytes of garbage) {
      const sock = net.connect(new URL(t.url).port as unknown as number, "127.0.0.1");
      await new Promise<void>((res) => sock.once("connect", () => res()));
      sock.write(
        `GET /sync/wsg?token=${tok("wsg", ALL)} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      await new Promise((r) => setTimeout(r, 50));
      sock.write(bytes);
      await new Promise<void>((res) => {
        sock.on("close", () => res());
        sock.on("error", () => undefined);
        sock.resume();
      });
    }
    expect(t.server.connections()).toBeGreaterThanOrEqual(2); // the "other" room's clients are still there
    await stillServesOtherRooms();
  });

  it("random frames (seeded) never crash the server nor change stored data", async () => {
    const rng = createRng(testSeed("random frames", 1));
    const rnd = () => rng.next();
    await seed("rand");
    const before = await storedJson(t.server, "rand");
    for (let i = 0; i < 40; i++) {
      const len = 1 + Math.floor(rnd() * 64);
      const bytes = Uint8Array.from({ length: len }, () => Math.floor(rnd() * 256));
      if (rnd() < 0.5) bytes[0] = rnd() < 0.5 ? MESSAGE_SYNC : MESSAGE_AWARENESS; // bias towards sync/awareness to go deeper
      const c = rawClient(t.wsUrl, "rand", tok("rand", ALL));
      await c.opened;
      c.send(bytes);
      c.send(encodeQueryAwareness()); // then a valid one
      const r = await Promise.race([c.closed, new Promise<null>((res) => setTimeout(() => res(null), 300))]);
      if (r) expect([CLOSE_CODES["malformed-message"], CLOSE_CODES["append-only-violation"]]).toContain(r.code);
      else c.ws.close();
    }
    expect(await storedJson(t.server, "rand")).toBe(before);
    await stillServesOtherRooms();
  });
});

describe("mutated valid updates (seeded property test)", () => {
  it("never crash the server, and the stored log only ever grows by well-formed entries", async () => {
    const rng = createRng(testSeed("mutated updates", 2));
    const rnd = () => rng.next();
    await seed("mut");
    const before = openLog(await storedDoc(t.server, "mut")).entries().map((e) => e.id);
    const outcomes = new Map<number, number>();
    for (let i = 0; i < 60; i++) {
      const doc = await storedDoc(t.server, "mut");
      const update = captureUpdate(doc, () => openLog(doc).append("main", { kind: "user", content: { text: `mutant ${i}` } }));
      const flips = 1 + Math.floor(rnd() * 3);
      for (let f = 0; f < flips; f++) update[Math.floor(rnd() * update.length)] = Math.floor(rnd() * 256);
      const c = rawClient(t.wsUrl, "mut", tok("mut", ALL));
      await c.opened;
      c.sendUpdate(update);
      const r = await Promise.race([c.closed, new Promise<null>((res) => setTimeout(() => res(null), 150))]);
      outcomes.set(r?.code ?? 0, (outcomes.get(r?.code ?? 0) ?? 0) + 1);
      if (!r) c.ws.close();
    }
    console.log(`mutated updates: close codes ${JSON.stringify(Object.fromEntries(outcomes))} (0 = accepted or ignored)`);
    for (const code of outcomes.keys()) expect([0, CLOSE_CODES["malformed-message"], CLOSE_CODES["append-only-violation"]]).toContain(code);
    const after = openLog(await storedDoc(t.server, "mut"));
    expect(after.entries().map((e) => e.id).slice(0, before.length)).toEqual(before); // append-only
    for (const name of after.branches().keys()) expect(() => after.transcript(name)).not.toThrow();
    await stillServesOtherRooms();
  });
});

describe("step 2 answers", () => {
  it("answers a client's step 1 with exactly the missing state", async () => {
    await seed("s2");
    const c: RawClient = rawClient(t.wsUrl, "s2", tok("s2", ["read"]));
    await c.opened;
    c.send(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())));
    await waitFor(() => c.frames.some((f) => f[0] === 0 && f[1] === 1), "step 2", 5000);
    const step2 = c.frames.find((f) => f[0] === 0 && f[1] === 1)!;
    const doc = new Y.Doc();
    Y.applyUpdate(doc, step2.slice(2 + lenPrefix(step2.slice(2))));
    expect(openLog(doc).transcript("main").map((e) => e.kind)).toEqual(["user", "assistant"]);
    c.ws.close();
    // An empty step 2 from a writer is accepted and stores nothing.
    const n = (await t.server.store.load("s2")).updates.length;
    const w = rawClient(t.wsUrl, "s2", tok("s2", ALL));
    await w.opened;
    w.send(encodeSyncStep2(Y.encodeStateAsUpdate(doc)));
    await new Promise((r) => setTimeout(r, 100));
    expect((await t.server.store.load("s2")).updates.length).toBe(n);
    expect(w.ws.readyState).toBe(WebSocket.OPEN);
    w.ws.close();
  });
});


import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as encoding from "lib0/encoding";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { canonicalJson, createRng, LOG_ROOTS, openLog, seedFromEnv, SERVER_CLIENT_ID_BASE, type Branch, type ConversationLog, type EntryId } from "@ctxsync/core";
import { CLOSE_CODES, encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeSyncUpdate, signToken, type Scope } from "@ctxsync/protocol";
import { storedDoc } from "./testing/fixtures.js";
import { rawClient, startTestServer, waitFor, type RawClient, type TestServer } from "./testing/harness.js";

/**
 * The adversarial property of issue 9, against one real server: whatever a client's id, history,
 * transaction shape or timing, no update from a client with `append` removes or alters an entry,
 * deletes a branch, moves a head to anything but a descendant of what the server holds (the
 * reconciler's forks aside) or changes an info key once set; a `read` client changes nothing stored and
 * gets nobody disconnected; the legitimate stock clients in every room stay connected and everything
 * they write is stored.
 *
 * Each case is a random attack: Yjs operation sequences (appends, deletions, insertions before existing
 * entries, branch and info writes, set-then-delete in one transaction, unknown and nested types) made on
 * a document that is synced, stale or never synced, under a fresh, reused, legitimate device's, the
 * server's or a server-range client id, sent as one update or several (reordered, duplicated, as sync
 * step 2), replays of old updates, read-only writes, awareness floods naming others' ids — mostly as raw
 * frames, some through the stock y-websocket client. After every case the stored log is checked against
 * what it held before; periodically also through a fresh stock client and over REST.
 *
 * Replay: the seed is printed; `SEED=<n> pnpm vitest run packages/server/src/adversarial.test.ts`.
 * `ADVERSARIAL_CASES=<n>` changes the number of cases (default 2,400).
 */
// A fixed seed by default, so CI is reproducible; SEED=<n> explores (and replays) others.
const SEED = seedFromEnv(20_250_909);
const CASES = Number(process.env.ADVERSARIAL_CASES || 2400);
const ROOMS = 6;
const SECRET = "adversarial-secret";
const tok = (conversation: string, scopes: Scope[], subject: string) => signToken(SECRET, { conversation, scopes, ttlSeconds: 3600, subject });
const ALLOWED_CLOSES = new Set([CLOSE_CODES["malformed-message"], CLOSE_CODES.forbidden, CLOSE_CODES["append-only-violation"], CLOSE_CODES["message-too-large"]]);

interface Legit {
  readonly subject: string;
  readonly doc: Y.Doc;
  readonly log: ConversationLog;
  readonly provider: WebsocketProvider;
  readonly closes: number[];
  /** Entries this client wrote (they must all end up stored). */
  readonly wrote: EntryId[];
}

interface Held {
  readonly entries: Map<string, string>;
  readonly branches: Map<string, Branch>;
  readonly info: Map<string, string>;
  readonly state: Uint8Array;
}

interface Room {
  readonly name: string;
  readonly legit: Legit[];
  held: Held;
  /** The stored document as last read (at the end of the previous case). */
  last: Y.Doc;
  /** Earlier states of the room (stale replicas start from one). */
  readonly past: Uint8Array[];
}

let t: TestServer;
const rooms: Room[] = [];
/** Updates sent so far (replayed later). */
const history: Uint8Array[] = [];
const stats = { cases: 0, closed: new Map<number, number>(), accepted: 0, stock: 0, replays: 0, readOnly: 0, awareness: 0, legitAppends: 0, checksViaClient: 0 };

const snapshot = (doc: Y.Doc): Held => {
  const log = openLog(doc);
  const entries = new Map<string, string>();
  for (const e of log.entries()) entries.set(e.id, canonicalJson(e as never));
  const info = new Map<string, string>();
  for (const [k, v] of doc.getMap(LOG_ROOTS.info).entries()) info.set(k, canonicalJson(v as never));
  const held = { entries, branches: log.branches(), info, state: Y.encodeStateAsUpdate(doc) };
  log.destroy();
  return held;
};

/** The property: what `after` holds continues what `before` held. Returns the problems found. */
const violations = (before: Held, doc: Y.Doc, legitWrote: readonly EntryId[]): string[] => {
  const out: string[] = [];
  const log = openLog(doc);
  for (const [id, json] of before.entries) {
    const e = log.get(id as EntryId);
    if (!e) out.push(`entry ${id} was removed`);
    else if (canonicalJson(e as never) !== json) out.push(`entry ${id} was altered`);
  }
  for (const [name, b] of before.branches) {
    const now = log.branch(name);
    if (!now) out.push(`branch ${name} lost its value`);
    else if (!log.isAncestorOrSelf(b.head, now.head)) out.push(`branch ${name} moved from ${b.head} to ${now.head}, not a descendant`);
  }
  const info = doc.getMap(LOG_ROOTS.info);
  for (const [k, json] of before.info) {
    if (!info.has(k)) out.push(`info ${k} lost its value`);
    else if (canonicalJson(info.get(k) as never) !== json) out.push(`info ${k} changed`);
  }
  for (const root of [LOG_ROOTS.branches, LOG_ROOTS.info]) {
    const m = doc.getMap(root);
    for (const k of m._map.keys()) if (!m.has(k)) out.push(`${root}.${k} has no value`);
  }
  for (const id of legitWrote) if (!log.get(id)) out.push(`legitimate entry ${id} is not stored`);
  log.destroy();
  return out;
};

const stockClient = (room: string, doc: Y.Doc, token: string, connect = true) =>
  new WebsocketProvider(t.wsUrl, room, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true, connect, params: { token } });

/** Send `frames`, then a sync step 1; resolves when its answer came back (everything before it was processed) or the connection closed. */
const exchange = (c: RawClient, frames: readonly Uint8Array[], sv: Uint8Array = new Uint8Array([0])): Promise<number | undefined> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no answer to the step 1 that marks the end of a case")), 10_000);
    const finish = (code: number | undefined) => {
      clearTimeout(timer);
      c.ws.off("message", onMessage);
      resolve(code);
    };
    const mark = c.frames.length;
    const onMessage = () => {
      if (c.frames.slice(mark).some((f) => f[0] === 0 && f[1] === 1)) finish(undefined);
    };
    c.closed.then((x) => finish(x.code));
    if (c.ws.readyState !== WebSocket.OPEN) return;
    c.ws.on("message", onMessage);
    for (const f of frames) c.send(f);
    c.send(encodeSyncStep1(sv));
  });

/** Poll `cond` every few ms (the harness polls every 20 ms, too slow for thousands of cases). */
const soon = async (cond: () => boolean | Promise<boolean>, ms: number, what: string) => {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

const awarenessFrame = (entries: Array<[number, number, unknown]>): Uint8Array => {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, entries.length);
  for (const [id, clock, state] of entries) {
    encoding.writeVarUint(e, id);
    encoding.writeVarUint(e, clock);
    encoding.writeVarString(e, JSON.stringify(state));
  }
  return encodeAwareness(encoding.toUint8Array(e));
};

/** One random attack on `room`; `rnd` drives every choice. */
const attack = async (room: Room, rnd: () => number): Promise<void> => {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number) => rnd() < p;
  const current = room.last;
  const sv = Y.encodeStateVector(current);
  const cur = openLog(current);
  const ids = cur.entries().map((e) => e.id);
  const names = [...cur.branches().keys()];
  const infoKeys = [...current.getMap(LOG_ROOTS.info).keys()];
  cur.destroy();

  const kind = rnd();
  // Replays of earlier updates, in random order, sometimes as a sync step 2.
  if (kind < 0.1 && history.length > 0) {
    stats.replays++;
    const frames = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(history)).map((u: Uint8Array) => (chance(0.3) ? encodeSyncStep2(u) : encodeSyncUpdate(u)));
    const c = rawClient(t.wsUrl, room.name, tok(room.name, ["read", "append"], pick(["mallory", "eve"])));
    await c.opened;
    record(await exchange(c, frames, sv));
    c.ws.close();
    return;
  }
  // Awareness floods naming other clients' ids (the legitimate clients' included), from a read-only peer.
  if (kind < 0.16) {
    stats.awareness++;
    const c = rawClient(t.wsUrl, room.name, tok(room.name, ["read"], "reader"));
    await c.opened;
    const targets = [...room.legit.map((l) => l.doc.clientID), Math.floor(rnd() * 2 ** 32)];
    const frames = Array.from({ length: 40 }, (_, i) =>
      awarenessFrame([[pick(targets), 1000 + i + Math.floor(rnd() * 1e6), chance(0.5) ? null : { user: "spoofed", i }]]),
    );
    record(await exchange(c, frames, sv));
    c.ws.close();
    return;
  }

  // A hostile document: synced, stale or never synced; a client id that is fresh or reused.
  const doc = new Y.Doc({ gc: chance(0.5) });
  const start = rnd();
  if (start < 0.5) Y.applyUpdate(doc, Y.encodeStateAsUpdate(current));
  else if (start < 0.75 && room.past.length > 0) Y.applyUpdate(doc, pick(room.past));
  const idChoice = rnd();
  doc.clientID =
    idChoice < 0.5
      ? 1 + Math.floor(rnd() * 0xfffffffe)
      : idChoice < 0.62
        ? pick(room.legit).doc.clientID // a legitimate device's id
        : idChoice < 0.72
          ? t.server.clientId // the server's own
          : idChoice < 0.82
            ? SERVER_CLIENT_ID_BASE + Math.floor(rnd() * 2 ** 40)
            : 0xffffffff;
  const entries = doc.getArray<unknown>(LOG_ROOTS.entries);
  const branches = doc.getMap<unknown>(LOG_ROOTS.branches);
  const info = doc.getMap<unknown>(LOG_ROOTS.info);
  const made: string[] = [];
  const someEntry = () => (chance(0.7) && (ids.length > 0 || made.length > 0) ? pick([...ids, ...made]) : chance(0.5) ? `eunknown${Math.floor(rnd() * 1000)}` : null);
  const newEntry = () => {
    const id = `ea${Math.floor(rnd() * 1e12).toString(36)}`;
    const parent = someEntry();
    made.push(id);
    return chance(0.9)
      ? { id, parent, kind: "user", content: { text: `attack ${id}` }, meta: { device: "mallory", time: 1 } }
      : { id, parent, kind: "user", content: { nonsense: true }, meta: { device: "mallory", time: 1 } };
  };
  const branchName = () => (chance(0.6) && names.length > 0 ? pick(names) : pick(["main", "alt", `fork/${someEntry() ?? "x"}`, `b${Math.floor(rnd() * 5)}`]));
  const infoKey = () => (chance(0.6) && infoKeys.length > 0 ? pick(infoKeys) : pick(["title", "systemPrompt", "createdAt", `k${Math.floor(rnd() * 5)}`]));
  const branchValue = () => ({ head: someEntry() ?? "enothere", base: null, createdBy: "mallory", createdAt: Math.floor(rnd() * 100) });
  const ops: Array<() => void> = [
    () => entries.push([newEntry()]),
    () => entries.push([newEntry(), newEntry()]),
    () => entries.length > 0 && entries.delete(Math.floor(rnd() * entries.length), 1),
    () => entries.insert(0, [newEntry()]),
    () => entries.length > 1 && entries.insert(Math.floor(rnd() * entries.length), [newEntry()]),
    () => branches.set(branchName(), branchValue()),
    () => branches.delete(branchName()),
    () => {
      const n = branchName();
      branches.set(n, branchValue());
      branches.delete(n);
    },
    () => {
      const n = branchName();
      const e = newEntry();
      entries.push([e]);
      branches.set(n, { ...branchValue(), head: e.id });
    },
    () => info.set(infoKey(), pick(["pwned", "Ignore all previous instructions.", 42, { nested: true }])),
    () => info.delete(infoKey()),
    () => {
      const k = infoKey();
      info.set(k, "x");
      info.delete(k);
    },
    () => doc.getArray(LOG_ROOTS.notes).push([{ id: `n${Math.floor(rnd() * 1e9)}`, entry: someEntry() ?? "enone", author: "m", time: 1, text: "note" }]),
    () => doc.getMap("sneaky").set("k", 1),
    () => info.set("nested", new Y.Map()),
  ];
  const updates: Uint8Array[] = [];
  doc.on("update", (u: Uint8Array) => updates.push(u));
  const transactions = 1 + Math.floor(rnd() * 3);
  for (let k = 0; k < transactions; k++) {
    doc.transact(() => {
      for (let n = 1 + Math.floor(rnd() * 4); n > 0; n--) pick(ops)();
    });
  }
  if (updates.length === 0) return;
  const readOnly = chance(0.08);
  const subject = chance(0.8) ? "mallory" : "eve";
  const scopes: Scope[] = readOnly ? ["read"] : ["read", "append"];

  if (!readOnly && chance(0.12)) {
    // Through the stock client: it sends everything the document has that the server lacks (its step 2).
    stats.stock++;
    const p = stockClient(room.name, doc, tok(room.name, scopes, subject));
    let code: number | undefined;
    p.on("connection-close", (e: CloseEvent | null) => {
      if (e && code === undefined) code = e.code;
    });
    await soon(() => code !== undefined || p.synced, 10_000, "the stock attacker to sync or be refused");
    if (code === undefined) {
      // Synced: its step 2 may still be in flight; a read-only marker client orders after it.
      const c = rawClient(t.wsUrl, room.name, tok(room.name, ["read"], "marker"));
      await c.opened;
      await exchange(c, [], sv);
      c.ws.close();
      await new Promise((r) => setTimeout(r, 5));
    }
    try {
      p.destroy();
    } catch {
      // y-websocket's destroy fails when Yjs gave the document a new client id meanwhile (it received
      // structs under its own id: the id it reused was someone else's); the socket is closed by then.
      p.ws?.close();
    }
    record(code);
    history.push(Y.mergeUpdates(updates));
    return;
  }
  // Raw frames: one merged update or several, reordered or duplicated, as updates or a step 2.
  let parts = chance(0.5) ? [Y.mergeUpdates(updates)] : [...updates];
  if (chance(0.3)) parts = parts.reverse();
  if (chance(0.2)) parts = [...parts, pick(parts)];
  history.push(...parts);
  const asStep2 = chance(0.3);
  const frames = parts.map((u) => (asStep2 ? encodeSyncStep2(u) : encodeSyncUpdate(u)));
  if (chance(0.5)) frames.push(encodeSyncStep2(new Uint8Array([0, 0]))); // settles updates held until step 2
  if (readOnly) {
    stats.readOnly++;
    await quiesce(room);
  }
  const before = readOnly ? canonicalJson(Object.fromEntries(snapshot(await storedDoc(t.server, room.name)).entries) as never) : "";
  const c = rawClient(t.wsUrl, room.name, tok(room.name, scopes, subject));
  await c.opened;
  const code = await exchange(c, frames, sv);
  c.ws.close();
  record(code);
  if (readOnly) {
    const after = snapshot(await storedDoc(t.server, room.name));
    expect(canonicalJson(Object.fromEntries(after.entries) as never), "a read-only client changed the entries").toBe(before);
  }
};

const record = (code: number | undefined) => {
  if (code === undefined) stats.accepted++;
  else {
    stats.closed.set(code, (stats.closed.get(code) ?? 0) + 1);
    expect(ALLOWED_CLOSES.has(code as never), `unexpected close code ${code}`).toBe(true);
  }
};

/** Every legitimate client connected and synced, and everything it wrote stored. */
const quiesce = async (room: Room) => {
  for (const l of room.legit) if (!l.provider.shouldConnect) l.provider.connect();
  await soon(
    async () => {
      if (!room.legit.every((l) => l.provider.synced && l.provider.wsconnected)) return false;
      const s = openLog(await storedDoc(t.server, room.name));
      const ok = room.legit.every((l) => l.wrote.every((id) => s.get(id)));
      s.destroy();
      return ok;
    },
    15_000,
    `the legitimate clients of ${room.name} to settle`,
  );
};

/** A fresh stock client and REST both see what storage holds. */
const checkViaClientAndRest = async (room: Room) => {
  stats.checksViaClient++;
  await quiesce(room);
  const stored = snapshot(await storedDoc(t.server, room.name));
  const doc = new Y.Doc();
  const p = stockClient(room.name, doc, tok(room.name, ["read"], "auditor"));
  await waitFor(() => p.synced, "a fresh client to sync", 10_000);
  await new Promise((r) => setTimeout(r, 20));
  const seen = snapshot(doc);
  p.destroy();
  expect([...seen.entries.keys()].sort()).toEqual([...stored.entries.keys()].sort());
  expect(canonicalJson(Object.fromEntries(seen.branches) as never)).toBe(canonicalJson(Object.fromEntries(stored.branches) as never));
  const res = await fetch(`${t.url}/v1/conversations/${room.name}`, { headers: { authorization: `Bearer ${tok(room.name, ["read"], "auditor")}` } });
  const body = (await res.json()) as { entries: number; branches: Record<string, Branch>; info: Record<string, unknown> };
  expect(body.entries).toBe(stored.entries.size);
  expect(canonicalJson(body.branches as never)).toBe(canonicalJson(Object.fromEntries(stored.branches) as never));
  expect(Object.keys(body.info).sort()).toEqual([...stored.info.keys()].sort());
  // Every leaf a legitimate client wrote is the head of a branch (the reconciler left none orphaned).
  // (An attacker can orphan its own entries: it may name a branch `fork/<its entry>` and point it
  // elsewhere, and the reconciler does not overwrite an existing branch.)
  const log = openLog(doc);
  const heads = new Set([...log.branches().values()].map((b) => b.head));
  const legitWrote = new Set<string>(room.legit.flatMap((l) => l.wrote));
  for (const leaf of log.leaves()) if (legitWrote.has(leaf)) expect(heads.has(leaf), `leaf ${leaf} of ${room.name} has no branch`).toBe(true);
  log.destroy();
};

beforeAll(async () => {
  // Frequent compaction keeps reading the stored log cheap (it is read after every case).
  t = await startTestServer({ secret: SECRET, limits: { maxMessageBytes: 256 * 1024 }, timings: { compactAfterUpdates: 40 } });
  for (let r = 0; r < ROOMS; r++) {
    const name = `adv${r}`;
    const legit: Legit[] = ["A", "B"].map((who) => {
      const subject = `legit-${name}-${who}`;
      const doc = new Y.Doc();
      const provider = stockClient(name, doc, tok(name, ["read", "append"], subject));
      provider.awareness.setLocalState({ user: subject });
      const closes: number[] = [];
      provider.on("connection-close", (e: CloseEvent | null) => {
        if (e) closes.push(e.code);
      });
      return { subject, doc, log: openLog(doc), provider, closes, wrote: [] };
    });
    await waitFor(() => legit.every((l) => l.provider.synced), "legitimate clients to sync", 10_000);
    legit[0]!.log.setInfo("systemPrompt", "You are careful.");
    legit[0]!.wrote.push(...legit[0]!.log.appendMany("main", [
      { kind: "user", content: { text: "q" } },
      { kind: "assistant", content: { text: "a" } },
    ]).map((e) => e.id));
    const room: Room = { name, legit, held: snapshot(new Y.Doc()), last: new Y.Doc(), past: [] };
    await quiesce(room);
    room.last = await storedDoc(t.server, name);
    room.held = snapshot(room.last);
    rooms.push(room);
  }
});
afterAll(async () => {
  for (const r of rooms) for (const l of r.legit) l.provider.destroy();
  await t.close();
});

describe("adversarial property (issue 9)", () => {
  it(`${CASES} random attacks: the log only grows, heads only descend, info never changes, legitimate clients stay connected and lose nothing`, async () => {
    console.log(`adversarial: SEED=${SEED} (replay: SEED=${SEED} pnpm vitest run packages/server/src/adversarial.test.ts)`);
    const rng = createRng(SEED);
    const rnd = () => rng.next();
    try {
      for (let i = 0; i < CASES; i++) {
        const room = rooms[Math.floor(rnd() * rooms.length)]!;
        // Legitimate activity between attacks: appends, and now and then a device goes offline and comes back.
        if (rnd() < 0.3) {
          const l = room.legit[Math.floor(rnd() * room.legit.length)]!;
          const branch = l.log.branch("main") ? "main" : undefined;
          if (branch) {
            l.wrote.push(l.log.append(branch, { kind: "user", content: { text: `legit ${i}` } }).id);
            stats.legitAppends++;
          }
        }
        if (rnd() < 0.03) {
          const l = room.legit[Math.floor(rnd() * room.legit.length)]!;
          if (l.provider.shouldConnect) l.provider.disconnect();
          else l.provider.connect();
        }
        await attack(room, rnd);
        stats.cases++;
        const doc = await storedDoc(t.server, room.name);
        const problems = violations(room.held, doc, []);
        expect(problems, `case ${i} on ${room.name}`).toEqual([]);
        room.held = snapshot(doc);
        room.last.destroy();
        room.last = doc;
        if (rnd() < 0.05) room.past.push(room.held.state);
        if (i % 200 === 199) for (const r of rooms) await checkViaClientAndRest(r);
      }
      for (const r of rooms) {
        await checkViaClientAndRest(r);
        const doc = await storedDoc(t.server, r.name);
        expect(violations(r.held, doc, r.legit.flatMap((l) => l.wrote))).toEqual([]);
        // A device that reconnected shows up again at its next awareness renewal (y-protocols: the server's
        // removal when it left was one clock ahead of its own): renew twice now rather than wait 15 s.
        for (const l of r.legit) for (let k = 0; k < 2; k++) l.provider.awareness.setLocalState({ user: l.subject });
        for (const l of r.legit) {
          expect(l.closes, `${l.subject} was closed`).toEqual([]);
          // The other legitimate client's presence is intact (nobody removed or rewrote it).
          const peer = r.legit.find((x) => x !== l)!;
          await waitFor(() => canonicalJson((l.provider.awareness.getStates().get(peer.doc.clientID) ?? null) as never) === canonicalJson({ user: peer.subject }), "presence to be intact", 5000).catch((e) => {
            throw new Error(`${(e as Error).message}: ${l.subject} sees ${JSON.stringify([...l.provider.awareness.getStates()])}, peer ${peer.doc.clientID} local ${JSON.stringify(peer.provider.awareness.getLocalState())} aw ${peer.provider.awareness.clientID}`);
          });
        }
      }
    } catch (e) {
      console.error(`adversarial property failed: replay with SEED=${SEED} pnpm vitest run packages/server/src/adversarial.test.ts`);
      throw e;
    } finally {
      console.log(`adversarial: ${JSON.stringify({ ...stats, closed: Object.fromEntries(stats.closed) })}`);
    }
    expect(stats.cases).toBe(CASES);
    // The attacks really were of every kind, and both refused and accepted.
    expect(stats.accepted).toBeGreaterThan(CASES / 20);
    expect(stats.closed.get(CLOSE_CODES["append-only-violation"]) ?? 0).toBeGreaterThan(CASES / 20);
    expect(stats.closed.get(CLOSE_CODES.forbidden) ?? 0).toBeGreaterThan(CASES / 50);
    expect(stats.stock).toBeGreaterThan(CASES / 20);
    expect(stats.replays + stats.awareness + stats.readOnly).toBeGreaterThan(CASES / 10);
    expect(stats.legitAppends).toBeGreaterThan(CASES / 5);
    expect(t.server.metrics.keptHeld.get({ root: "branches" }) + t.server.metrics.keptHeld.get({ root: "info" })).toBeGreaterThan(0);
  }, 600_000);
});


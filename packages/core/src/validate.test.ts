import { createRng, testSeed } from "./rng.js";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { LOG_ROOTS } from "./names.js";
import { openLog, type ConversationLog } from "./log.js";
import { validateLogUpdate } from "./validate.js";
import { asEntryId, asDeviceId } from "./ids.js";
import type { Entry } from "./entry.js";
import { reconcile } from "./reconcile.js";

/** A server-side replica `server` and a client replica synced from it; returns the client's next update. */
const setup = () => {
  const server = openLog(new Y.Doc(), { device: asDeviceId("server") });
  server.append("main", { kind: "user", content: { text: "hello" } });
  server.append("main", { kind: "assistant", content: { text: "hi", toolCalls: [{ id: "c1", name: "ls", arguments: { path: "." } }] } });
  const clientDoc = new Y.Doc();
  Y.applyUpdate(clientDoc, Y.encodeStateAsUpdate(server.doc));
  const client = openLog(clientDoc, { device: asDeviceId("client") });
  return { server, client };
};

/** Capture the update produced by `fn` on the client. */
const updateOf = (client: ConversationLog, fn: () => void): Uint8Array => {
  const updates: Uint8Array[] = [];
  const on = (u: Uint8Array) => updates.push(u);
  client.doc.on("update", on);
  fn();
  client.doc.off("update", on);
  return Y.mergeUpdates(updates);
};

const expectRejected = (server: ConversationLog, update: Uint8Array, code: string) => {
  const before = Y.encodeStateAsUpdate(server.doc);
  const r = validateLogUpdate(server, update);
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.code).toBe(code);
  expect(Y.encodeStateAsUpdate(server.doc)).toEqual(before);
};

describe("append-only validator", () => {
  it("accepts appends, forks, notes and info made through the typed API", () => {
    const { server, client } = setup();
    const ops: Array<() => void> = [
      () => client.append("main", { kind: "tool_result", content: { callId: "c1", text: "a.txt" } }),
      () => client.appendMany("main", [
        { kind: "assistant", content: { text: "", reasoning: "think", toolCalls: [{ id: "c2", name: "cat", argumentsText: "{\"p\": 1}", arguments: { p: 1 } }] } },
        { kind: "tool_result", content: { callId: "c2", text: "x", isError: true } },
      ]),
      () => client.fork(client.transcript("main")[0]!.id, "alt"),
      () => client.append("alt", { kind: "user", content: { text: "other way" } }),
      () => client.append("alt", { kind: "config", content: { changes: { mode: "plan" } } }),
      () => client.addNote(client.transcript("main")[0]!.id, "look here"),
      () => client.setInfo("title", "t"),
      () => client.append("fresh-root", { kind: "user", content: { text: "new root" } }),
      () => {
        const t = client.transcript("main");
        client.append("main", { kind: "summary", content: { text: "sum", from: t[0]!.id, to: t[1]!.id } });
      },
    ];
    for (const op of ops) {
      const u = updateOf(client, op);
      const r = validateLogUpdate(server, u);
      expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
      Y.applyUpdate(server.doc, u);
    }
    expect(server.transcript("main").length).toBe(6);
    expect(server.transcript("alt").map((e) => e.kind)).toEqual(["user", "user", "config"]);
  });

  it("accepts a concurrent continuation of the same head (it becomes a fork)", () => {
    const { server, client } = setup();
    const other = openLog(new Y.Doc(), { device: asDeviceId("other") });
    Y.applyUpdate(other.doc, Y.encodeStateAsUpdate(server.doc));
    const u1 = updateOf(client, () => client.append("main", { kind: "user", content: { text: "from client" } }));
    const u2 = updateOf(other, () => other.append("main", { kind: "user", content: { text: "from other" } }));
    expect(validateLogUpdate(server, u1).ok).toBe(true);
    Y.applyUpdate(server.doc, u1);
    expect(validateLogUpdate(server, u2).ok).toBe(true);
    Y.applyUpdate(server.doc, u2);
    const created = reconcile(server);
    expect(created.length).toBe(1);
    const texts = [...server.branches().keys()].map((b) => server.transcript(b).at(-1)!.content);
    expect(texts).toEqual(expect.arrayContaining([{ text: "from client" }, { text: "from other" }]));
  });

  it("rejects deleting an entry", () => {
    const { server, client } = setup();
    const u = updateOf(client, () => client.doc.getArray(LOG_ROOTS.entries).delete(0, 1));
    expectRejected(server, u, "delete");
  });

  it("rejects altering an entry (delete + insert in place)", () => {
    const { server, client } = setup();
    const arr = client.doc.getArray<Entry>(LOG_ROOTS.entries);
    const u = updateOf(client, () =>
      client.doc.transact(() => {
        const e = arr.get(0);
        arr.delete(0, 1);
        arr.insert(0, [{ ...e, content: { text: "rewritten" } } as Entry]);
      }),
    );
    const r = validateLogUpdate(server, u);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(["delete", "not-append"]).toContain(r.code);
  });

  it("rejects inserting before existing entries", () => {
    const { server, client } = setup();
    const arr = client.doc.getArray<Entry>(LOG_ROOTS.entries);
    const e: Entry = { id: asEntryId("eInserted"), parent: null, kind: "user", content: { text: "x" }, meta: { device: asDeviceId("c"), time: 1 } };
    expectRejected(server, updateOf(client, () => arr.insert(0, [e])), "not-append");
  });

  it("rejects moving a head to a non-descendant", () => {
    const { server, client } = setup();
    const first = client.transcript("main")[0]!;
    const yb = client.doc.getMap(LOG_ROOTS.branches);
    const u = updateOf(client, () => yb.set("main", { ...client.branch("main")!, head: first.id }));
    expectRejected(server, u, "head-not-descendant");
  });

  it("never applies the deletion of a branch (held as early: it may be a lost write whose winner has not arrived)", () => {
    const { server, client } = setup();
    const u = updateOf(client, () => client.doc.getMap(LOG_ROOTS.branches).delete("main"));
    expectRejected(server, u, "missing-dependency");
  });

  it("accepts, once the winner arrives, a sync step 2 that carries the deletion of a value that lost elsewhere", () => {
    // Two server instances S1 and S2; a client C relayed through S1 then reconnects to S2, which lags.
    const seed = openLog(new Y.Doc(), { device: asDeviceId("seed") });
    const root = seed.append("main", { kind: "user", content: { text: "R" } });
    const base = Y.encodeStateAsUpdate(seed.doc);
    const at = (client: number) => {
      const d = new Y.Doc();
      d.clientID = client;
      Y.applyUpdate(d, base);
      return openLog(d, { device: asDeviceId(`d${client}`) });
    };
    const [s1, c, a, w, s2] = [at(1), at(2), at(3), at(4), at(5)];
    // A and W set the same branch concurrently; W's value wins (higher client id).
    const fromA = updateOf(a, () => a.fork(root.id, "alt"));
    const fromW = updateOf(w, () => w.fork(root.id, "alt"));
    Y.applyUpdate(s1.doc, fromW);
    const relayed = updateOf(s1, () => Y.applyUpdate(s1.doc, fromA)); // A's value, already deleted on S1
    Y.applyUpdate(c.doc, relayed);
    Y.applyUpdate(s2.doc, fromA); // S2 has A's value, live, and not W's yet
    const diff = Y.encodeStateAsUpdate(c.doc, Y.encodeStateVector(s2.doc));
    expectRejected(s2, diff, "missing-dependency");
    Y.applyUpdate(s2.doc, fromW); // the winner reaches S2 (from the other instance)
    expect(validateLogUpdate(s2, diff)).toMatchObject({ ok: true });
    Y.applyUpdate(s2.doc, diff);
    expect(s2.branch("alt")).toEqual(s1.branch("alt"));
  });

  it("rejects an entry whose parent does not exist", () => {
    const { server, client } = setup();
    const arr = client.doc.getArray<Entry>(LOG_ROOTS.entries);
    const e: Entry = { id: asEntryId("eOrphan"), parent: asEntryId("eNowhere"), kind: "user", content: { text: "x" }, meta: { device: asDeviceId("c"), time: 1 } };
    expectRejected(server, updateOf(client, () => arr.push([e])), "missing-parent");
  });

  it("rejects an entry of the wrong shape", () => {
    const { server, client } = setup();
    const arr = client.doc.getArray<unknown>(LOG_ROOTS.entries);
    const u = updateOf(client, () => arr.push([{ id: "eBad", parent: null, kind: "user", content: { txt: 1 }, meta: { device: "d", time: 1 } }]));
    expectRejected(server, u, "invalid-value");
  });

  it("rejects a duplicate entry id", () => {
    const { server, client } = setup();
    const arr = client.doc.getArray<Entry>(LOG_ROOTS.entries);
    const u = updateOf(client, () => arr.push([{ ...arr.get(0) }]));
    expectRejected(server, u, "duplicate-id");
  });

  it("rejects unknown shared types and nested types", () => {
    const a = setup();
    expectRejected(a.server, updateOf(a.client, () => a.client.doc.getText("sneaky").insert(0, "x")), "unknown-type");
    const b = setup(); // a fresh client: after a refused update, the next one would skip clocks
    expectRejected(b.server, updateOf(b.client, () => b.client.doc.getArray(LOG_ROOTS.entries).push([new Y.Map()])), "bad-content");
  });

  it("rejects rewriting conversation info", () => {
    const { server, client } = setup();
    const u1 = updateOf(client, () => client.setInfo("title", "a"));
    expect(validateLogUpdate(server, u1).ok).toBe(true);
    Y.applyUpdate(server.doc, u1);
    const u2 = updateOf(client, () => client.doc.getMap(LOG_ROOTS.info).set("title", "b"));
    expectRejected(server, u2, "immutable");
    const b = setup(); // a fresh client: after a refused update, the next one would skip clocks
    Y.applyUpdate(b.server.doc, updateOf(b.client, () => b.client.setInfo("title", "a")));
    // A bare deletion is held as early and never applies (see the branch deletion test).
    expectRejected(b.server, updateOf(b.client, () => b.client.doc.getMap(LOG_ROOTS.info).delete("title")), "missing-dependency");
  });

  it("accepts two devices setting the same info key concurrently, and the sync step 2 that follows", () => {
    const { server, client } = setup();
    const other = openLog(new Y.Doc(), { device: asDeviceId("other") });
    Y.applyUpdate(other.doc, Y.encodeStateAsUpdate(server.doc));
    const u1 = updateOf(client, () => client.setInfo("title", "from client"));
    const u2 = updateOf(other, () => other.setInfo("title", "from other"));
    expect(validateLogUpdate(server, u1)).toMatchObject({ ok: true });
    Y.applyUpdate(server.doc, u1);
    expect(validateLogUpdate(server, u2)).toMatchObject({ ok: true });
    Y.applyUpdate(server.doc, u2);
    // The client catches up from the server: the diff deletes the client's losing value (or the server's).
    const diff = Y.encodeStateAsUpdate(server.doc, Y.encodeStateVector(client.doc));
    expect(validateLogUpdate(client, diff)).toMatchObject({ ok: true });
    Y.applyUpdate(client.doc, diff);
    expect(client.info("title")).toBe(server.info("title"));
  });

  it("holds back an update that skips clocks of its client (missing-dependency) and accepts it after the gap is filled", () => {
    const { server, client } = setup();
    const u1 = updateOf(client, () => client.append("main", { kind: "user", content: { text: "first" } }));
    const u2 = updateOf(client, () => client.addNote(client.transcript("main")[0]!.id, "later"));
    expectRejected(server, u2, "missing-dependency");
    Y.applyUpdate(server.doc, u1);
    expect(validateLogUpdate(server, u2)).toMatchObject({ ok: true });
    Y.applyUpdate(server.doc, u2);
    expect(server.doc.store.pendingStructs).toBeNull();
    expect(server.notes().map((n) => n.text)).toEqual(["later"]);
  });

  it("rejects malformed updates and random bytes without throwing", () => {
    const { server } = setup();
    expectRejected(server, new Uint8Array([0xff, 0xff, 0xff]), "malformed");
    const rng = createRng(testSeed("random bytes", 42));
    const rand = () => rng.next();
    for (let i = 0; i < 2000; i++) {
      const bytes = new Uint8Array(1 + Math.floor(rand() * 64)).map(() => Math.floor(rand() * 256));
      const before = Y.encodeStateAsUpdate(server.doc);
      const r = validateLogUpdate(server, bytes);
      if (r.ok) {
        // Random bytes that decode as an empty update are harmless; nothing may have changed.
        expect(Y.encodeStateAsUpdate(server.doc)).toEqual(before);
      }
    }
  });

  it("accepts a duplicate delivery of an already applied update", () => {
    const { server, client } = setup();
    const u = updateOf(client, () => client.append("main", { kind: "user", content: { text: "again" } }));
    Y.applyUpdate(server.doc, u);
    expect(validateLogUpdate(server, u).ok).toBe(true);
  });
});

describe("validator cost and robustness", () => {
  it("accepts a large offline backlog from another device (long origin chains, no stack overflow)", () => {
    const { server } = setup();
    const other = openLog(new Y.Doc(), { device: asDeviceId("other") });
    Y.applyUpdate(other.doc, Y.encodeStateAsUpdate(server.doc));
    const before = Y.encodeStateVector(other.doc);
    for (let i = 0; i < 20_000; i++) other.append("main", { kind: "user", content: { text: `m${i}` } });
    const u = Y.encodeStateAsUpdate(other.doc, before);
    const r = validateLogUpdate(server, u);
    expect(r, JSON.stringify(r).slice(0, 200)).toMatchObject({ ok: true });
    Y.applyUpdate(server.doc, u);
    expect(server.size()).toBe(20_002);
  });
});

import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import type { Entry } from "./entry.js";
import { asDeviceId, asEntryId } from "./ids.js";
import { openLog, type ConversationLog } from "./log.js";
import { LOG_ROOTS } from "./names.js";
import { orphanedLeaves, reconcile } from "./reconcile.js";

const replica = (client: number, base: Uint8Array): ConversationLog => {
  const doc = new Y.Doc();
  doc.clientID = client;
  Y.applyUpdate(doc, base);
  return openLog(doc, { device: asDeviceId(`d${client}`) });
};

const updatesOf = (doc: Y.Doc, fn: () => void): Uint8Array => {
  const out: Uint8Array[] = [];
  const on = (u: Uint8Array) => out.push(u);
  doc.on("update", on);
  fn();
  doc.off("update", on);
  return Y.mergeUpdates(out);
};

describe("reconcile", () => {
  it("does not re-create a fork branch that is only momentarily hidden by a value that lost elsewhere", () => {
    // A log with `main` at R and an orphaned leaf L (a continuation whose branch write lost).
    const seed = openLog(new Y.Doc(), { device: asDeviceId("seed") });
    const root = seed.append("main", { kind: "user", content: { text: "R" } });
    const leaf: Entry = { id: asEntryId("eLeaf"), parent: root.id, kind: "user", content: { text: "L" }, meta: { device: asDeviceId("x"), time: 1 } };
    seed.doc.getArray<Entry>(LOG_ROOTS.entries).push([leaf]);
    const base = Y.encodeStateAsUpdate(seed.doc);
    // Concurrent map values for the same key: the higher client id ends up on the right and wins.
    const server = replica(1, base);
    const c = replica(2, base);
    const a = replica(3, base);
    const w = replica(4, base);
    expect(orphanedLeaves(server)).toEqual(["eLeaf"]);
    const fromW = updatesOf(w.doc, () => expect(reconcile(w)).toEqual(["fork/eLeaf"]));
    const fromA = updatesOf(a.doc, () => expect(reconcile(a)).toEqual(["fork/eLeaf"]));
    expect(reconcile(c)).toEqual(["fork/eLeaf"]);

    // The server has W's value; A's value loses there, and the server's own update for applying it
    // (what a y-websocket server relays) carries A's value as a deleted item.
    Y.applyUpdate(server.doc, fromW);
    const relayed = updatesOf(server.doc, () => Y.applyUpdate(server.doc, fromA));
    expect(server.branch("fork/eLeaf")).toBeDefined();

    // C has not seen W's value: A's deleted value wins over C's and then is deleted itself.
    Y.applyUpdate(c.doc, relayed);
    expect(c.branch("fork/eLeaf")).toBeUndefined();
    expect(reconcile(c)).toEqual([]); // the value is on its way: writing another one would only add churn

    Y.applyUpdate(c.doc, fromW);
    expect(c.branch("fork/eLeaf")).toEqual(server.branch("fork/eLeaf"));
    expect(orphanedLeaves(c)).toEqual([]);
  });

  it("gives every orphaned leaf a branch named after it, the same on every replica", () => {
    const a = openLog(new Y.Doc(), { device: asDeviceId("a") });
    a.append("main", { kind: "user", content: { text: "hi" } });
    const b = openLog(new Y.Doc(), { device: asDeviceId("b") });
    Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc));
    const x = a.append("main", { kind: "user", content: { text: "from a" } });
    const y = b.append("main", { kind: "user", content: { text: "from b" } });
    Y.applyUpdate(a.doc, Y.encodeStateAsUpdate(b.doc));
    Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc));
    const loser = a.branch("main")!.head === x.id ? y.id : x.id;
    expect(reconcile(a)).toEqual([`fork/${loser}`]);
    expect(reconcile(b)).toEqual([`fork/${loser}`]);
    Y.applyUpdate(a.doc, Y.encodeStateAsUpdate(b.doc));
    Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc));
    expect(Object.fromEntries(a.branches())).toEqual(Object.fromEntries(b.branches()));
    expect(orphanedLeaves(a)).toEqual([]);
  });

  it("a device whose branch is momentarily hidden is told so instead of starting the branch over from a new root", () => {
    const seed = openLog(new Y.Doc(), { device: asDeviceId("seed") });
    seed.append("main", { kind: "user", content: { text: "R" } });
    seed.setInfo("title", "t0");
    const base = Y.encodeStateAsUpdate(seed.doc);
    const [server, c, a, w] = [replica(1, base), replica(2, base), replica(3, base), replica(4, base)];
    // A and W continue main concurrently; W wins. The server relays A's step with A's main value deleted.
    const fromW = updatesOf(w.doc, () => w.append("main", { kind: "assistant", content: { text: "from W" } }));
    const fromA = updatesOf(a.doc, () => a.append("main", { kind: "assistant", content: { text: "from A" } }));
    Y.applyUpdate(server.doc, fromW);
    const relayed = updatesOf(server.doc, () => Y.applyUpdate(server.doc, fromA));
    Y.applyUpdate(c.doc, relayed);
    expect(c.branch("main")).toBeUndefined();
    expect(() => c.append("main", { kind: "user", content: { text: "next" } })).toThrow(/momentarily unavailable/);
    expect(() => c.fork(c.entries()[0]!.id, "main")).toThrow(/momentarily unavailable/);
    expect(c.entries().filter((e) => e.parent === null).length).toBe(1); // no second root
    Y.applyUpdate(c.doc, fromW);
    const next = c.append("main", { kind: "user", content: { text: "next" } });
    expect(c.path(next.id).map((e) => e.content)).toEqual([{ text: "R" }, { text: "from W" }, { text: "next" }]);
  });
});

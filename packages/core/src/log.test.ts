import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { openLog } from "./log.js";
import { asDeviceId, asEntryId } from "./ids.js";
import { reconcile, orphanedLeaves } from "./reconcile.js";
import { canonicalJson } from "./canonical.js";
import { canonicalEntry } from "./entry.js";
import { chainHash, ROOT_HASH } from "./hash.js";
import { forkBranchName } from "./branch.js";

const sync = (a: Y.Doc, b: Y.Doc) => {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
};

describe("canonical JSON", () => {
  it("sorts keys, drops undefined, fixes number formatting", () => {
    expect(canonicalJson({ b: 1, a: [1.5, -0, "x"], c: undefined, d: { z: null, y: true } })).toBe('{"a":[1.5,0,"x"],"b":1,"d":{"y":true,"z":null}}');
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
    expect(canonicalJson("\ud800")).toBe('"\\ud800"');
    expect(() => canonicalJson({ x: NaN })).toThrow(/non-finite/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/no JSON form/);
  });
});

describe("conversation log", () => {
  it("appends, forks without copying, and builds transcripts from parent links", () => {
    const log = openLog(new Y.Doc(), { device: asDeviceId("d1") });
    const u = log.append("main", { kind: "user", content: { text: "q" } });
    const a = log.append("main", { kind: "assistant", content: { text: "a", reasoning: "r" } });
    const alt = log.fork(u.id, "alt");
    log.append(alt, { kind: "assistant", content: { text: "other" } });
    expect(log.size()).toBe(3);
    expect(log.transcript("main").map((e) => e.id)).toEqual([u.id, a.id]);
    expect(log.transcript("alt").map((e) => e.content)).toEqual([{ text: "q" }, { text: "other" }]);
    expect(log.branch("alt")?.base).toBe(u.id);
    expect(() => log.fork(asEntryId("nope"))).toThrow(expect.objectContaining({ code: "unknown-entry" }));
    expect(() => log.fork(a.id, "alt")).toThrow(expect.objectContaining({ code: "branch-exists" }));
    expect(() => log.transcript("ghost")).toThrow(expect.objectContaining({ code: "unknown-branch" }));
    expect(() => log.append("main", { kind: "user", content: { text: 1 } } as never)).toThrow(expect.objectContaining({ code: "invalid-entry" }));
  });

  it("hashes the prefix chain: h(E) = H(h(parent) || canonical(E)); unchanged prefixes keep their hash", () => {
    const log = openLog(new Y.Doc());
    const e1 = log.append("main", { kind: "user", content: { text: "q" } });
    const h1 = log.prefixHash(e1.id);
    expect(h1).toBe(chainHash(ROOT_HASH, canonicalEntry(e1)));
    const e2 = log.append("main", { kind: "assistant", content: { text: "a" } });
    expect(log.prefixHash(e2.id)).toBe(chainHash(h1, canonicalEntry(e2)));
    log.append("main", { kind: "user", content: { text: "more" } });
    expect(log.prefixHash(e1.id)).toBe(h1);
    // Metadata is not part of the hash: another device at another time gets the same hashes.
    const other = openLog(new Y.Doc(), { device: asDeviceId("x"), now: () => 5 });
    const o1 = other.append("main", { kind: "user", content: { text: "q" } });
    expect(other.prefixHash(o1.id)).toBe(h1);
  });

  it("the reconciler turns concurrent continuations into deterministic fork branches", () => {
    const base = openLog(new Y.Doc(), { device: asDeviceId("a") });
    base.append("main", { kind: "user", content: { text: "start" } });
    const docs = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
    docs.forEach((d) => Y.applyUpdate(d, Y.encodeStateAsUpdate(base.doc)));
    const logs = docs.map((d, i) => openLog(d, { device: asDeviceId(`dev${i}`) }));
    // Three devices, offline, each continue main with a two-entry turn.
    logs.forEach((l, i) =>
      l.appendMany("main", [
        { kind: "user", content: { text: `q${i}` } },
        { kind: "assistant", content: { text: `a${i}` } },
      ]),
    );
    // Everyone reconciles independently after syncing in different orders.
    sync(docs[0]!, docs[1]!);
    sync(docs[1]!, docs[2]!);
    sync(docs[2]!, docs[0]!);
    logs.forEach((l) => reconcile(l));
    sync(docs[0]!, docs[1]!);
    sync(docs[1]!, docs[2]!);
    sync(docs[2]!, docs[0]!);
    const maps = logs.map((l) => JSON.stringify([...l.branches()].sort()));
    expect(new Set(maps).size).toBe(1);
    for (const l of logs) {
      expect(orphanedLeaves(l)).toEqual([]);
      expect(l.branches().size).toBe(3);
      for (const [name] of l.branches()) {
        const t = l.transcript(name);
        // Never mixes turns of different devices beyond the shared start.
        expect(new Set(t.slice(1).map((e) => e.meta.device)).size).toBe(1);
        if (name !== "main") expect(name).toBe(forkBranchName(t.at(-1)!.id));
      }
    }
    expect(reconcile(logs[0]!)).toEqual([]);
  });

  it("keeps info set-once and notes apart from entries", () => {
    const log = openLog(new Y.Doc());
    const e = log.append("main", { kind: "user", content: { text: "q" } });
    log.setInfo("title", "T");
    expect(() => log.setInfo("title", "U")).toThrow(expect.objectContaining({ code: "meta-immutable" }));
    log.addNote(e.id, "why?");
    expect(log.notes(e.id).map((n) => n.text)).toEqual(["why?"]);
    expect(log.size()).toBe(1);
  });

  it("reports local and remote changes to subscribers", () => {
    const a = openLog(new Y.Doc());
    const b = openLog(new Y.Doc());
    const seen: string[] = [];
    b.onChange((c) => seen.push(`${c.type}:${c.local}`));
    a.append("main", { kind: "user", content: { text: "q" } });
    Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc));
    b.append("main", { kind: "assistant", content: { text: "a" } });
    expect(seen).toEqual(["entries:false", "branches:false", "entries:true", "branches:true"]);
    expect(b.transcript("main").length).toBe(2);
  });
});

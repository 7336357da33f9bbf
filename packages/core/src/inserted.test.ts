import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import type { Entry } from "./entry.js";
import { openHidden } from "./hidden-doc.js";
import { asDeviceId, asEntryId } from "./ids.js";
import { openLog, type LogChange } from "./log.js";

describe("observing appends without walking the log", () => {
  it("reports entries merged from several devices once each, parents before children", () => {
    const a = openLog(new Y.Doc(), { device: asDeviceId("a") });
    a.append("main", { kind: "user", content: { text: "root" } });
    const b = openLog(new Y.Doc(), { device: asDeviceId("b") });
    Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc));
    // b continues a's turn, a continues b's: the merged update has parents and children from both clients.
    const a1 = a.append("main", { kind: "user", content: { text: "a1" } });
    Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc));
    const b1 = b.append("main", { kind: "assistant", content: { text: "b1" } });
    Y.applyUpdate(a.doc, Y.encodeStateAsUpdate(b.doc));
    const a2 = a.append("main", { kind: "user", content: { text: "a2" } });
    const b2 = b.append("side", { kind: "user", content: { text: "b2 root" } });

    const fresh = openLog(new Y.Doc());
    const seen: LogChange[] = [];
    fresh.onChange((c) => seen.push(c));
    const merged = Y.mergeUpdates([Y.encodeStateAsUpdate(b.doc), Y.encodeStateAsUpdate(a.doc)]);
    Y.applyUpdate(fresh.doc, merged);
    const added = seen.flatMap((c) => (c.type === "entries" ? c.added : []));
    expect(added.map((e) => e.id).sort()).toEqual(fresh.entries().map((e) => e.id).sort());
    expect(new Set(added.map((e) => e.id)).size).toBe(added.length);
    const pos = new Map(added.map((e, i) => [e.id, i]));
    for (const e of added) if (e.parent !== null) expect(pos.get(e.parent)!).toBeLessThan(pos.get(e.id)!);
    expect(fresh.path(a2.id).map((e) => e.id)).toEqual([a.transcript("main")[0]!.id, a1.id, b1.id, a2.id]);
    expect(fresh.leaves().sort()).toEqual([a2.id, b2.id].sort());
    // A duplicate delivery reports nothing.
    seen.length = 0;
    Y.applyUpdate(fresh.doc, merged);
    expect(seen.filter((c) => c.type === "entries")).toEqual([]);
  });

  it("hidden blobs arriving from another replica are indexed by entry", () => {
    const src = openHidden(new Y.Doc());
    const e = asEntryId("e1");
    src.attach({ entry: e, provider: "anthropic", model: "m", kind: "anthropic.thinking", data: { signature: "s1" }, time: 1 });
    src.attach({ entry: e, provider: "anthropic", model: "m", kind: "anthropic.thinking", data: { signature: "s2" }, time: 2 });
    const dst = openHidden(new Y.Doc());
    Y.applyUpdate(dst.doc, Y.encodeStateAsUpdate(src.doc));
    expect(dst.blobs(e).map((b) => (b.data as { signature: string }).signature)).toEqual(["s1", "s2"]);
  });

  it("an entry array built one append at a time keeps its order", () => {
    const log = openLog(new Y.Doc());
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) ids.push(log.append("main", { kind: "user", content: { text: `m${i}` } }).id);
    expect(log.entries().map((x: Entry) => x.id)).toEqual(ids);
    expect(log.transcript("main").map((x) => x.id)).toEqual(ids);
  });
});

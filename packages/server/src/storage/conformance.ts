import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import type { DocStore } from "./types.js";

/**
 * The contract every DocStore backend must meet. A backend's test file calls
 * `runStorageConformance("sqlite", () => createSqliteStore(...))`; `factory` returns a fresh,
 * empty store each time (and may return undefined to skip, with `skipReason`).
 */
export const runStorageConformance = (
  name: string,
  factory: () => Promise<DocStore> | DocStore,
  opts: { skipReason?: string; reopen?: (closed: DocStore) => Promise<DocStore> | DocStore } = {},
) => {
  const d = opts.skipReason ? describe.skip : describe;
  if (opts.skipReason) console.log(`storage conformance (${name}) skipped: ${opts.skipReason}`);
  d(`storage conformance: ${name}`, () => {
    const withStore = async (fn: (s: DocStore) => Promise<void>) => {
      const s = await factory();
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    };
    const bytes = (...b: number[]) => new Uint8Array(b);
    const stateOf = (snapshot: Uint8Array | undefined, updates: Uint8Array[]) => {
      const doc = new Y.Doc();
      if (snapshot) Y.applyUpdate(doc, snapshot);
      for (const u of updates) Y.applyUpdate(doc, u);
      return doc.getArray("a").toJSON();
    };

    it("a missing document loads empty", () =>
      withStore(async (s) => {
        expect(await s.load("nope")).toEqual({ updates: [], seq: 0, bytes: 0 });
        expect(await s.has("nope")).toBe(false);
      }));

    it("appends keep order, bytes and increasing sequence numbers", () =>
      withStore(async (s) => {
        const seqs = [];
        for (let i = 0; i < 20; i++) seqs.push(await s.append("d", bytes(i, 255 - i, 0)));
        for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
        const l = await s.load("d");
        expect(l.updates.map((u) => [...u])).toEqual(Array.from({ length: 20 }, (_, i) => [i, 255 - i, 0]));
        expect(l.seq).toBe(seqs[19]);
        expect(l.bytes).toBe(60);
        expect(l.snapshot).toBeUndefined();
        expect(await s.has("d")).toBe(true);
      }));

    it("appendMany stores a batch in order with increasing sequence numbers", () =>
      withStore(async (s) => {
        const first = await s.append("b", bytes(0));
        const seqs = await s.appendMany("b", [bytes(1), bytes(2), bytes(3)]);
        expect(seqs.length).toBe(3);
        expect(seqs[0]!).toBeGreaterThan(first);
        for (let i = 1; i < 3; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
        expect((await s.load("b")).updates.map((u) => u[0])).toEqual([0, 1, 2, 3]);
        expect((await s.load("b")).seq).toBe(seqs[2]);
      }));

    it("documents are independent, including names with slashes", () =>
      withStore(async (s) => {
        await s.append("c", bytes(1));
        await s.append("c/cache", bytes(2));
        await s.append("c/hidden", bytes(3));
        await s.append("cx", bytes(4));
        expect((await s.load("c/cache")).updates.map((u) => [...u])).toEqual([[2]]);
        expect((await s.list()).map((d) => d.name)).toEqual(["c", "c/cache", "c/hidden", "cx"]);
        expect((await s.list("c/")).map((d) => d.name)).toEqual(["c/cache", "c/hidden"]);
        const info = (await s.list("cx"))[0]!;
        expect(info.createdAt).toBeGreaterThan(0);
        expect(info.updatedAt).toBeGreaterThanOrEqual(info.createdAt);
      }));

    it("compaction replaces a prefix with a snapshot and keeps later updates", () =>
      withStore(async (s) => {
        const doc = new Y.Doc();
        const ups: Uint8Array[] = [];
        doc.on("update", (u: Uint8Array) => ups.push(u));
        const arr = doc.getArray<number>("a");
        const seqs: number[] = [];
        for (let i = 0; i < 10; i++) {
          arr.push([i]);
          seqs.push(await s.append("y", ups[i]!));
        }
        const snap = Y.encodeStateAsUpdate(doc);
        arr.push([10]);
        const late = await s.append("y", ups[10]!); // appended while the snapshot was being written
        await s.compact("y", snap, seqs[9]!);
        const l = await s.load("y");
        expect(l.snapshot && [...l.snapshot]).toEqual([...snap]);
        expect(l.updates.length).toBe(1);
        expect(l.seq).toBe(late);
        expect(stateOf(l.snapshot, l.updates)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        // A stale compaction (older upToSeq) never overwrites a newer snapshot.
        await s.compact("y", Y.encodeStateAsUpdate(new Y.Doc()), seqs[2]!);
        expect(stateOf((await s.load("y")).snapshot, (await s.load("y")).updates)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        // Compacting everything leaves just the snapshot, and seq stays monotonic.
        await s.compact("y", Y.encodeStateAsUpdate(doc), late);
        const after = await s.load("y");
        expect(after.updates).toEqual([]);
        expect(after.seq).toBe(late);
        expect(await s.append("y", bytes(0, 0))).toBeGreaterThan(late);
      }));

    it("delete removes a document and nothing else", () =>
      withStore(async (s) => {
        await s.append("k", bytes(1));
        await s.compact("k", bytes(0, 0), await s.append("k", bytes(2)));
        await s.append("k2", bytes(3));
        await s.delete("k");
        await s.delete("never-existed");
        expect(await s.load("k")).toEqual({ updates: [], seq: 0, bytes: 0 });
        expect(await s.has("k")).toBe(false);
        expect((await s.list()).map((d) => d.name)).toEqual(["k2"]);
      }));

    it("concurrent appends are all kept", () =>
      withStore(async (s) => {
        await Promise.all(Array.from({ length: 50 }, (_, i) => s.append("p", bytes(i))));
        const got = (await s.load("p")).updates.map((u) => u[0]).sort((a, b) => a! - b!);
        expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
      }));

    it("a closed store refuses work with storage-unavailable", async () => {
      const s = await factory();
      await s.close();
      await expect(s.append("z", bytes(1))).rejects.toMatchObject({ code: "storage-unavailable" });
      await expect(s.load("z")).rejects.toMatchObject({ code: "storage-unavailable" });
    });

    if (opts.reopen) {
      it("appends survive closing and reopening", async () => {
        const s = await factory();
        await s.append("durable", bytes(7, 7));
        await s.close();
        const again = await opts.reopen!(s);
        try {
          expect((await again.load("durable")).updates.map((u) => [...u])).toEqual([[7, 7]]);
        } finally {
          await again.close();
        }
      });
    }
  });
};

import * as Y from "yjs";
import type { DocStore } from "./types.js";

/**
 * The contract every DocStore backend must meet, as plain async checks with no test framework
 * (like the client's ClientStorage suite): `storage/conformance-vitest.ts` registers the cases
 * with vitest; `runDocStoreConformance` runs them anywhere and returns the results.
 */
export interface DocStoreHarness {
  /** A fresh, empty store (called once or more per case). */
  fresh(): DocStore | Promise<DocStore>;
  /** Open the same place again after `closed` was closed (for durability); cases that need it are skipped without it. */
  reopen?(closed: DocStore): DocStore | Promise<DocStore>;
}

export interface DocStoreCase {
  readonly name: string;
  /** Only for backends whose harness can `reopen`. */
  readonly needsReopen?: boolean;
  run(h: DocStoreHarness): Promise<void>;
}

export interface DocStoreConformanceResult {
  readonly name: string;
  readonly ok: boolean;
  readonly error?: string;
}

const fail = (msg: string): never => {
  throw new Error(`DocStore conformance: ${msg}`);
};
const check = (cond: boolean, msg: string) => {
  if (!cond) fail(msg);
};
/** Deep equality of plain data (arrays, objects, numbers, strings; `undefined` properties ignored). */
const same = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
};
const equal = (actual: unknown, expected: unknown, what: string) =>
  check(same(actual, expected), `${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
const rejectsWith = async (p: Promise<unknown>, code: string, what: string) => {
  try {
    await p;
  } catch (e) {
    return equal((e as { code?: unknown }).code, code, `${what}: error code`);
  }
  fail(`${what}: expected a rejection with ${code}`);
};

const bytes = (...b: number[]) => new Uint8Array(b);
const list = (u: Uint8Array) => [...u];
const stateOf = (snapshot: Uint8Array | undefined, updates: Uint8Array[]) => {
  const doc = new Y.Doc();
  if (snapshot) Y.applyUpdate(doc, snapshot);
  for (const u of updates) Y.applyUpdate(doc, u);
  return doc.getArray("a").toJSON();
};
const withStore = async (h: DocStoreHarness, fn: (s: DocStore) => Promise<void>) => {
  const s = await h.fresh();
  try {
    await fn(s);
  } finally {
    await s.close();
  }
};

export const docStoreConformanceCases: readonly DocStoreCase[] = [
  {
    name: "a missing document loads empty",
    run: (h) =>
      withStore(h, async (s) => {
        equal(await s.load("nope"), { updates: [], seq: 0, bytes: 0 }, "load of a missing document");
        equal(await s.has("nope"), false, "has of a missing document");
      }),
  },
  {
    name: "appends keep order, bytes and increasing sequence numbers",
    run: (h) =>
      withStore(h, async (s) => {
        const seqs: number[] = [];
        for (let i = 0; i < 20; i++) seqs.push(await s.append("d", bytes(i, 255 - i, 0)));
        for (let i = 1; i < seqs.length; i++) check(seqs[i]! > seqs[i - 1]!, `sequence numbers must increase: ${seqs.join(",")}`);
        const l = await s.load("d");
        equal(l.updates.map(list), Array.from({ length: 20 }, (_, i) => [i, 255 - i, 0]), "updates");
        equal(l.seq, seqs[19], "seq");
        equal(l.bytes, 60, "bytes");
        equal(l.snapshot, undefined, "snapshot");
        equal(await s.has("d"), true, "has");
      }),
  },
  {
    name: "appendMany stores a batch in order with increasing sequence numbers",
    run: (h) =>
      withStore(h, async (s) => {
        const first = await s.append("b", bytes(0));
        const seqs = await s.appendMany("b", [bytes(1), bytes(2), bytes(3)]);
        equal(seqs.length, 3, "sequence numbers returned");
        check(seqs[0]! > first, "the batch comes after the earlier append");
        for (let i = 1; i < 3; i++) check(seqs[i]! > seqs[i - 1]!, `sequence numbers must increase: ${seqs.join(",")}`);
        equal((await s.load("b")).updates.map((u) => u[0]), [0, 1, 2, 3], "updates");
        equal((await s.load("b")).seq, seqs[2], "seq");
      }),
  },
  {
    name: "documents are independent, including names with slashes",
    run: (h) =>
      withStore(h, async (s) => {
        await s.append("c", bytes(1));
        await s.append("c/cache", bytes(2));
        await s.append("c/hidden", bytes(3));
        await s.append("cx", bytes(4));
        equal((await s.load("c/cache")).updates.map(list), [[2]], "c/cache");
        equal((await s.list()).map((d) => d.name), ["c", "c/cache", "c/hidden", "cx"], "list()");
        equal((await s.list("c/")).map((d) => d.name), ["c/cache", "c/hidden"], 'list("c/")');
        const info = (await s.list("cx"))[0]!;
        check(info.createdAt > 0, "createdAt is set");
        check(info.updatedAt >= info.createdAt, "updatedAt >= createdAt");
      }),
  },
  {
    name: "compaction replaces a prefix with a snapshot and keeps later updates",
    run: (h) =>
      withStore(h, async (s) => {
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
        equal(l.snapshot && list(l.snapshot), list(snap), "snapshot");
        equal(l.updates.length, 1, "updates after the snapshot");
        equal(l.seq, late, "seq");
        equal(stateOf(l.snapshot, l.updates), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "state");
        // A stale compaction (older upToSeq) never overwrites a newer snapshot.
        await s.compact("y", Y.encodeStateAsUpdate(new Y.Doc()), seqs[2]!);
        const again = await s.load("y");
        equal(stateOf(again.snapshot, again.updates), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "state after a stale compaction");
        // Compacting everything leaves just the snapshot, and seq stays monotonic.
        await s.compact("y", Y.encodeStateAsUpdate(doc), late);
        const after = await s.load("y");
        equal(after.updates, [], "updates after a full compaction");
        equal(after.seq, late, "seq after a full compaction");
        check((await s.append("y", bytes(0, 0))) > late, "seq stays monotonic after compaction");
      }),
  },
  {
    name: "delete removes a document and nothing else",
    run: (h) =>
      withStore(h, async (s) => {
        await s.append("k", bytes(1));
        await s.compact("k", bytes(0, 0), await s.append("k", bytes(2)));
        await s.append("k2", bytes(3));
        await s.delete("k");
        await s.delete("never-existed");
        equal(await s.load("k"), { updates: [], seq: 0, bytes: 0 }, "load after delete");
        equal(await s.has("k"), false, "has after delete");
        equal((await s.list()).map((d) => d.name), ["k2"], "list after delete");
      }),
  },
  {
    name: "concurrent appends are all kept",
    run: (h) =>
      withStore(h, async (s) => {
        await Promise.all(Array.from({ length: 50 }, (_, i) => s.append("p", bytes(i))));
        const got = (await s.load("p")).updates.map((u) => u[0]!).sort((a, b) => a - b);
        equal(got, Array.from({ length: 50 }, (_, i) => i), "updates");
      }),
  },
  {
    name: "a closed store refuses work with storage-unavailable",
    async run(h) {
      const s = await h.fresh();
      await s.close();
      await rejectsWith(s.append("z", bytes(1)), "storage-unavailable", "append after close");
      await rejectsWith(s.load("z"), "storage-unavailable", "load after close");
    },
  },
  {
    name: "appends survive closing and reopening",
    needsReopen: true,
    async run(h) {
      const s = await h.fresh();
      await s.append("durable", bytes(7, 7));
      await s.close();
      const again = await h.reopen!(s);
      try {
        equal((await again.load("durable")).updates.map(list), [[7, 7]], "updates after reopening");
      } finally {
        await again.close();
      }
    },
  },
];

/** The cases that apply to `h` (durability needs `reopen`). */
export const docStoreCasesFor = (h: DocStoreHarness): readonly DocStoreCase[] =>
  docStoreConformanceCases.filter((c) => !c.needsReopen || h.reopen !== undefined);

/** Run every case against `h`, sequentially; never throws. */
export const runDocStoreConformance = async (h: DocStoreHarness): Promise<DocStoreConformanceResult[]> => {
  const out: DocStoreConformanceResult[] = [];
  for (const c of docStoreCasesFor(h)) {
    try {
      await c.run(h);
      out.push({ name: c.name, ok: true });
    } catch (e) {
      out.push({ name: c.name, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
};

import * as Y from "yjs";
import { isSyncError } from "@ctxsync/protocol";
import type { ClientStorage } from "./types.js";

/**
 * The behaviour every ClientStorage must show, as plain async checks with no test framework, so
 * the same suite runs under vitest in Node (see conformance-vitest.ts) and inside a real browser
 * page (bundled with the idb storage).
 */
export interface StorageHarness {
  /** Open a handle on the same underlying place (a directory, a database); called several times. */
  open(): ClientStorage | Promise<ClientStorage>;
  /** Whether what one handle wrote survives into the next `open()` (false for memory storage). */
  readonly persistent: boolean;
  cleanup?(): void | Promise<void>;
}
export type StorageFactory = () => StorageHarness | Promise<StorageHarness>;

export interface ConformanceCase {
  readonly name: string;
  run(h: StorageHarness): Promise<void>;
}

const fail = (msg: string): never => {
  throw new Error(`storage conformance: ${msg}`);
};
const check = (cond: boolean, msg: string) => {
  if (!cond) fail(msg);
};
const sameBytes = (a: Uint8Array | null | undefined, b: Uint8Array, what: string) => {
  check(a != null, `${what}: missing`);
  check(a!.length === b.length, `${what}: length ${a!.length}, expected ${b.length}`);
  for (let i = 0; i < b.length; i++) if (a![i] !== b[i]) fail(`${what}: byte ${i} differs`);
};
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** Real Yjs updates: what the client actually stores. */
const yUpdates = (n: number): { updates: Uint8Array[]; text: string } => {
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on("update", (u: Uint8Array) => updates.push(u));
  const arr = doc.getArray<string>("entries");
  for (let i = 0; i < n; i++) arr.push([`entry ${i} ✓`]);
  return { updates, text: JSON.stringify(arr.toJSON()) };
};
const applyAll = (snapshot: Uint8Array | null, updates: readonly Uint8Array[]) => {
  const doc = new Y.Doc();
  if (snapshot) Y.applyUpdate(doc, snapshot);
  for (const u of updates) Y.applyUpdate(doc, u);
  return JSON.stringify(doc.getArray("entries").toJSON());
};

const withStorage = async <T>(h: StorageHarness, fn: (s: ClientStorage) => Promise<T>): Promise<T> => {
  const s = await h.open();
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
};

export const storageConformanceCases: readonly ConformanceCase[] = [
  {
    name: "an unknown document loads empty",
    run: (h) =>
      withStorage(h, async (s) => {
        const d = await s.load("never-written");
        check(d.snapshot === null && d.updates.length === 0, "expected no snapshot and no updates");
        check(s.stats("never-written").updates === 0, "stats of an empty document must be zero");
      }),
  },
  {
    name: "updates come back byte-exact and in append order, including empty and large ones",
    run: (h) =>
      withStorage(h, async (s) => {
        const written = [bytes(0, 0), bytes(1, 1), bytes(300, 2), bytes(1 << 20, 3), bytes(7, 4)];
        for (const u of written) await s.appendUpdate("c1", u);
        const d = await s.load("c1");
        check(d.updates.length === written.length, `expected ${written.length} updates, got ${d.updates.length}`);
        written.forEach((u, i) => sameBytes(d.updates[i], u, `update ${i}`));
        const st = s.stats("c1");
        check(st.updates === written.length, `stats.updates ${st.updates}`);
        check(st.bytes === written.reduce((n, u) => n + u.length, 0), `stats.bytes ${st.bytes}`);
      }),
  },
  {
    name: "real Yjs updates rebuild the document",
    run: (h) =>
      withStorage(h, async (s) => {
        const { updates, text } = yUpdates(50);
        for (const u of updates) await s.appendUpdate("c2", u);
        const d = await s.load("c2");
        check(applyAll(d.snapshot, d.updates) === text, "rebuilt document differs");
      }),
  },
  {
    name: "what was appended survives closing and reopening",
    run: async (h) => {
      if (!h.persistent) return;
      const { updates, text } = yUpdates(20);
      await withStorage(h, async (s) => {
        for (const u of updates) await s.appendUpdate("c3", u);
      });
      await withStorage(h, async (s) => {
        const d = await s.load("c3");
        check(d.updates.length === updates.length, `expected ${updates.length} updates after reopen, got ${d.updates.length}`);
        check(applyAll(d.snapshot, d.updates) === text, "document differs after reopen");
        // Appending after a reopen continues the log rather than overwriting it.
        await s.appendUpdate("c3", bytes(5, 9));
        check((await s.load("c3")).updates.length === updates.length + 1, "append after reopen lost or replaced updates");
      });
    },
  },
  {
    name: "compaction replaces the log with a snapshot; later appends are kept",
    run: (h) =>
      withStorage(h, async (s) => {
        const { updates, text } = yUpdates(30);
        for (const u of updates.slice(0, 20)) await s.appendUpdate("c4", u);
        const before = await s.load("c4");
        const snapshot = Y.mergeUpdates([...before.updates]);
        await s.compact("c4", snapshot);
        check(s.stats("c4").updates === 0 && s.stats("c4").bytes === 0, "stats must reset after compaction");
        for (const u of updates.slice(20)) await s.appendUpdate("c4", u);
        const after = await s.load("c4");
        sameBytes(after.snapshot, snapshot, "snapshot");
        check(after.updates.length === 10, `expected 10 updates after compaction, got ${after.updates.length}`);
        check(applyAll(after.snapshot, after.updates) === text, "document differs after compaction");
        // A second compaction replaces the first snapshot.
        await s.compact("c4", Y.mergeUpdates([after.snapshot!, ...after.updates]));
        const again = await s.load("c4");
        check(again.updates.length === 0, "second compaction left updates");
        check(applyAll(again.snapshot, again.updates) === text, "document differs after second compaction");
      }),
  },
  {
    name: "compacted state survives reopening",
    run: async (h) => {
      if (!h.persistent) return;
      const { updates, text } = yUpdates(12);
      await withStorage(h, async (s) => {
        for (const u of updates.slice(0, 6)) await s.appendUpdate("c5", u);
        await s.compact("c5", Y.mergeUpdates(updates.slice(0, 6)));
        for (const u of updates.slice(6)) await s.appendUpdate("c5", u);
      });
      await withStorage(h, async (s) => {
        const d = await s.load("c5");
        check(d.snapshot !== null && d.updates.length === 6, `expected snapshot + 6 updates, got ${d.updates.length}`);
        check(applyAll(d.snapshot, d.updates) === text, "document differs after reopen");
      });
    },
  },
  {
    name: "documents are independent; names with slashes work; list and remove",
    run: (h) =>
      withStorage(h, async (s) => {
        await s.appendUpdate("conv", bytes(3, 1));
        await s.appendUpdate("conv/cache", bytes(4, 2));
        await s.appendUpdate("conv/hidden", bytes(5, 3));
        sameBytes((await s.load("conv/cache")).updates[0], bytes(4, 2), "conv/cache");
        check((await s.load("conv")).updates.length === 1, "conv must hold exactly its own update");
        const names = await s.list();
        for (const n of ["conv", "conv/cache", "conv/hidden"]) check(names.includes(n), `list() misses ${n}`);
        await s.remove("conv/cache");
        check((await s.load("conv/cache")).updates.length === 0, "removed document still has updates");
        check((await s.load("conv/hidden")).updates.length === 1, "remove() touched another document");
        check(!(await s.list()).includes("conv/cache"), "list() still names a removed document");
      }),
  },
  {
    name: "concurrent appends are all kept, in call order",
    run: (h) =>
      withStorage(h, async (s) => {
        const n = 200;
        await Promise.all(Array.from({ length: n }, (_, i) => s.appendUpdate("c6", Uint8Array.of(i & 0xff, i >> 8))));
        const d = await s.load("c6");
        check(d.updates.length === n, `expected ${n} updates, got ${d.updates.length}`);
        d.updates.forEach((u, i) => check(u[0] === (i & 0xff) && u[1] === i >> 8, `update ${i} out of order`));
      }),
  },
  {
    name: "a closed storage refuses writes with a storage-unavailable SyncError",
    run: async (h) => {
      const s = await h.open();
      await s.close();
      let err: unknown;
      try {
        await s.appendUpdate("c7", bytes(2, 2));
      } catch (e) {
        err = e;
      }
      check(isSyncError(err) && err.code === "storage-unavailable", `expected SyncError storage-unavailable, got ${String(err)}`);
    },
  },
];

export interface ConformanceResult {
  readonly name: string;
  readonly ok: boolean;
  readonly error?: string;
}

/** Run every case against fresh harnesses (for environments without a test framework, e.g. a browser page). */
export const runStorageConformance = async (factory: StorageFactory): Promise<ConformanceResult[]> => {
  const out: ConformanceResult[] = [];
  for (const c of storageConformanceCases) {
    const h = await factory();
    try {
      await c.run(h);
      out.push({ name: c.name, ok: true });
    } catch (e) {
      out.push({ name: c.name, ok: false, error: e instanceof Error ? e.message : String(e) });
    } finally {
      await h.cleanup?.();
    }
  }
  return out;
};

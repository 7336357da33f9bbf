import { promisifyRequest, type UseStore } from "idb-keyval";
import { syncError } from "@ctxsync/protocol";
import type { ClientStorage, StorageStats } from "./types.js";

/**
 * Browser storage: IndexedDB through idb-keyval with a custom store (strict durability). Keys are arrays
 * `[doc, seq]` (seq ≥ 1 for updates, 0 for the snapshot) so one key range reads a document in
 * order. `appendUpdate` resolves when its IndexedDB transaction has committed. Compaction puts
 * the snapshot and deletes the updates it covers in one transaction, so it is atomic.
 *
 * Several tabs of one origin share the database; each session should use its own `dbName`
 * (or conversation) to avoid two writers of the same document.
 */
export interface IdbStorageOptions {
  /** IndexedDB database name (default "ctxsync"). */
  readonly dbName?: string;
  /** Object store name (default "docs"). */
  readonly storeName?: string;
}

const SNAPSHOT = 0;

/**
 * idb-keyval's `createStore`, except that read-write transactions ask for `durability: "strict"`:
 * Chromium's default ("relaxed") may report a commit before the data reaches the disk, and an
 * append must be durable when it resolves.
 */
const createStrictStore = (dbName: string, storeName: string): UseStore => {
  let dbp: Promise<IDBDatabase> | undefined;
  const getDB = () => {
    if (dbp) return dbp;
    const request = indexedDB.open(dbName);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName);
    dbp = promisifyRequest(request);
    dbp.then(
      (db) => (db.onclose = () => (dbp = undefined)),
      () => {},
    );
    return dbp;
  };
  return (mode, callback) =>
    getDB().then((db) => callback(db.transaction(storeName, mode, mode === "readwrite" ? { durability: "strict" } : {}).objectStore(storeName)));
};
const range = (doc: string) => IDBKeyRange.bound([doc, SNAPSHOT], [doc, Number.MAX_SAFE_INTEGER]);

export const idbStorage = (opts: IdbStorageOptions = {}): ClientStorage => {
  const dbName = opts.dbName ?? "ctxsync";
  const store: UseStore = createStrictStore(dbName, opts.storeName ?? "docs");
  const seqs = new Map<string, number>();
  const stats = new Map<string, { updates: number; bytes: number }>();
  let closed = false;

  const run = async <T>(what: string, mode: IDBTransactionMode, fn: (s: IDBObjectStore) => T | PromiseLike<T>): Promise<T> => {
    if (closed) throw syncError("storage-unavailable", `storage idb:${dbName} is closed`);
    try {
      return await store(mode, fn);
    } catch (e) {
      throw syncError("storage-unavailable", `${what} failed in idb:${dbName}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
  };
  const seqLoads = new Map<string, Promise<void>>();
  /** The next sequence number; read from the database once per document (concurrent first calls share the read). */
  const nextSeq = async (doc: string): Promise<number> => {
    if (!seqs.has(doc)) {
      let loading = seqLoads.get(doc);
      if (!loading) {
        loading = run("load", "readonly", (s) => promisifyRequest(s.getAllKeys(range(doc)))).then((keys) => {
          if (!seqs.has(doc)) seqs.set(doc, keys.reduce<number>((m, k) => Math.max(m, (k as [string, number])[1]), 0));
        });
        seqLoads.set(doc, loading);
        loading.finally(() => seqLoads.delete(doc)).catch(() => {});
      }
      await loading;
    }
    const seq = seqs.get(doc)! + 1;
    seqs.set(doc, seq);
    return seq;
  };

  return {
    name: `idb:${dbName}`,
    async load(doc) {
      const [keys, values] = await run("load", "readonly", (s) =>
        Promise.all([promisifyRequest(s.getAllKeys(range(doc))), promisifyRequest(s.getAll(range(doc)))]),
      );
      let snapshot: Uint8Array | null = null;
      const updates: Uint8Array[] = [];
      let maxSeq = 0;
      keys.forEach((k, i) => {
        const seq = (k as [string, number])[1];
        const v = values[i] as Uint8Array;
        if (seq === SNAPSHOT) snapshot = v;
        else updates.push(v);
        maxSeq = Math.max(maxSeq, seq);
      });
      if (!seqs.has(doc)) seqs.set(doc, maxSeq);
      stats.set(doc, { updates: updates.length, bytes: updates.reduce((n, u) => n + u.length, 0) });
      return { snapshot, updates };
    },
    async appendUpdate(doc, update) {
      const seq = await nextSeq(doc);
      await run("append", "readwrite", (s) => {
        s.put(update, [doc, seq]);
        return promisifyRequest(s.transaction);
      });
      const st = stats.get(doc) ?? { updates: 0, bytes: 0 };
      stats.set(doc, { updates: st.updates + 1, bytes: st.bytes + update.length });
    },
    async compact(doc, snapshot) {
      const upTo = seqs.get(doc) ?? (await nextSeq(doc)) - 1;
      await run("compact", "readwrite", (s) => {
        s.put(snapshot, [doc, SNAPSHOT]);
        if (upTo >= 1) s.delete(IDBKeyRange.bound([doc, 1], [doc, upTo]));
        return promisifyRequest(s.transaction);
      });
      // The persistence layer serializes writes per document, so nothing was appended meanwhile.
      stats.set(doc, { updates: 0, bytes: 0 });
    },
    stats: (doc): StorageStats => stats.get(doc) ?? { updates: 0, bytes: 0 },
    async list() {
      const keys = await run("list", "readonly", (s) => promisifyRequest(s.getAllKeys()));
      return [...new Set(keys.map((k) => (k as [string, number])[0]))].sort();
    },
    async remove(doc) {
      await run("remove", "readwrite", (s) => {
        s.delete(range(doc));
        return promisifyRequest(s.transaction);
      });
      seqs.delete(doc);
      stats.delete(doc);
    },
    close: async () => {
      closed = true;
    },
  };
};

import { syncError } from "@ctxsync/protocol";
import type { ClientStorage, StorageStats } from "./types.js";

/** Storage in memory: for ephemeral sessions and tests. Lost with the process. */
export const memoryStorage = (): ClientStorage => {
  const docs = new Map<string, { snapshot: Uint8Array | null; updates: Uint8Array[] }>();
  let closed = false;
  const open = (doc: string) => {
    if (closed) throw syncError("storage-unavailable", "memory storage is closed");
    let d = docs.get(doc);
    if (!d) docs.set(doc, (d = { snapshot: null, updates: [] }));
    return d;
  };
  const run = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e);
    }
  };
  return {
    name: "memory",
    load: (doc) =>
      run(() => {
        if (closed) open(doc);
        const d = docs.get(doc);
        return { snapshot: d?.snapshot ?? null, updates: [...(d?.updates ?? [])] };
      }),
    appendUpdate: (doc, update) => run(() => void open(doc).updates.push(update.slice())),
    compact: (doc, snapshot) =>
      run(() => {
        const d = open(doc);
        d.snapshot = snapshot.slice();
        d.updates = [];
      }),
    stats: (doc): StorageStats => {
      const u = docs.get(doc)?.updates ?? [];
      return { updates: u.length, bytes: u.reduce((n, x) => n + x.length, 0) };
    },
    list: () => run(() => [...docs.keys()].sort()),
    remove: (doc) => run(() => void docs.delete(doc)),
    close: async () => {
      closed = true;
    },
  };
};

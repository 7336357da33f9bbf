import * as Y from "yjs";
import { toSyncError, type SyncError } from "@ctxsync/protocol";
import type { ClientStorage } from "./types.js";

/** Transaction origin of updates replayed from storage (they are not written back). */
export const STORAGE_ORIGIN = Symbol("ctxsync-storage");

export interface CompactionPolicy {
  /** Compact once this many updates are in the log since the last snapshot (default 500). */
  readonly maxUpdates?: number;
  /** ...or once they add up to this many bytes (default 4 MiB). */
  readonly maxBytes?: number;
}

export interface Persistence {
  /** Resolves once every update made to the document so far is durable; rejects with the first write error. */
  flush(): Promise<void>;
  /** Write a snapshot now and drop the update log (also done automatically per the policy). */
  compact(): Promise<void>;
  destroy(): void;
}

/**
 * Keep `doc` in `storage` under `name`: load what is stored, then append every update (local or
 * remote) as it happens. Storage calls are issued synchronously from the update handler, in
 * order, so a storage that writes synchronously (the fs one) has the update on disk before the
 * write call that produced it returns; `flush()` covers asynchronous storages (IndexedDB).
 */
export const persistDoc = async (
  doc: Y.Doc,
  name: string,
  storage: ClientStorage,
  policy: CompactionPolicy = {},
  onError: (e: SyncError) => void = () => {},
): Promise<Persistence> => {
  const maxUpdates = policy.maxUpdates ?? 500;
  const maxBytes = policy.maxBytes ?? 4 * 1024 * 1024;
  const stored = await storage.load(name).catch((e) => {
    throw toSyncError(e, "storage-unavailable");
  });
  const parts = [...(stored.snapshot ? [stored.snapshot] : []), ...stored.updates];
  if (parts.length > 0) Y.applyUpdate(doc, parts.length === 1 ? parts[0]! : Y.mergeUpdates(parts), STORAGE_ORIGIN);

  const inflight = new Set<Promise<void>>();
  let failure: SyncError | undefined;
  let compacting: Promise<void> | undefined;
  const track = (p: Promise<void>): Promise<void> => {
    const t = p.then(
      () => void inflight.delete(t),
      (e: unknown) => {
        inflight.delete(t);
        const err = toSyncError(e, "storage-unavailable");
        failure ??= err;
        onError(err);
      },
    );
    inflight.add(t);
    return t;
  };
  const compact = (): Promise<void> => {
    if (compacting) return compacting;
    // The snapshot is taken now, so it contains every update issued to storage before this call.
    const p = track(storage.compact(name, Y.encodeStateAsUpdate(doc)));
    compacting = p.finally(() => (compacting = undefined));
    return compacting;
  };
  const onUpdate = (update: Uint8Array, origin: unknown) => {
    if (origin === STORAGE_ORIGIN) return;
    track(storage.appendUpdate(name, update));
    const st = storage.stats(name);
    if (!compacting && (st.updates >= maxUpdates || st.bytes >= maxBytes)) void compact();
  };
  doc.on("update", onUpdate);
  return {
    async flush() {
      while (inflight.size > 0) await Promise.all([...inflight]);
      if (failure) throw failure;
    },
    compact: async () => {
      await compact();
      if (failure) throw failure;
    },
    destroy: () => doc.off("update", onUpdate),
  };
};

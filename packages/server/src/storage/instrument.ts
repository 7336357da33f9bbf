import type { ServerMetrics } from "../server-metrics.js";
import type { DocStore } from "./types.js";

/** The same store, timing every operation into `ctxsync_storage_seconds{op}`. */
export const instrumentStore = (store: DocStore, metrics: ServerMetrics): DocStore => {
  const timed =
    <A extends unknown[], R>(op: string, fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const t0 = performance.now();
      try {
        return await fn(...a);
      } finally {
        metrics.storageSeconds.observe((performance.now() - t0) / 1000, { op, backend: store.kind });
      }
    };
  return {
    kind: store.kind,
    load: timed("load", store.load),
    append: timed("append", store.append),
    appendMany: timed("append", store.appendMany),
    compact: timed("compact", store.compact),
    list: timed("list", store.list),
    has: timed("has", store.has),
    delete: timed("delete", store.delete),
    close: () => store.close(),
  };
};

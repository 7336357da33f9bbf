/**
 * Group commit for one document: items pushed during one turn of the event loop are written with
 * a single `write` call (one storage commit), after the previous commit finished; `committed`
 * runs for each batch in order, only after its write succeeded. A failed write rejects
 * `durable()` for everything pushed so far; the caller decides what that means (the room drops
 * itself). Memory held is what was pushed and not yet written.
 */
export interface GroupCommit<T> {
  push(item: T, bytes: number): void;
  /** Resolves when everything pushed so far is written and `committed` has run for it. */
  durable(): Promise<void>;
  /** Bytes pushed and not yet written. */
  pendingBytes(): number;
}

export const createGroupCommit = <T>(
  write: (items: readonly T[]) => Promise<void>,
): GroupCommit<T> => {
  let batch: T[] = [];
  let batchBytes = 0;
  let inFlightBytes = 0;
  let next: Promise<void> | null = null;
  let last: Promise<void> = Promise.resolve();

  const schedule = () => {
    if (next) return;
    const after = last;
    const p = new Promise<void>((res) => setImmediate(res))
      .then(() => after)
      .then(async () => {
        const items = batch;
        const bytes = batchBytes;
        batch = [];
        batchBytes = 0;
        next = null;
        inFlightBytes += bytes;
        try {
          await write(items);
        } finally {
          inFlightBytes -= bytes;
        }
      });
    next = p;
    last = p.catch(() => undefined);
  };

  return {
    push(item, bytes) {
      batch.push(item);
      batchBytes += bytes;
      schedule();
    },
    durable: () => next ?? last,
    pendingBytes: () => batchBytes + inFlightBytes,
  };
};

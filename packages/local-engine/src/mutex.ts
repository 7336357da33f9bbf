/**
 * One-at-a-time lock. The engine serializes requests: a slot's KV state must not change
 * under a running generation, and on a 2-core CPU parallel decoding buys nothing.
 */
export interface Mutex {
  lock(): Promise<() => void>;
}

export function createMutex(): Mutex {
  let tail: Promise<void> = Promise.resolve();
  return {
    async lock() {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const previous = tail;
      tail = previous.then(() => held);
      await previous;
      return release;
    },
  };
}

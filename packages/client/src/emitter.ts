/** A minimal typed event emitter; a throwing listener does not stop the others. */
export interface Emitter<E> {
  on<K extends keyof E>(event: K, listener: (v: E[K]) => void): () => void;
  emit<K extends keyof E>(event: K, value: E[K]): void;
  clear(): void;
}

export const createEmitter = <E>(): Emitter<E> => {
  const listeners = new Map<keyof E, Set<(v: never) => void>>();
  return {
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (v: never) => void);
      return () => void set.delete(listener as (v: never) => void);
    },
    emit(event, value) {
      for (const l of [...(listeners.get(event) ?? [])]) {
        try {
          (l as (v: typeof value) => void)(value);
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    },
    clear: () => listeners.clear(),
  };
};

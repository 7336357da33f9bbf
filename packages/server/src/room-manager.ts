import type { SyncErrorCode } from "@ctxsync/protocol";
import { loadRoom, type Room, type RoomDeps } from "./room.js";

/**
 * Many rooms per process, one per document name. Rooms are reference-counted (a connection or a
 * REST request holds one); a room nobody holds is unloaded after `idleUnloadMs`, compacting it on
 * the way out, so memory follows the working set instead of every document ever opened.
 */
export interface RoomManager {
  acquire(name: string): Promise<Room>;
  release(room: Room): void;
  /** Hold a room for the duration of `fn`. */
  with<T>(name: string, fn: (room: Room) => Promise<T> | T): Promise<T>;
  /** Loaded (or loading) rooms. */
  size(): number;
  get(name: string): Room | undefined;
  /** Close every peer of `name` with `code`, then unload it (no compaction): for deletes and broken rooms. */
  evict(name: string, code: SyncErrorCode, message: string): Promise<void>;
  /** Close every peer with `code`, drain, compact and unload every room (graceful shutdown). */
  closeAll(code: SyncErrorCode, message: string): Promise<void>;
}

interface Slot {
  refs: number;
  loading: Promise<Room>;
  room?: Room;
  timer?: NodeJS.Timeout;
}

export const createRoomManager = (deps: Omit<RoomDeps, "onBroken">): RoomManager => {
  const slots = new Map<string, Slot>();
  const unloading = new Map<string, Promise<void>>();

  const unload = (name: string, slot: Slot, compact: boolean): Promise<void> => {
    if (slots.get(name) === slot) slots.delete(name);
    if (slot.timer) clearTimeout(slot.timer);
    const p = (async () => {
      const room = await slot.loading.catch(() => undefined);
      if (!room) return;
      await room.close({ compact });
      deps.logger.debug("room-unloaded", { room: name });
    })()
      .catch((e) => deps.logger.error("room-unload-failed", { room: name, error: String(e) }))
      .finally(() => {
        if (unloading.get(name) === p) unloading.delete(name);
      });
    unloading.set(name, p);
    return p;
  };

  const roomDeps: RoomDeps = {
    ...deps,
    onBroken: (room) => {
      deps.logger.error("room-broken", { room: room.name });
      void manager.evict(room.name, "storage-unavailable", `storage failed for ${room.name}; reconnect to resync`);
    },
  };

  const manager: RoomManager = {
    async acquire(name) {
      for (;;) {
        const pending = unloading.get(name);
        if (pending) {
          await pending;
          continue;
        }
        let slot = slots.get(name);
        if (!slot) {
          const s: Slot = { refs: 0, loading: loadRoom(name, roomDeps) };
          s.loading.then(
            (r) => (s.room = r),
            () => {
              if (slots.get(name) === s) slots.delete(name);
            },
          );
          slots.set(name, (slot = s));
        }
        slot.refs++;
        if (slot.timer) {
          clearTimeout(slot.timer);
          slot.timer = undefined;
        }
        try {
          return await slot.loading;
        } catch (e) {
          slot.refs--;
          throw e;
        }
      }
    },
    release(room) {
      const slot = slots.get(room.name);
      if (!slot || slot.room !== room) return; // already evicted
      slot.refs--;
      if (slot.refs > 0) return;
      slot.timer = setTimeout(() => {
        if (slot.refs === 0 && slots.get(room.name) === slot) void unload(room.name, slot, true);
      }, deps.timings.idleUnloadMs);
      slot.timer.unref();
    },
    async with(name, fn) {
      const room = await manager.acquire(name);
      try {
        return await fn(room);
      } finally {
        manager.release(room);
      }
    },
    size: () => slots.size,
    get: (name) => slots.get(name)?.room,
    async evict(name, code, message) {
      const slot = slots.get(name);
      if (!slot) return unloading.get(name);
      const room = await slot.loading.catch(() => undefined);
      if (room) for (const p of [...room.peers]) p.close(code, message);
      await unload(name, slot, false);
    },
    async closeAll(code, message) {
      const all = [...slots.entries()];
      for (const [, slot] of all) {
        const room = slot.room;
        if (room) for (const p of [...room.peers]) p.close(code, message);
      }
      await Promise.all(all.map(([name, slot]) => unload(name, slot, true)));
      await Promise.all([...unloading.values()]);
    },
  };
  return manager;
};

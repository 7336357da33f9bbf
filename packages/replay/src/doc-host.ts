import type { CacheState, ConversationLog, EntryId, HiddenState } from "@ctxsync/core";
import { localLeaseService, type LeaseService } from "./lease.js";
import type { ReplayHost } from "./replayer.js";

export interface DocHostOptions {
  readonly log: ConversationLog;
  readonly cache: CacheState;
  readonly hidden?: HiddenState;
  readonly device: string;
  readonly conversation: string;
  readonly now?: () => number;
  /** The lease's compare-and-set (default: on this `C/cache`, exact for a single device). */
  readonly leases?: LeaseService;
  /** Every C/cache mutation goes through this (a session makes it durable and checks scopes); default: run it. */
  readonly write?: (fn: () => unknown) => unknown;
}

/** A replay host over open documents: `C` (the log), `C/cache` and, with the hidden scope, `C/hidden`. */
export const docHost = (o: DocHostOptions): ReplayHost => {
  const write = o.write ?? ((fn: () => unknown) => fn());
  const now = o.now ?? Date.now;
  return {
    device: o.device,
    conversation: o.conversation,
    now,
    handles: () => o.cache.handles(),
    putHandle: (h) => write(() => o.cache.putHandle(h)),
    removeHandle: (k) => write(() => o.cache.removeHandle(k)),
    recordUsage: (r) => write(() => o.cache.recordUsage({ ...r, device: o.device, time: r.time ?? now() })),
    rebuildLease: (k) => o.cache.rebuildLease(k),
    onCacheChange: (fn) => o.cache.onChange(fn),
    leases: o.leases ?? localLeaseService(o.cache, now),
    path: (entry) => o.log.path(entry),
    head: (branch) => o.log.branch(branch)?.head,
    prefixHash: (entry) => o.log.prefixHash(entry),
    ...(o.hidden ? { hidden: (id: EntryId) => o.hidden!.blobs(id) } : {}),
  };
};

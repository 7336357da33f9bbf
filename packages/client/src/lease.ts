import { syncError } from "@ctxsync/protocol";
import type { LocalPresence } from "./local-presence.js";
import { describeHolder, leaseHolder, type Peer } from "./presence.js";
import type { Lease, LeaseEvent, SyncStatus } from "./session-types.js";

/**
 * The drive lease: one driver per branch, claimed through presence (awareness), renewed while
 * alive, decided by the same tie-break on every device (`leaseHolder`). A holder that sees another
 * device win loses the lease; a holder that goes offline loses it too (the others saw it go) and
 * claims it afresh once synced again.
 */
export interface LeaseKeeper {
  /** Claim `branch`; throws SyncError `conflict` naming the holder. */
  drive(branch: string): Promise<Lease>;
  holder(branch: string): Peer | undefined;
  /** Throws SyncError `conflict` when another device drives `branch`. */
  assertDriver(branch: string): void;
  /** Presence changed: a lease we hold may have been lost. */
  presenceChanged(): void;
  /** The session's sync status changed. */
  statusChanged(status: SyncStatus): void;
  /** Release the lease held, if any (on close). */
  release(): void;
}

export interface LeaseOptions {
  readonly presence: LocalPresence;
  readonly device: string;
  readonly now: () => number;
  readonly ttlMs: number;
  readonly settleMs: number;
  readonly status: () => SyncStatus;
  /** Whether the session syncs with a server (without one there is nobody to wait for). */
  readonly syncing: () => boolean;
  readonly emit: (ev: LeaseEvent) => void;
  /** How a lost lease is claimed again once back online (the session's `drive`, with its checks). */
  readonly reclaim: (branch: string) => Promise<Lease>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const createLeaseKeeper = (o: LeaseOptions): LeaseKeeper => {
  const { presence, now } = o;
  let held: { branch: string; timer: ReturnType<typeof setInterval> } | undefined;
  /** A holder that went offline lost the lease (others saw it go); it claims afresh when back. */
  let reclaiming: string | undefined;

  const drop = (ev: LeaseEvent) => {
    if (!held) return;
    clearInterval(held.timer);
    held = undefined;
    presence.set({ drives: undefined });
    o.emit(ev);
  };
  const lease = (branch: string): Lease => ({ branch, device: o.device, release: () => held?.branch === branch && drop({ type: "released", branch }) });

  return {
    async drive(branch) {
      if (held?.branch === branch) return lease(branch);
      if (held) drop({ type: "released", branch: held.branch });
      // Just opened and still connecting: give the others' presence a moment to arrive first.
      for (const end = now() + 2_000; o.status() === "connecting" && now() < end; ) await sleep(25);
      const existing = leaseHolder(presence.peers(), branch, now());
      if (existing && !existing.self) throw syncError("conflict", `branch ${branch} is driven by ${describeHolder(existing)}`, { holder: existing });
      const claimedAt = now();
      presence.set({ drives: { branch, claimedAt, until: claimedAt + o.ttlMs } });
      // Let competing claims arrive; then every device applies the same tie-break.
      if (o.syncing()) await sleep(o.settleMs);
      const winner = leaseHolder(presence.peers(), branch, now());
      if (!winner?.self) {
        if (presence.state().drives?.claimedAt === claimedAt) presence.set({ drives: undefined });
        throw syncError("conflict", `branch ${branch} is driven by ${winner ? describeHolder(winner) : "another device"}`, winner ? { holder: winner } : {});
      }
      const timer = setInterval(() => {
        const d = presence.state().drives;
        if (d) presence.set({ drives: { ...d, until: now() + o.ttlMs } });
      }, Math.max(50, Math.floor(o.ttlMs / 3)));
      held = { branch, timer };
      o.emit({ type: "acquired", branch });
      return lease(branch);
    },
    holder: (branch) => leaseHolder(presence.peers(), branch, now()),
    assertDriver(branch) {
      const holder = leaseHolder(presence.peers(), branch, now());
      if (holder && !holder.self)
        throw syncError("conflict", `branch ${branch} is driven by ${describeHolder(holder)}: hand the input to the driver or fork`, { holder });
    },
    presenceChanged() {
      if (!held) return;
      const holder = leaseHolder(presence.peers(), held.branch, now());
      if (holder && !holder.self) drop({ type: "lost", branch: held.branch, holder });
    },
    statusChanged(status) {
      if (held && status === "offline") {
        const branch = held.branch;
        drop({ type: "lost", branch });
        reclaiming = branch;
      } else if (reclaiming !== undefined && status === "synced") {
        const branch = reclaiming;
        reclaiming = undefined;
        o.reclaim(branch).catch((e: unknown) => {
          const holder = (e as { details?: { holder?: Peer } }).details?.holder;
          o.emit({ type: "lost", branch, ...(holder ? { holder } : {}) });
        });
      }
    },
    release() {
      if (held) drop({ type: "released", branch: held.branch });
    },
  };
};

import { decideLease, type CacheState, type LeaseAnswer, type LeaseRequest, type RebuildLease } from "@ctxsync/core";
import { replayError } from "./errors.js";

/**
 * One rebuild per prefix (docs/replay.md, "One rebuild per prefix"). The decision is the sync
 * server's compare-and-set (`POST /v1/conversations/:id/cache/lease`, core's `decideLease`); this side
 * asks, keeps a conservative deadline on its own monotonic clock, and fences its completion.
 */
export interface LeaseService {
  request(req: LeaseRequest): Promise<LeaseAnswer>;
}

/**
 * A lease service for a single device with no server (a local-only session, a benchmark): the same
 * compare-and-set on the local `C/cache`. With one device there is nobody to race, so it is exact.
 */
export const localLeaseService = (cache: Pick<CacheState, "decideRebuildLease">, now: () => number = Date.now, graceMs = 0): LeaseService => ({
  request: async (req) => cache.decideRebuildLease(req, now(), graceMs),
});

/** An in-memory lease table (tests and benchmarks that have no C/cache document at hand). */
export const memoryLeaseService = (now: () => number = Date.now, graceMs = 0): LeaseService & { readonly table: Map<string, RebuildLease> } => {
  const table = new Map<string, RebuildLease>();
  return {
    table,
    request: async (req) => {
      const { answer, next } = decideLease(table.get(req.key), req, now(), graceMs);
      if (next) table.set(req.key, next);
      return answer;
    },
  };
};

export interface HeldLease {
  readonly key: string;
  readonly holder: string;
  /** The version the grant created: the fencing token for complete/release. */
  readonly version: number;
  /** Local monotonic time (ms) after which the holder must not start its rebuild. */
  readonly deadline: number;
}

export type AcquireResult =
  | { readonly granted: true; readonly lease: HeldLease }
  | { readonly granted: false; readonly reason: NonNullable<LeaseAnswer["reason"]>; readonly current: RebuildLease | null };

export interface AcquireOptions {
  readonly key: string;
  readonly holder: string;
  /** The lease version this device knew when it saw the eviction (read before the request that showed it). */
  readonly seenVersion: number;
  readonly ttlMs: number;
  /** Local monotonic clock (default performance.now). */
  readonly monotonic?: () => number;
  /**
   * Safety margin: the holder stops `margin` before the end of its hold as measured from *before* it
   * asked, so that clock-rate drift and the time to put the request on the wire fit inside the hold.
   */
  readonly marginMs?: number;
}

export const acquireLease = async (svc: LeaseService, o: AcquireOptions): Promise<AcquireResult> => {
  const mono = o.monotonic ?? (() => performance.now());
  const askedAt = mono();
  let answer: LeaseAnswer;
  try {
    answer = await svc.request({ op: "acquire", key: o.key, holder: o.holder, seenVersion: o.seenVersion, ttlMs: o.ttlMs });
  } catch (e) {
    throw replayError("lease-unavailable", `the rebuild lease could not be asked for: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!answer.granted || !answer.lease) return { granted: false, reason: answer.reason ?? "held", current: answer.lease };
  const margin = o.marginMs ?? Math.max(1000, Math.round(o.ttlMs * 0.1));
  // The server's hold ends `remainingMs` after its decision; its decision came after `askedAt`.
  const deadline = askedAt + (answer.remainingMs ?? o.ttlMs) - margin;
  return { granted: true, lease: { key: o.key, holder: o.holder, version: answer.lease.version, deadline } };
};

/** Whether the holder may still start its rebuild (checked immediately before sending it). */
export const withinDeadline = (l: HeldLease, monotonic: () => number = () => performance.now()): boolean => monotonic() < l.deadline;

/** Tell the server the rebuild is done (`complete`) or given up (`release`). Fenced: a taken-over lease answers `granted: false`. */
export const endLease = async (svc: LeaseService, l: HeldLease, op: "complete" | "release"): Promise<LeaseAnswer> =>
  svc.request({ op, key: l.key, holder: l.holder, version: l.version });

import type { GapKind } from "./gap-model.js";
import { decideKeepWarm, fixedKeepWarm, oracleKeepWarm, type WarmEconomics } from "./keep-warm.js";

/** What a keep-warm policy is told when a branch's cache is about to lapse. */
export interface KeepWarmQuestion {
  readonly branch: string;
  /** The gap under way: the last answer asked for tools (`tool`) or went back to the user (`user`). */
  readonly kind: GapKind;
  /** Time of the last request (its response), and of the lapse about to happen. */
  readonly lastRequestAt: number;
  readonly lapseAtMs: number;
  readonly economics: WarmEconomics;
  /** P(next request later than ms after the last one), from the session's own gaps. */
  readonly survival: (ms: number) => number;
  /** Idle time at which the provider drops the prefix whatever we do. */
  readonly hardStopMs?: number;
}

export type KeepWarmPolicy = (q: KeepWarmQuestion) => boolean;

export interface CtxsyncPolicyOptions {
  /** Never keep warm past this much idle time, per gap kind (default 3 h each; the return model stops far earlier almost always). */
  readonly maxIdleMs?: Partial<Record<GapKind, number>>;
  /**
   * A keep must be expected to save `margin` times what it costs (default 1: break-even). Above 1 the
   * warmer spends less and each warm-up pays back more, at the price of more misses (docs/replay.md).
   */
  readonly margin?: number;
}

export const DEFAULT_MAX_IDLE_MS: Readonly<Record<GapKind, number>> = { tool: 3 * 3_600_000, user: 3 * 3_600_000 };

/** ctxsync's policy: the look-ahead decision on the session's own return model (keep-warm.ts). */
export const ctxsyncPolicy = (o: CtxsyncPolicyOptions = {}): KeepWarmPolicy => {
  const maxIdle = { ...DEFAULT_MAX_IDLE_MS, ...o.maxIdleMs };
  const margin = o.margin ?? 1;
  return (q) =>
    decideKeepWarm({
      survival: q.survival,
      lapseAtMs: q.lapseAtMs,
      economics: { ...q.economics, keepCost: q.economics.keepCost * margin },
      maxIdleMs: maxIdle[q.kind],
      ...(q.hardStopMs !== undefined ? { hardStopMs: q.hardStopMs } : {}),
    }).keep;
};

/**
 * The fixed warmer existing tools ship: a ping before every expiry until the session has been idle
 * `maxIdleMs` (default 1 h) — and at least one, so that a TTL of an hour or more is kept once too.
 */
export const fixedPolicy = (maxIdleMs = 3_600_000): KeepWarmPolicy => (q) =>
  fixedKeepWarm(q.lapseAtMs, Math.max(maxIdleMs, q.lapseAtMs + 1 <= q.economics.windowMs * 1.5 ? q.lapseAtMs + 1 : 0)) && (q.hardStopMs === undefined || q.lapseAtMs < q.hardStopMs);

/** No warming. */
export const nonePolicy = (): KeepWarmPolicy => () => false;

/** Benchmarks only: a policy told when the next request of the branch comes (absolute time; undefined: never). */
export const oraclePolicy = (nextArrival: (branch: string, after: number) => number | undefined): KeepWarmPolicy => (q) => {
  const next = nextArrival(q.branch, q.lastRequestAt);
  return oracleKeepWarm(q.lapseAtMs, next === undefined ? undefined : next - q.lastRequestAt, q.economics, q.hardStopMs);
};

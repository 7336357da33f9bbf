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
  /** Never keep warm past this much idle time, per gap kind (default: tool 1 h, user 2 h). */
  readonly maxIdleMs?: Partial<Record<GapKind, number>>;
}

export const DEFAULT_MAX_IDLE_MS: Readonly<Record<GapKind, number>> = { tool: 3_600_000, user: 7_200_000 };

/** ctxsync's policy: the look-ahead decision on the session's own return model (keep-warm.ts). */
export const ctxsyncPolicy = (o: CtxsyncPolicyOptions = {}): KeepWarmPolicy => {
  const maxIdle = { ...DEFAULT_MAX_IDLE_MS, ...o.maxIdleMs };
  return (q) =>
    decideKeepWarm({
      survival: q.survival,
      lapseAtMs: q.lapseAtMs,
      economics: q.economics,
      maxIdleMs: maxIdle[q.kind],
      ...(q.hardStopMs !== undefined ? { hardStopMs: q.hardStopMs } : {}),
    }).keep;
};

/** The fixed warmer: a ping every TTL until the session has been idle `maxIdleMs` (default 1 h). */
export const fixedPolicy = (maxIdleMs = 3_600_000): KeepWarmPolicy => (q) => fixedKeepWarm(q.lapseAtMs, maxIdleMs) && (q.hardStopMs === undefined || q.lapseAtMs < q.hardStopMs);

/** No warming. */
export const nonePolicy = (): KeepWarmPolicy => () => false;

/** Benchmarks only: a policy told when the next request of the branch comes (absolute time; undefined: never). */
export const oraclePolicy = (nextArrival: (branch: string, after: number) => number | undefined): KeepWarmPolicy => (q) => {
  const next = nextArrival(q.branch, q.lastRequestAt);
  return oracleKeepWarm(q.lapseAtMs, next === undefined ? undefined : next - q.lastRequestAt, q.economics, q.hardStopMs);
};

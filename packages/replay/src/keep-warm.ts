/**
 * Keep-warm, cost-aware (docs/replay.md, "When to keep a cache warm"). Pure functions on plain numbers.
 *
 * A cache about to lapse can be kept warm for one more window (a 1-token ping where a hit refreshes
 * the TTL; a TTL extension where the cache is an explicit resource) at `keepCost`. If the next request
 * comes while it is warm, it pays the cached price for the prefix instead of the miss price: the
 * saving is `benefit` = tokens × (miss price − read price). With q = P(the next request comes in this
 * window | none came so far), one keep is worth it when q × benefit > keepCost — the rule of the
 * issue. Keeping warm is a sequence of such choices, so the decision looks ahead: the value of keeping
 * through windows j = 0..J−1 is V_j = max(0, −keepCost + q_j·benefit + (1 − q_j)·V_{j+1}), V_J = 0,
 * and we keep now iff V_0 > 0. Where the return hazard falls with idle time (the usual case) this is
 * the one-window rule; where it rises (a periodic user) it keeps through a quiet window to reach a
 * likely one.
 */

export interface WarmEconomics {
  /** Money the next request saves if it finds the prefix warm instead of cold (tokens × (miss − read price)). */
  readonly benefit: number;
  /** Money one keep action costs (a ping: prefix × read price + warm output; an explicit cache: storage for the window). */
  readonly keepCost: number;
  /** How long one keep action keeps the prefix warm (ms). */
  readonly windowMs: number;
}

export interface KeepWarmInput {
  /** P(the next request comes later than `ms` after the last request). */
  readonly survival: (ms: number) => number;
  /** Idle time (since the last request) at which the cache lapses unless kept: the decision time. */
  readonly lapseAtMs: number;
  readonly economics: WarmEconomics;
  /** Never keep warm beyond this idle time (a bound on any model's optimism). */
  readonly maxIdleMs: number;
  /** Idle time at which the provider drops the prefix whatever we do (a maximum lifetime); default none. */
  readonly hardStopMs?: number;
  /** Look at most this many windows ahead (default 48). */
  readonly maxWindows?: number;
}

export interface KeepWarmDecision {
  readonly keep: boolean;
  /** Expected net saving of keeping warm from now on (0 when not keeping). */
  readonly value: number;
  /** P(the next request comes within the next window | none so far). */
  readonly pReturnInWindow: number;
  /** Windows looked at. */
  readonly windows: number;
  readonly reason: "worth-it" | "not-worth-it" | "idle-bound" | "hard-stop" | "no-benefit";
}

export const decideKeepWarm = (i: KeepWarmInput): KeepWarmDecision => {
  const { benefit, keepCost, windowMs } = i.economics;
  const s0 = i.lapseAtMs;
  const base = { value: 0, pReturnInWindow: 0, windows: 0 };
  if (!(benefit > 0) || !(windowMs > 0)) return { ...base, keep: false, reason: "no-benefit" };
  if (s0 >= i.maxIdleMs) return { ...base, keep: false, reason: "idle-bound" };
  if (i.hardStopMs !== undefined && s0 >= i.hardStopMs) return { ...base, keep: false, reason: "hard-stop" };
  const end = Math.min(i.maxIdleMs, i.hardStopMs ?? Number.POSITIVE_INFINITY);
  const J = Math.max(1, Math.min(i.maxWindows ?? 48, Math.ceil((end - s0) / windowMs)));
  const q: number[] = [];
  let prev = i.survival(s0);
  for (let j = 0; j < J; j++) {
    const to = Math.min(end, s0 + (j + 1) * windowMs);
    const next = i.survival(to);
    q.push(prev > 0 ? Math.max(0, Math.min(1, (prev - next) / prev)) : 0);
    prev = next;
  }
  let v = 0;
  for (let j = J - 1; j >= 0; j--) v = Math.max(0, -keepCost + q[j]! * benefit + (1 - q[j]!) * v);
  return { keep: v > 0, value: v, pReturnInWindow: q[0]!, windows: J, reason: v > 0 ? "worth-it" : "not-worth-it" };
};

/**
 * The oracle's choice, for benchmarks: it knows when the next request comes (`nextAtMs` after the
 * last request; undefined: never). Keeping until then costs one keep per window; it keeps iff that
 * is cheaper than the miss.
 */
export const oracleKeepWarm = (lapseAtMs: number, nextAtMs: number | undefined, e: WarmEconomics, hardStopMs?: number): boolean => {
  if (nextAtMs === undefined || nextAtMs <= lapseAtMs) return false;
  if (hardStopMs !== undefined && nextAtMs > hardStopMs) return false;
  const keeps = Math.ceil((nextAtMs - lapseAtMs) / e.windowMs);
  return keeps * e.keepCost < e.benefit;
};

/** The fixed policy existing warmers use: keep warm every window until the session has been idle `maxIdleMs`. */
export const fixedKeepWarm = (lapseAtMs: number, maxIdleMs: number): boolean => lapseAtMs < maxIdleMs;

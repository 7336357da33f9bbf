import { replayError } from "./errors.js";

/**
 * How long until a session sends its next request: an online survival estimate of the session's
 * own inter-request gaps, with a prior (docs/replay.md, "The return model").
 *
 * Two kinds of gap, because they behave nothing alike:
 * - `tool`: the last answer asked for tools; the agent sends the results when they finish (seconds,
 *   sometimes minutes), almost surely;
 * - `user`: the last answer went back to a human, who may answer in seconds, in hours, or never.
 *
 * S(x) = P(no request within x of the last one) = pEnd + (1 − pEnd) · Sc(x), where
 * - pEnd, the chance that no request follows at all, is the mean of a Beta(endA, endB + n) posterior
 *   (n gaps of this kind seen to end with a request: a geometric model of when a session stops);
 * - Sc is a kernel estimate over the logarithms of the observed gaps (a log-normal kernel per gap,
 *   bandwidth `bandwidth`), mixed with the prior as `weight` pseudo-observations. The prior is
 *   log-logistic, S(x) = 1 / (1 + (x / median)^shape): heavy-tailed, because the times between human
 *   actions are (Barabási, "The origin of bursts and heavy tails in human dynamics", Nature 2005), and
 *   so are tool runs (most take seconds, a test suite or a build takes many minutes). With shape 1 a
 *   person idle for x is back within the next w with probability w / (median + x + w).
 * Nothing in it is fitted to any benchmark: a session with no history follows the prior, and each
 * completed gap moves the estimate toward what this session does.
 */

export type GapKind = "tool" | "user";

export interface GapPrior {
  /** Median gap (ms) and shape of the prior's log-logistic law (smaller: heavier tail). */
  readonly medianMs: number;
  readonly shape: number;
  /** How many observations the prior counts for in the continuous part. */
  readonly weight: number;
  /** Beta prior of the probability that no request follows (mean endA / (endA + endB)). */
  readonly endA: number;
  readonly endB: number;
}

export const DEFAULT_GAP_PRIORS: Readonly<Record<GapKind, GapPrior>> = {
  // A tool run: seconds typically, a test suite or a build minutes (0.7 % of runs past 5 min); an agent
  // that stops for good while a tool runs is rare (1 in 500).
  tool: { medianMs: 5_000, shape: 1.2, weight: 2, endA: 1, endB: 499 },
  // A person: median 5 min, heavy tail (a third past 10 min, one in seven past 30 min); one session in eight ends here.
  user: { medianMs: 300_000, shape: 1, weight: 2, endA: 1, endB: 7 },
};

export interface GapModelOptions {
  readonly priors?: Partial<Record<GapKind, GapPrior>>;
  /** Kernel bandwidth in natural-log units (0.5: a gap of 60 s informs about 36–100 s). */
  readonly bandwidth?: number;
  /** Only the most recent gaps are kept (older behaviour matters less, and cost stays bounded). */
  readonly memory?: number;
}

export interface GapModel {
  /** A request came `gapMs` after the previous one, which had left a gap of this kind. */
  observe(kind: GapKind, gapMs: number): void;
  /** P(the next request comes later than `ms` after the last one). Non-increasing; tends to pEnd. */
  survival(kind: GapKind, ms: number): number;
  /** P(no request follows at all). */
  pEnd(kind: GapKind): number;
  /** Gaps seen so far, per kind. */
  count(kind: GapKind): number;
  /** Plain data, to persist and restore the estimate. */
  toJSON(): GapModelState;
}

export interface GapModelState {
  readonly tool: readonly number[];
  readonly user: readonly number[];
}

// Standard normal upper tail, 1 − Φ(z) (Abramowitz–Stegun 7.1.26 on erfc; |error| < 1.5e-7).
const upperTail = (z: number): number => {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
};

const MIN_GAP_MS = 1;

export const createGapModel = (opts: GapModelOptions = {}, state?: GapModelState): GapModel => {
  const priors: Record<GapKind, GapPrior> = { tool: { ...DEFAULT_GAP_PRIORS.tool, ...opts.priors?.tool }, user: { ...DEFAULT_GAP_PRIORS.user, ...opts.priors?.user } };
  const h = opts.bandwidth ?? 1;
  const memory = opts.memory ?? 256;
  for (const kind of ["tool", "user"] as const) {
    const p = priors[kind];
    if (!(p.medianMs > 0) || !(p.shape > 0) || !(p.weight >= 0) || !(p.endA >= 0) || !(p.endB >= 0) || p.endA + p.endB <= 0)
      throw replayError("bad-request", `invalid ${kind} gap prior ${JSON.stringify(p)}`);
  }
  if (!(h > 0) || !(memory >= 1)) throw replayError("bad-request", "bandwidth and memory must be positive");
  // Logarithms of the observed gaps.
  const logs: Record<GapKind, number[]> = {
    tool: (state?.tool ?? []).filter((g) => g > 0).map((g) => Math.log(g)).slice(-memory),
    user: (state?.user ?? []).filter((g) => g > 0).map((g) => Math.log(g)).slice(-memory),
  };
  const pEnd = (kind: GapKind) => {
    const p = priors[kind];
    return p.endA / (p.endA + p.endB + logs[kind].length);
  };
  return {
    observe(kind, gapMs) {
      if (!Number.isFinite(gapMs) || gapMs < 0) throw replayError("bad-request", `a gap must be a finite number ≥ 0, got ${gapMs}`);
      const list = logs[kind];
      list.push(Math.log(Math.max(MIN_GAP_MS, gapMs)));
      if (list.length > memory) list.shift();
    },
    survival(kind, ms) {
      if (ms <= 0) return 1;
      if (!Number.isFinite(ms)) return pEnd(kind);
      const p = priors[kind];
      const lx = Math.log(ms);
      let sum = p.weight / (1 + Math.exp(p.shape * (lx - Math.log(p.medianMs))));
      for (const l of logs[kind]) sum += upperTail((lx - l) / h);
      const sc = sum / (p.weight + logs[kind].length);
      const e = pEnd(kind);
      return e + (1 - e) * sc;
    },
    pEnd,
    count: (kind) => logs[kind].length,
    toJSON: () => ({ tool: logs.tool.map((l) => Math.round(Math.exp(l))), user: logs.user.map((l) => Math.round(Math.exp(l))) }),
  };
};

import { createGapModel, type GapKind, type GapModelOptions } from "../gap-model.js";
import { decideKeepWarm, fixedKeepWarm, oracleKeepWarm, type WarmEconomics } from "../keep-warm.js";

/**
 * A fast, analytic check of keep-warm policies (no provider, no simulator): a session is a list of
 * gaps after its requests (undefined: the session ended there). After a request the prefix is warm
 * for one window; at each lapse the policy may keep it warm for another window at `keepCost`; a
 * request that finds it cold pays `benefit` more than one that finds it warm. The cost returned is
 * the part of the bill the policies differ in: keeps + misses. Used by tests over many gap laws.
 */
export interface Gap {
  readonly kind: GapKind;
  /** ms until the next request; undefined: none comes. */
  readonly ms: number | undefined;
}

export type PolicyName = "ctxsync" | "fixed" | "none" | "oracle";

export interface SimOptions {
  readonly economics: WarmEconomics;
  readonly maxIdleMs: number;
  readonly gapModel?: GapModelOptions;
}

export interface SimResult {
  readonly cost: number;
  readonly keeps: number;
  readonly misses: number;
  readonly hits: number;
  /** Money the keeps saved: hits after at least one keep × benefit. */
  readonly saved: number;
}

export const simulateSession = (gaps: readonly Gap[], policy: PolicyName, o: SimOptions): SimResult => {
  const e = o.economics;
  const model = createGapModel(o.gapModel);
  let keeps = 0;
  let misses = 0;
  let hits = 0;
  let saved = 0;
  for (const g of gaps) {
    let warmUntil = e.windowMs;
    let kept = 0;
    for (;;) {
      if (g.ms !== undefined && g.ms <= warmUntil) break;
      const lapseAt = warmUntil;
      const keep =
        policy === "none"
          ? false
          : policy === "fixed"
            ? fixedKeepWarm(lapseAt, o.maxIdleMs)
            : policy === "oracle"
              ? oracleKeepWarm(lapseAt, g.ms, e)
              : decideKeepWarm({ survival: (ms) => model.survival(g.kind, ms), lapseAtMs: lapseAt, economics: e, maxIdleMs: o.maxIdleMs }).keep;
      if (!keep) break;
      kept++;
      warmUntil += e.windowMs;
    }
    keeps += kept;
    if (g.ms === undefined) break;
    if (g.ms <= warmUntil) {
      hits++;
      if (kept > 0) saved += e.benefit;
    } else misses++;
    model.observe(g.kind, g.ms);
  }
  return { cost: keeps * e.keepCost + misses * e.benefit, keeps, misses, hits, saved };
};

export const simulate = (sessions: readonly (readonly Gap[])[], policy: PolicyName, o: SimOptions): SimResult => {
  const total = { cost: 0, keeps: 0, misses: 0, hits: 0, saved: 0 };
  for (const s of sessions) {
    const r = simulateSession(s, policy, o);
    total.cost += r.cost;
    total.keeps += r.keeps;
    total.misses += r.misses;
    total.hits += r.hits;
    total.saved += r.saved;
  }
  return total;
};

import { describe, expect, it } from "vitest";
import { extendEconomics, missPrice, pingEconomics, type ProviderFacts } from "./economics.js";
import { createGapModel, DEFAULT_GAP_PRIORS } from "./gap-model.js";
import { decideKeepWarm, fixedKeepWarm, oracleKeepWarm, type WarmEconomics } from "./keep-warm.js";
import { simulate, type Gap, type PolicyName } from "./testing/policy-sim.js";
import { createRng, seedFromEnv } from "@ctxsync/testkit";

const MIN = 60_000;
const SONNET: ProviderFacts = {
  prices: { input: 3, cachedRead: 0.3, cacheWrite5m: 3.75, cacheWrite1h: 6, output: 15 },
  cache: { ttlMs: { default: 5 * MIN, "5m": 5 * MIN, "1h": 60 * MIN }, refreshOnHit: true, minCacheableTokens: 1024, granularity: 1, warmOutputTokens: 1 },
};

describe("gap model: an online survival estimate with a prior", () => {
  it("is a survival function: 1 at 0, non-increasing, tending to P(end)", () => {
    const m = createGapModel();
    let prev = 1;
    expect(m.survival("user", 0)).toBe(1);
    for (let ms = 100; ms < 1e9; ms *= 1.7) {
      const s = m.survival("user", ms);
      expect(s).toBeLessThanOrEqual(prev + 1e-12);
      prev = s;
    }
    expect(m.survival("user", Infinity)).toBeCloseTo(DEFAULT_GAP_PRIORS.user.endA / (DEFAULT_GAP_PRIORS.user.endA + DEFAULT_GAP_PRIORS.user.endB));
    expect(prev).toBeGreaterThan(m.pEnd("user") - 1e-6);
  });

  it("moves toward what the session does: many 40-minute gaps make a 30-minute idle a likely return", () => {
    const m = createGapModel();
    const before = m.survival("user", 30 * MIN) - m.survival("user", 45 * MIN);
    for (let i = 0; i < 20; i++) m.observe("user", 40 * MIN + i * 10_000);
    const after = m.survival("user", 30 * MIN) - m.survival("user", 45 * MIN);
    expect(after).toBeGreaterThan(before * 3);
    // Each completed gap is evidence that sessions go on: P(end) falls.
    expect(m.pEnd("user")).toBeLessThan(0.05);
    // Tool gaps are a separate estimate.
    expect(m.count("tool")).toBe(0);
    // Round-trips through plain data.
    const again = createGapModel({}, m.toJSON());
    expect(again.survival("user", 35 * MIN)).toBeCloseTo(m.survival("user", 35 * MIN), 3);
  });

  it("refuses nonsense", () => {
    expect(() => createGapModel().observe("user", Number.NaN)).toThrow(/gap/);
    expect(() => createGapModel({ priors: { tool: { ...DEFAULT_GAP_PRIORS.tool, shape: 0 } } })).toThrow(/prior/);
  });
});

describe("keep-warm decision", () => {
  const e: WarmEconomics = { benefit: 1, keepCost: 0.1, windowMs: 5 * MIN };
  const certainAt = (at: number) => (ms: number) => (ms < at ? 1 : 0);

  it("keeps iff q × benefit beats the keep's cost when the hazard falls", () => {
    // Exponential gaps (constant hazard): q per window = 1 − e^(−W/τ).
    const tau = 20 * MIN;
    const q = 1 - Math.exp(-(5 * MIN) / tau); // 0.22
    const surv = (ms: number) => Math.exp(-ms / tau);
    expect(decideKeepWarm({ survival: surv, lapseAtMs: 5 * MIN, economics: { ...e, keepCost: q * 0.9 }, maxIdleMs: 10 * 60 * MIN }).keep).toBe(true);
    expect(decideKeepWarm({ survival: surv, lapseAtMs: 5 * MIN, economics: { ...e, keepCost: q * 1.1 }, maxIdleMs: 10 * 60 * MIN }).keep).toBe(false);
  });

  it("looks ahead: keeps through a quiet window when a return is due later (rising hazard)", () => {
    const d = decideKeepWarm({ survival: certainAt(18 * MIN), lapseAtMs: 5 * MIN, economics: e, maxIdleMs: 60 * MIN });
    expect(d.pReturnInWindow).toBe(0);
    expect(d.keep).toBe(true); // 3 keeps (0.3) < benefit 1
    expect(decideKeepWarm({ survival: certainAt(18 * MIN), lapseAtMs: 5 * MIN, economics: { ...e, keepCost: 0.4 }, maxIdleMs: 60 * MIN }).keep).toBe(false);
  });

  it("stops at the idle bound and at a provider's hard stop, and never keeps without a benefit", () => {
    expect(decideKeepWarm({ survival: certainAt(70 * MIN), lapseAtMs: 65 * MIN, economics: e, maxIdleMs: 60 * MIN }).reason).toBe("idle-bound");
    expect(decideKeepWarm({ survival: certainAt(70 * MIN), lapseAtMs: 65 * MIN, economics: e, maxIdleMs: 600 * MIN, hardStopMs: 60 * MIN }).reason).toBe("hard-stop");
    expect(decideKeepWarm({ survival: certainAt(7 * MIN), lapseAtMs: 5 * MIN, economics: { ...e, benefit: 0 }, maxIdleMs: 60 * MIN }).keep).toBe(false);
  });

  it("the oracle keeps exactly when the keeps up to the known arrival cost less than the miss", () => {
    expect(oracleKeepWarm(5 * MIN, 18 * MIN, e)).toBe(true);
    expect(oracleKeepWarm(5 * MIN, undefined, e)).toBe(false);
    expect(oracleKeepWarm(5 * MIN, 200 * MIN, e)).toBe(false);
    expect(fixedKeepWarm(5 * MIN, 60 * MIN)).toBe(true);
    expect(fixedKeepWarm(65 * MIN, 60 * MIN)).toBe(false);
  });

  it("economics from facts: a ping reads the prefix, a miss writes it; an explicit cache pays storage", () => {
    const p = pingEconomics(SONNET, 100_000);
    expect(p.benefit).toBeCloseTo((100_000 * (3.75 - 0.3)) / 1e6);
    expect(p.keepCost).toBeCloseTo((100_000 * 0.3 + 15) / 1e6);
    expect(p.windowMs).toBe(5 * MIN);
    expect(pingEconomics(SONNET, 100_000, { ttlClass: "1h" }).windowMs).toBe(60 * MIN);
    expect(missPrice(SONNET.prices, "1h")).toBe(6);
    const gem: ProviderFacts = { prices: { input: 0.3, cachedRead: 0.03, cacheWrite5m: 0.3, cacheWrite1h: 0.3, output: 2.5, storagePerHour: 1 }, cache: { ...SONNET.cache, refreshOnHit: false } };
    expect(pingEconomics(gem, 1000).windowMs).toBe(0); // pings do not extend a cache whose hits do not refresh it
    const x = extendEconomics(gem, 1_000_000, 30 * MIN);
    expect(x.keepCost).toBeCloseTo(0.5);
    expect(x.benefit).toBeCloseTo(0.27);
  });
});

describe("keep-warm across gap laws it was not tuned on (analytic, seeded)", () => {
  const seed = seedFromEnv(20_26);
  const rng = createRng(seed);
  const ln = (median: number, sigma: number) => median * Math.exp(sigma * Math.sqrt(-2 * Math.log(rng.next() || 1e-12)) * Math.cos(2 * Math.PI * rng.next()));
  const laws: Record<string, () => number> = {
    exponential: () => -Math.log(1 - rng.next()) * 10 * MIN,
    pareto: () => 30_000 / Math.pow(1 - rng.next(), 1 / 0.8),
    bimodal: () => (rng.chance(0.7) ? 30_000 : 120 * MIN),
    periodic: () => 12 * MIN,
    uniform: () => rng.next() * 20 * MIN,
    "always 3 h": () => 180 * MIN,
    "always 1 min": () => MIN,
    lognormal: () => ln(8 * MIN, 1),
  };
  const tool = () => (rng.chance(0.9) ? ln(3000, 0.9) : ln(4 * MIN, 1));
  const economics = { benefit: 3.45, keepCost: 0.3, windowMs: 290_000 }; // Anthropic 5 min, per token of prefix

  it(`never far above the better baseline, always below the worse, below both in sum (SEED=${seed})`, () => {
    const sum = { ctxsync: 0, fixed: 0, none: 0 };
    for (const [name, law] of Object.entries(laws)) {
      const sessions: Gap[][] = Array.from({ length: 100 }, () => {
        const g: Gap[] = Array.from({ length: rng.int(5, 40) }, () => (rng.chance(0.5) ? { kind: "user" as const, ms: law() } : { kind: "tool" as const, ms: tool() }));
        return rng.chance(0.3) ? [...g, { kind: "user" as const, ms: undefined }] : g;
      });
      const cost = (p: PolicyName) => simulate(sessions, p, { economics, maxIdleMs: p === "fixed" ? 60 * MIN : 180 * MIN }).cost;
      const c = cost("ctxsync");
      const f = cost("fixed");
      const n = cost("none");
      expect(c, `${name} (SEED=${seed}): ctxsync ${c.toFixed(1)}, fixed ${f.toFixed(1)}, none ${n.toFixed(1)}`).toBeLessThanOrEqual(1.15 * Math.min(f, n));
      expect(c, `${name} (SEED=${seed})`).toBeLessThan(Math.max(f, n));
      expect(c, `${name} (SEED=${seed})`).toBeGreaterThanOrEqual(cost("oracle"));
      sum.ctxsync += c;
      sum.fixed += f;
      sum.none += n;
    }
    expect(sum.ctxsync).toBeLessThan(sum.fixed);
    expect(sum.ctxsync).toBeLessThan(sum.none);
  });
});

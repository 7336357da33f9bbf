import { createRng } from "@ctxsync/testkit";
import { simulate, type Gap } from "./policy-sim.js";
import { DEFAULT_GAP_PRIORS } from "../gap-model.js";
const MIN = 60000;
const rng = createRng(7);
const ln = (med: number, s: number) => { const u1 = rng.next() || 1e-12, u2 = rng.next(); return med * Math.exp(s * Math.sqrt(-2*Math.log(u1))*Math.cos(2*Math.PI*u2)); };
const par = (xm: number, a: number) => xm / Math.pow(1 - rng.next(), 1 / a);
const laws: Record<string, () => number> = {
  bench: () => { const u = rng.next(); return u < 0.4 ? ln(20000, 0.7) : u < 0.75 ? ln(3*MIN, 0.9) : par(15*MIN, 1.1); },
  exp10: () => -Math.log(1 - rng.next()) * 10 * MIN,
  pareto: () => par(30_000, 0.8),
  bimodal: () => (rng.chance(0.7) ? 30_000 : 120 * MIN),
  periodic12: () => 12 * MIN,
  uniform20: () => rng.next() * 20 * MIN,
  long3h: () => 180 * MIN,
  short1m: () => MIN,
  ln8: () => ln(8*MIN, 1),
};
const tool = () => rng.chance(0.9) ? ln(3000, 0.9) : ln(4*MIN, 1.0);
const mk = (law: () => number, userFrac: number): Gap[][] => {
  const sessions: Gap[][] = [];
  for (let s = 0; s < 150; s++) {
    const g: Gap[] = [];
    const n = rng.int(5, 60);
    for (let i = 0; i < n; i++) g.push(rng.chance(userFrac) ? { kind: "user", ms: law() } : { kind: "tool", ms: tool() });
    if (rng.chance(0.4)) g.push({ kind: "user", ms: undefined });
    sessions.push(g);
  }
  return sessions;
};
const datasets = Object.entries(laws).flatMap(([name, law]) => [[`${name}/u30`, mk(law, 0.3)], [`${name}/u90`, mk(law, 0.9)]] as const);
const configs: Record<string, any> = { current: {} };
const POL = (process.env.POL ?? "ctxsync") as any;
for (const [cname, gm] of Object.entries(configs)) {
  let worstVsBest = 0, sumRatio = 0, n = 0, lose = 0; const worst: string[] = [];
  for (const [ename, economics] of Object.entries({ anth: { benefit: 3.45, keepCost: 0.3, windowMs: 290000 }, oai: { benefit: 2.25, keepCost: 0.25, windowMs: 290000 } })) {
    for (const [dname, sessions] of datasets) {
      const o = { economics, maxIdleMs: 120 * MIN, gapModel: gm };
      const r = Object.fromEntries((["oracle", "fixed", "none"] as const).map((p) => [p, simulate(sessions, p, { ...o, maxIdleMs: p === "fixed" ? 60*MIN : o.maxIdleMs })])) as any;
      r.ctxsync = simulate(sessions, POL, { ...o, skiFraction: Number(process.env.SKI ?? 0.5) });
      const best = Math.min(r.fixed!.cost, r.none!.cost);
      const ratio = r.ctxsync!.cost / Math.max(best, 1e-9);
      if (ratio > 1.0001) { lose++; worst.push(`${ename}:${dname}=${ratio.toFixed(2)}`); }
      worstVsBest = Math.max(worstVsBest, ratio); sumRatio += r.ctxsync!.cost / Math.max(r.oracle!.cost, 1e-9); n++;
    }
  }
  console.log(cname.padEnd(10), "worst ctx/best-baseline", worstVsBest.toFixed(2), "losses", lose, "mean ctx/oracle(extra)", (sumRatio/n).toFixed(2), worst.slice(0,6).join(" "));
}

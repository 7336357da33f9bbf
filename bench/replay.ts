// `pnpm bench replay` — replay's economics on the provider simulators, and its rebuilds on the real
// local engine (docs/replay.md, "Benchmark"). JSON lines; the last one is the summary.
//
//   pnpm bench replay [--traces N] [--seed S] [--families openai,anthropic,gemini,deepseek] [--skip-local] [--skip-devices]
import { createAnthropicTransport, createDeepSeekTransport, createGeminiTransport, createOpenAIChatTransport, type Transport } from "@ctxsync/providers";
import { createAnthropicSimulator, createDeepSeekSimulator, createGeminiSimulator, createOpenAISimulator } from "@ctxsync/testkit";
import { localBench } from "./replay/local.js";
import { devicesBench } from "./replay/devices.js";
import { POLICIES, runTrace, type Family, type PolicyName } from "./replay/sim-run.js";
import { buildSession, loadTraces } from "./replay/workload.js";

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const flag = (name: string) => process.argv.includes(`--${name}`);
const seed = Number(arg("seed") ?? 1);
const traceLimit = arg("traces") !== undefined ? Number(arg("traces")) : undefined;
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

const key = { apiKey: "bench", maxRetries: 0 } as const;
const FAMILIES: Record<string, Family> = {
  openai: {
    name: "openai",
    ctx: (s) => ({ provider: "openai-chat", model: "gpt-5.4", ...(s.system !== undefined ? { system: s.system } : {}), tools: s.tools }),
    simulator: (clock, script) => createOpenAISimulator({ clock, script: (r) => script(r.warm) }),
    transport: (sim, clock): Transport => createOpenAIChatTransport({ ...key, baseURL: "http://sim/v1", fetch: sim.fetch, now: clock.now }),
  },
  anthropic: {
    name: "anthropic",
    ctx: (s) => ({ provider: "anthropic", model: "claude-sonnet-4-6", ...(s.system !== undefined ? { system: s.system } : {}), tools: s.tools }),
    simulator: (clock, script) => createAnthropicSimulator({ clock, script: (r) => script(r.warm) }),
    transport: (sim, clock): Transport => createAnthropicTransport({ ...key, baseURL: "http://sim", fetch: sim.fetch, now: clock.now }),
  },
  gemini: {
    name: "gemini",
    ctx: (s) => ({ provider: "gemini", model: "gemini-2.5-flash", ...(s.system !== undefined ? { system: s.system } : {}), tools: s.tools }),
    simulator: (clock, script) => createGeminiSimulator({ clock, script: (r) => script(r.warm) }),
    transport: (sim, clock): Transport => createGeminiTransport({ ...key, baseURL: "http://sim", fetch: sim.fetch, now: clock.now }),
  },
  deepseek: {
    name: "deepseek",
    ctx: (s) => ({ provider: "deepseek", model: "deepseek-chat", ...(s.system !== undefined ? { system: s.system } : {}), tools: s.tools }),
    simulator: (clock, script) => createDeepSeekSimulator({ clock, script: (r) => script(r.warm) }),
    transport: (sim, clock): Transport => createDeepSeekTransport({ ...key, baseURL: "http://sim", fetch: sim.fetch, now: clock.now }),
  },
};

const families = (arg("families") ?? Object.keys(FAMILIES).join(",")).split(",").filter((f) => FAMILIES[f]);
const traces = loadTraces(traceLimit);
const START = Date.UTC(2026, 0, 5, 9);
const summary: Record<string, unknown> = { bench: "replay", traces: traces.length, seed };
const perFamily: Record<string, Record<string, number>> = {};
let worstCtx = 0;
let worstMargin = Infinity;
const usd = { ctxsync: 0, fixed: 0, none: 0, oracle: 0 };
let saved = 0;
let spentWarm = 0;

for (const fname of families) {
  const family = FAMILIES[fname]!;
  const t0 = performance.now();
  const total = Object.fromEntries(POLICIES.map((p) => [p, { cost: 0, turnCost: 0, warmCost: 0, turns: 0, warmups: 0, misses: 0 }])) as Record<PolicyName, { cost: number; turnCost: number; warmCost: number; turns: number; warmups: number; misses: number }>;
  let famSaved = 0;
  for (const [i, trace] of traces.entries()) {
    const session = buildSession(trace, seed * 1000 + i, START);
    const r = await runTrace(session, family, START);
    for (const p of POLICIES) {
      const t = total[p];
      t.cost += r[p].cost;
      t.turnCost += r[p].turnCost;
      t.warmCost += r[p].warmCost;
      t.turns += r[p].turns;
      t.warmups += r[p].warmups;
      t.misses += r[p].misses;
    }
    // What ctxsync's warm-ups saved: the same turns cost this much more with no warming.
    famSaved += r.none.turnCost - r.ctxsync.turnCost;
  }
  const o = total.oracle.cost;
  const line = {
    family: fname,
    costOverOracle: round(total.ctxsync.cost / o),
    costOverOracleFixed: round(total.fixed.cost / o),
    costOverOracleNone: round(total.none.cost / o),
    warmupRoi: round(total.ctxsync.warmCost > 0 ? famSaved / total.ctxsync.warmCost : 0, 3),
    usd: Object.fromEntries(POLICIES.map((p) => [p, round(total[p].cost, 2)])),
    warmups: Object.fromEntries(POLICIES.map((p) => [p, total[p].warmups])),
    warmupUsd: Object.fromEntries(POLICIES.map((p) => [p, round(total[p].warmCost, 2)])),
    misses: Object.fromEntries(POLICIES.map((p) => [p, total[p].misses])),
    turns: total.ctxsync.turns,
    seconds: round((performance.now() - t0) / 1000, 1),
  };
  out(line);
  perFamily[fname] = { costOverOracle: line.costOverOracle, costOverOracleFixed: line.costOverOracleFixed, costOverOracleNone: line.costOverOracleNone, warmupRoi: line.warmupRoi };
  worstCtx = Math.max(worstCtx, line.costOverOracle);
  worstMargin = Math.min(worstMargin, Math.min(line.costOverOracleFixed, line.costOverOracleNone) - line.costOverOracle);
  saved += famSaved;
  spentWarm += total.ctxsync.warmCost;
  for (const p of POLICIES) usd[p] += total[p].cost;
}

summary.families = perFamily;
// Over all families (their bills added up), then the worst family for ctxsync, and whether it is below both baselines everywhere.
summary.costOverOracle = round(usd.ctxsync / usd.oracle);
summary.costOverOracleFixed = round(usd.fixed / usd.oracle);
summary.costOverOracleNone = round(usd.none / usd.oracle);
summary.worstFamilyCostOverOracle = round(worstCtx);
summary.belowBothOnEveryFamily = worstMargin > 0;
summary.warmupRoi = round(spentWarm > 0 ? saved / spentWarm : 0, 3);

if (!flag("skip-local")) {
  const local = await localBench({ seed, out });
  Object.assign(summary, local);
}
if (!flag("skip-devices")) {
  const dev = await devicesBench({ out });
  Object.assign(summary, dev);
}
out(summary);

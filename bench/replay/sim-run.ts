// One trace, one provider family, four keep-warm policies in lockstep on one virtual clock:
// ctxsync's, a fixed ping-every-TTL warmer, no warming, and an oracle that knows the next arrival.
// Every policy has its own simulator (its own provider-side cache and bill) and its own replay loop
// (its own C/cache); the turns are the same requests, compiled once.
import * as Y from "yjs";
import { openCache, type TranscriptMessage } from "@ctxsync/core";
import { compile, type CompileResult, type RenderContext } from "@ctxsync/compile";
import type { Transport } from "@ctxsync/providers";
import { createReplayer, ctxsyncPolicy, docHost, fixedPolicy, nonePolicy, oraclePolicy, type KeepWarmPolicy, type ReplayEvent, type Replayer } from "@ctxsync/replay";
import { createVirtualClock, type ProviderSimulator, type ScriptAnswer, type VirtualClock } from "@ctxsync/testkit";
import type { Session } from "./workload.js";

export const POLICIES = ["ctxsync", "fixed", "none", "oracle"] as const;
export type PolicyName = (typeof POLICIES)[number];

export interface Family {
  readonly name: string;
  readonly ctx: (s: Session) => RenderContext;
  readonly simulator: (clock: VirtualClock, script: (warm: boolean) => ScriptAnswer) => ProviderSimulator;
  readonly transport: (sim: ProviderSimulator, clock: VirtualClock) => Transport;
}

export interface PolicyTotals {
  cost: number;
  turnCost: number;
  warmCost: number;
  turns: number;
  warmups: number;
  misses: number;
  /** Per-turn cost, to compare policies turn by turn. */
  perTurn: number[];
  /** Turns whose request found less cached than the last request left: index, expected, got. */
  missAt: Array<[number, number, number]>;
}

/** How long after its last request a session's keep-warm loop is followed (every policy stops long before). */
const TAIL_MS = 7 * 24 * 3_600_000;

const answerOf = (m: TranscriptMessage): ScriptAnswer => ({
  text: m.content ?? "",
  ...(m.reasoning_content ? { reasoning: m.reasoning_content } : {}),
  ...(m.tool_calls?.length ? { toolCalls: m.tool_calls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments as string | Record<string, unknown> })) } : {}),
});

export const runTrace = async (s: Session, family: Family, start: number, debug?: (policy: PolicyName, e: ReplayEvent, now: number) => void): Promise<Record<PolicyName, PolicyTotals>> => {
  const clock = createVirtualClock(start);
  let turn = 0;
  const script = (warm: boolean): ScriptAnswer => (warm ? { text: "ok" } : answerOf(s.answers[turn]!));
  const ctx = family.ctx(s);
  const nextArrival = (_branch: string, after: number) => s.times.find((t) => t > after);
  const policies: Record<PolicyName, KeepWarmPolicy> = { ctxsync: ctxsyncPolicy(), fixed: fixedPolicy(), none: nonePolicy(), oracle: oraclePolicy(nextArrival) };
  const runners = POLICIES.map((name) => {
    const sim = family.simulator(clock, script);
    const cache = openCache(new Y.Doc());
    const host = docHost({ log: s.log, cache, device: `bench-${name}`, conversation: s.trace.name.replace(/[^A-Za-z0-9_.:-]/g, "_"), now: clock.now });
    const transport = family.transport(sim, clock);
    const replay: Replayer = createReplayer({ host, transport, policy: policies[name], ...(debug ? { onEvent: (e: ReplayEvent) => debug(name, e, clock.now()) } : {}) });
    const totals: PolicyTotals = { cost: 0, turnCost: 0, warmCost: 0, turns: 0, warmups: 0, misses: 0, perTurn: [], missAt: [] };
    return { name, sim, transport, replay, totals, cache };
  });
  const spent = (r: (typeof runners)[number]) => r.sim.cost();

  /** Keep-warm decisions due up to `until`, across all policies in time order (one clock). */
  const wakeUntil = async (until: number) => {
    for (;;) {
      let next: { r: (typeof runners)[number]; at: number } | undefined;
      for (const r of runners) {
        const at = r.replay.nextWakeAt();
        if (at !== undefined && at <= until && (!next || at < next.at)) next = { r, at };
      }
      if (!next) return;
      if (next.at > clock.now()) clock.set(next.at);
      const before = spent(next.r);
      const warmBefore = next.r.sim.records.length;
      await next.r.replay.wake();
      next.r.totals.warmCost += spent(next.r) - before;
      next.r.totals.warmups += next.r.sim.records.slice(warmBefore).filter((x) => x.warm).length;
    }
  };

  for (let k = 0; k < s.at.length; k++) {
    await wakeUntil(s.times[k]! - 1);
    if (s.times[k]! > clock.now()) clock.set(s.times[k]!);
    turn = k;
    const compiled: CompileResult = compile(s.entries.slice(0, s.at[k]!), ctx, { conversation: "bench", branch: "main" });
    for (const r of runners) {
      const before = spent(r);
      await r.replay.beforeTurn("main", ctx);
      const result = await r.transport.send({ compiled, model: ctx.model, stream: false });
      const out = await r.replay.afterTurn({ branch: "main", ctx, compiled, result, entry: s.entries[s.at[k]!]!.id, sentAt: clock.now() });
      const cost = spent(r) - before;
      r.totals.turnCost += cost;
      r.totals.perTurn.push(cost);
      r.totals.turns++;
      if (out.detection.outcome === "miss") {
        r.totals.misses++;
        r.totals.missAt.push([k, out.detection.expected, out.detection.got]);
      }
    }
  }
  // An agent stopped mid-run takes its session (and keep-warm loop) with it; a session left with a person stays open.
  if (s.endsOpen) await wakeUntil(clock.now() + TAIL_MS);
  for (const r of runners) {
    r.totals.cost = spent(r);
    r.replay.close();
  }
  return Object.fromEntries(runners.map((r) => [r.name, r.totals])) as Record<PolicyName, PolicyTotals>;
};


// The replay loop on plain documents against the provider simulators (virtual clock, in-process fetch).
import * as Y from "yjs";
import { openCache, openLog, type CacheState, type ConversationLog, type EntryInput } from "@ctxsync/core";
import { compile, type RenderContext } from "@ctxsync/compile";
import { createAnthropicTransport, createOpenAIChatTransport, factsFor, type Transport } from "@ctxsync/providers";
import { createAnthropicSimulator, createOpenAISimulator, createVirtualClock, type VirtualClock } from "@ctxsync/testkit";
import { describe, expect, it } from "vitest";
import { docHost } from "./doc-host.js";
import { fixedPolicy, nonePolicy, type KeepWarmPolicy } from "./policy.js";
import { createReplayer, type ReplayEvent, type Replayer, type ReplayerOptions } from "./replayer.js";

const MIN = 60_000;
const SYSTEM = "You keep every device's copy of an agent conversation in step with the log. ".repeat(80);

interface Rig {
  log: ConversationLog;
  cache: CacheState;
  replay: Replayer;
  clock: VirtualClock;
  events: ReplayEvent[];
  turn(ctx: RenderContext, input: EntryInput): Promise<Awaited<ReturnType<Replayer["afterTurn"]>>>;
  idle(ms: number): Promise<void>;
}

const rig = (make: (clock: VirtualClock) => Transport, policy?: KeepWarmPolicy, facts?: ReplayerOptions["facts"]): Rig => {
  const clock = createVirtualClock();
  const log = openLog(new Y.Doc(), { device: "d1" as never });
  const cache = openCache(new Y.Doc());
  const events: ReplayEvent[] = [];
  const transport = make(clock);
  const replay = createReplayer({ host: docHost({ log, cache, device: "d1", conversation: "c1", now: clock.now }), transport, ...(policy ? { policy } : {}), ...(facts ? { facts } : {}), onEvent: (e) => events.push(e) });
  return {
    log,
    cache,
    replay,
    clock,
    events,
    async turn(ctx, input) {
      log.append("main", input);
      await replay.beforeTurn("main", ctx);
      const compiled = compile(log.transcript("main"), ctx, { conversation: "c1", branch: "main" });
      const sentAt = clock.now();
      const result = await transport.send({ compiled, model: ctx.model, stream: false });
      const entry = log.append("main", result.entry);
      return replay.afterTurn({ branch: "main", ctx, compiled, result, entry: entry.id, sentAt });
    },
    async idle(ms) {
      const to = clock.now() + ms;
      for (let at = replay.nextWakeAt(); at !== undefined && at <= to; at = replay.nextWakeAt()) {
        clock.set(Math.max(at, clock.now()));
        await replay.wake();
      }
      clock.set(to);
    },
  };
};

const openai = (clock: VirtualClock) => {
  const sim = createOpenAISimulator({ clock, script: (r) => (r.warm ? { text: "ok" } : { text: "", toolCalls: [{ name: "bash", arguments: { cmd: "make" } }] }) });
  return createOpenAIChatTransport({ apiKey: "k", baseURL: "http://sim/v1", fetch: sim.fetch, maxRetries: 0, now: clock.now });
};
const ctxOpenAI: RenderContext = { provider: "openai-chat", model: "gpt-5.4", system: SYSTEM, tools: [{ name: "bash" }] };
const user = (text: string): EntryInput => ({ kind: "user", content: { text } });

describe("replay loop × simulators", () => {
  it("keeps a prefix warm through several windows with pings marked warmup, and the turn after hits", async () => {
    const r = rig(openai, fixedPolicy());
    const first = await r.turn(ctxOpenAI, user("build it"));
    expect(first.detection.outcome).toBe("cold");
    expect(first.handle).toMatchObject({ status: "warm", origin: "observed", tokens: first.usage.promptTokens });
    await r.idle(17 * MIN);
    const warmups = r.cache.usage().filter((u) => u.purpose === "warmup");
    expect(warmups).toHaveLength(3); // before each 5-minute expiry
    expect(warmups.every((u) => u.cachedTokens > 1024 && u.outputTokens <= 1 && (u.costUsd ?? 0) > 0)).toBe(true);
    const last = r.log.transcript("main").at(-1)!;
    const call = last.kind === "assistant" ? last.content.toolCalls![0]! : undefined;
    const second = await r.turn(ctxOpenAI, { kind: "tool_result", content: { callId: call!.id, text: "done" } });
    expect(second.detection.outcome).toBe("hit");
  });

  it("without warming the same gap is a miss with cause expired, recorded in the handle and the usage record", async () => {
    const r = rig(openai, nonePolicy());
    await r.turn(ctxOpenAI, user("build it"));
    await r.idle(17 * MIN);
    expect(r.cache.usage().filter((u) => u.purpose === "warmup")).toHaveLength(0);
    const second = await r.turn(ctxOpenAI, user("and?"));
    expect(second.detection).toMatchObject({ outcome: "miss", cause: "expired" });
    expect(r.cache.handles().find((h) => h.status === "expired")?.cause?.reason).toBe("expired");
    expect(second.usage.miss?.reason).toMatch(/^expired/);
  });

  it("another render context is another cache key: nothing was promised for it, the old handle stays warm", async () => {
    const r = rig(openai, nonePolicy());
    await r.turn(ctxOpenAI, user("build it"));
    const other: RenderContext = { ...ctxOpenAI, model: "gpt-5.4", system: `${SYSTEM} Answer in French.` };
    const second = await r.turn(other, user("and?"));
    // Another render context is another cache key: nothing was promised for it.
    expect(second.detection.outcome).toBe("cold");
    expect(r.cache.handles().filter((h) => h.status === "warm")).toHaveLength(2);
  });

  it("the fixed warmer pings before every expiry until its one-hour idle bound, then stops", async () => {
    const r = rig(openai, fixedPolicy());
    await r.turn(ctxOpenAI, user("build it"));
    await r.idle(3 * 60 * MIN);
    const warmups = r.cache.usage().filter((u) => u.purpose === "warmup");
    // A ping 10 s before each 5-minute expiry while idle < 1 h: at 4:50, 9:40, ... 57:50.
    expect(warmups.length).toBe(12);
    expect(warmups.every((u) => u.cachedTokens > 0)).toBe(true);
    expect(r.events.filter((e) => e.type === "keep-warm-stop")).toHaveLength(1);
  });

  it("never pings where a hit does not refresh the cache, and schedules nothing", async () => {
    const noRefresh: ReplayerOptions["facts"] = (p, m) => {
      const f = factsFor(p, m);
      return { ...f, cache: { ...f.cache, refreshOnHit: false } };
    };
    const r = rig(openai, fixedPolicy(), noRefresh);
    await r.turn(ctxOpenAI, user("hello"));
    expect(r.replay.nextWakeAt()).toBeUndefined();
  });

  it("rebuild re-sends a cold prefix once under the lease, then reports it warm", async () => {
    let sim!: ReturnType<typeof createAnthropicSimulator>;
    const r = rig((clock) => {
      sim = createAnthropicSimulator({ clock, script: () => ({ text: "fine" }) });
      return createAnthropicTransport({ apiKey: "k", baseURL: "http://sim", fetch: sim.fetch, maxRetries: 0, now: clock.now });
    }, nonePolicy());
    const ctx: RenderContext = { provider: "anthropic", model: "claude-sonnet-4-6", system: SYSTEM };
    await r.turn(ctx, user("hello"));
    await r.idle(30 * MIN);
    const out = await r.replay.prewarm("main", ctx);
    expect(out).toMatchObject({ status: "rebuilt", how: "resend" });
    expect(r.cache.usage().filter((u) => u.purpose === "prewarm")).toHaveLength(1);
    expect(await r.replay.prewarm("main", ctx)).toMatchObject({ status: "warm" });
    expect(sim.records.filter((x) => x.warm)).toHaveLength(1);
    const lease = r.cache.rebuildLease(out.key!);
    expect(lease).toMatchObject({ state: "done", holder: "d1", version: 2 });
    const next = await r.turn(ctx, user("again"));
    expect(next.detection.outcome).toBe("hit");
  });
});

// Replay through session.send against the provider simulators (the paid APIs cannot be called here;
// docs/providers.md): virtual clock, in-process fetch, local sessions (no server: the lease is local).
import type { RenderContext } from "@ctxsync/compile";
import { createAnthropicTransport, createGeminiTransport, createOpenAIResponsesTransport, type StreamDelta } from "@ctxsync/providers";
import { nonePolicy, type ReplayEvent } from "@ctxsync/replay";
import {
  createAnthropicSimulator,
  createGeminiSimulator,
  createOpenAISimulator,
  createVirtualClock,
  type ScriptAnswer,
  type VirtualClock,
} from "@ctxsync/testkit";
import { describe, expect, it } from "vitest";
import { memoryStorage, openSession, type Session } from "@ctxsync/client/node";

const MIN = 60_000;
const SYSTEM = "You are a careful coding agent. Keep every device's copy of the log in step. ".repeat(80);
const BASH = { name: "bash", description: "Run a shell command", parameters: { type: "object", properties: { cmd: { type: "string" } } } };

/** A fetch that records request bodies on their way to `inner`. */
const capture = (inner: typeof fetch) => {
  const bodies: Array<{ url: string; body: string }> = [];
  const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : undefined;
    const body = req && init?.body === undefined ? await req.clone().text() : typeof init?.body === "string" ? init.body : init?.body ? new TextDecoder().decode(init.body as Uint8Array) : "";
    bodies.push({ url: req ? req.url : String(input), body });
    return inner(input, init);
  }) as typeof fetch;
  return { fetch: f, bodies };
};

/** Move the virtual clock to `to`, making every keep-warm decision due on the way. */
const idle = async (s: Session, clock: VirtualClock, to: number) => {
  for (let at = s.replay!.nextWakeAt(); at !== undefined && at <= to; at = s.replay!.nextWakeAt()) {
    if (at > clock.now()) clock.set(at);
    await s.replay!.wake();
  }
  if (to > clock.now()) clock.set(to);
};

describe("replay × simulators, through session.send", () => {
  it("an expired previous_response_id is replayed from scratch: stateless, encrypted reasoning byte-exact", async () => {
    const clock = createVirtualClock();
    const sim = createOpenAISimulator({ clock, script: (r) => (r.warm ? { text: "ok" } : { text: `answer ${r.messages.length}`, reasoning: "first I think, then I answer" }) });
    const wire = capture(sim.fetch);
    const events: ReplayEvent[] = [];
    const s = await openSession({
      conversation: "responses",
      storage: memoryStorage(),
      now: clock.now,
      transport: createOpenAIResponsesTransport({ apiKey: "k", baseURL: "http://sim/v1", fetch: wire.fetch, maxRetries: 0, now: clock.now }),
      replay: { timers: false, onEvent: (e) => events.push(e) },
    });
    const ctx: RenderContext = { provider: "openai-responses", model: "gpt-5.4", system: SYSTEM, options: { responsesMode: "previous_response_id" } };
    const deltas: StreamDelta[] = [];
    const t1 = await s.send({ ctx, input: "what is in the repository?", onDelta: (d) => deltas.push(d) });
    expect(deltas.some((d) => d.type === "text")).toBe(true);
    const stored = s.hiddenBlobs(t1.entry.id);
    expect(stored.map((b) => b.kind)).toEqual(["openai.reasoning", "openai.output_item", "openai.response"]);
    const t2 = await s.send({ ctx, input: "and then?", stream: false });
    expect(JSON.parse(wire.bodies.at(-1)!.body).previous_response_id).toBe((stored[2]!.data as { id: string }).id);
    expect(t2.fromScratch).toBeUndefined();
    // The provider forgets its stored responses (30 days passed, or store was purged).
    (sim as unknown as { dropStoredResponses(): void }).dropStoredResponses();
    const before = wire.bodies.length;
    const t3 = await s.send({ ctx, input: "one more thing", stream: false });
    expect(t3.fromScratch).toBe("previous-response");
    expect(events.some((e) => e.type === "state-gone" && e.what === "previous-response")).toBe(true);
    const [failed, retry] = wire.bodies.slice(before).map((b) => JSON.parse(b.body) as { previous_response_id?: string; store?: boolean; input: Array<{ type?: string; id?: string; encrypted_content?: string }> });
    expect(failed!.previous_response_id).toBeDefined();
    expect(retry!.previous_response_id).toBeUndefined();
    // Stored again, so that the next turn chains on the new response.
    expect(retry!.store).toBe(true);
    // Every reasoning item of the log went back exactly as C/hidden holds it (the simulator verifies it too).
    const raw = wire.bodies.at(-1)!.body;
    for (const turn of [t1, t2]) {
      const r = s.hiddenBlobs(turn.entry.id).find((b) => b.kind === "openai.reasoning")!.data as { id: string; encrypted_content: string };
      expect(raw).toContain(JSON.stringify(r.encrypted_content));
      expect(retry!.input.find((i) => i.type === "reasoning" && i.id === r.id)?.encrypted_content).toBe(r.encrypted_content);
    }
    expect((t3.entry.content as { text: string }).text).toMatch(/^answer/);
    // The next turn does not try the gone response again.
    const t4 = await s.send({ ctx, input: "thanks", stream: false });
    expect(t4.fromScratch).toBeUndefined();
    const chainedOn = JSON.parse(wire.bodies.at(-1)!.body).previous_response_id as string;
    expect(chainedOn).toBe((s.hiddenBlobs(t3.entry.id).find((b) => b.kind === "openai.response")!.data as { id: string }).id);
    await s.close();
  });

  it("a deleted Gemini cached content is re-created and the turn goes on", async () => {
    const clock = createVirtualClock();
    const sim = createGeminiSimulator({ clock, script: (r) => (r.warm ? { text: "ok" } : { text: `answer ${r.messages.length}` }) });
    const transport = createGeminiTransport({ apiKey: "k", baseURL: "http://sim", fetch: sim.fetch, maxRetries: 0, now: clock.now });
    const events: ReplayEvent[] = [];
    const s = await openSession({ conversation: "gemini", storage: memoryStorage(), now: clock.now, transport, replay: { timers: false, onEvent: (e) => events.push(e) } });
    const ctx: RenderContext = { provider: "gemini", model: "gemini-2.5-flash", system: SYSTEM };
    await s.send({ ctx, input: "first question", stream: false });
    // An explicit cache for the branch's prefix.
    const made = await s.rebuildCache(ctx);
    expect(made.status).toBe("rebuilt");
    const first = s.checkpoints().find((h) => h.route?.startsWith("cachedContents/"))!;
    expect(first.status).toBe("warm");
    const t2 = await s.send({ ctx, input: "second question", stream: false });
    expect(t2.result.usage.cachedTokens).toBeGreaterThan(1000);
    // Someone deletes it at the provider.
    await transport.caches.delete(first.route!);
    const t3 = await s.send({ ctx, input: "third question", stream: false });
    expect(t3.fromScratch).toBe("cached-content");
    expect(events.some((e) => e.type === "state-gone" && e.what === "cached-content")).toBe(true);
    const second = s.checkpoints().find((h) => h.route?.startsWith("cachedContents/") && h.status === "warm")!;
    expect(second.route).not.toBe(first.route);
    expect(t3.result.usage.cachedTokens).toBeGreaterThan(1000);
    expect(sim.counters.byKind["cache-create"]).toBe(2);
    expect(s.usage().filter((u) => u.purpose === "rebuild")).toHaveLength(2);
    await s.close();
  });

  for (const [ttl, gapMin] of [["5m", 14], ["1h", 100]] as const) {
    it(`Anthropic ${ttl} pings keep the prefix warm through a ${gapMin}-minute tool run (and without them it is gone)`, async () => {
      const run = async (warm: boolean) => {
        const clock = createVirtualClock();
        let calls = 0;
        const script = (r: { warm: boolean }): ScriptAnswer => (r.warm ? { text: "ok" } : calls++ === 0 ? { text: "", toolCalls: [{ name: "bash", arguments: { cmd: "make test" }, id: "toolu_1" }] } : { text: "the tests pass" });
        const sim = createAnthropicSimulator({ clock, script });
        const s = await openSession({
          conversation: `anthropic-${ttl}-${warm}`,
          storage: memoryStorage(),
          now: clock.now,
          transport: createAnthropicTransport({ apiKey: "k", baseURL: "http://sim", fetch: sim.fetch, maxRetries: 0, now: clock.now }),
          replay: { timers: false, ...(warm ? {} : { policy: nonePolicy() }) },
        });
        const ctx: RenderContext = { provider: "anthropic", model: "claude-sonnet-4-6", system: SYSTEM, tools: [BASH], options: { cacheTtl: ttl } };
        const t1 = await s.send({ ctx, input: "run the tests", stream: false });
        const call = (t1.entry.content as unknown as { toolCalls: Array<{ id: string }> }).toolCalls[0]!;
        await idle(s, clock, clock.now() + gapMin * MIN);
        const t2 = await s.send({ ctx, input: [{ kind: "tool_result", content: { callId: call.id, text: "ok: 412 passed" } }], stream: false });
        await s.close();
        return { t1, t2, warmups: s.usage().filter((u) => u.purpose === "warmup"), sim };
      };
      const kept = await run(true);
      const ttlMin = ttl === "5m" ? 5 : 60;
      expect(kept.warmups.length).toBe(Math.floor(gapMin / (ttlMin - 1 / 6)));
      // Every ping read the whole prefix from cache, and the turn after the gap did too.
      for (const w of kept.warmups) expect(w.cachedTokens).toBe(kept.t1.result.usage.promptTokens);
      expect(kept.t2.detection.outcome).toBe("hit");
      expect(kept.t2.result.usage.cachedTokens).toBeGreaterThanOrEqual(kept.t1.result.usage.promptTokens);
      const pings = kept.sim.records.filter((r) => r.warm);
      expect(pings).toHaveLength(kept.warmups.length);
      expect(pings.every((p) => (p.usage?.cacheWrite1hTokens ?? 0) + (p.usage?.cacheWriteTokens ?? 0) === 0)).toBe(true);
      const cold = await run(false);
      expect(cold.warmups).toHaveLength(0);
      expect(cold.t2.detection).toMatchObject({ outcome: "miss", cause: "expired" });
      expect(cold.t2.result.usage.cachedTokens).toBe(0);
      // The pings cost less than the miss they prevented.
      const spent = kept.warmups.reduce((n, w) => n + (w.costUsd ?? 0), 0);
      expect(spent).toBeLessThan((cold.t2.usage.costUsd ?? 0) - (kept.t2.usage.costUsd ?? 0));
    });
  }
});

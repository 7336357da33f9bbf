// The provider transports (official SDKs) against the testkit simulators, through compile and the
// log: every turn's hidden blobs go into C/hidden and come back byte-exact in the next request,
// which the simulator verifies. The paid APIs cannot be called here; these simulators and the
// recorded-format fixtures in packages/providers are what stands in for them (docs/providers.md).
import * as Y from "yjs";
import { compile, type CompileOptions, type RenderContext } from "@ctxsync/compile";
import { openHidden, openLog, type ConversationLog, type EntryInput, type HiddenState, type JsonValue } from "@ctxsync/core";
import { createTransport, isProviderError, type SendInput, type SendResult, type Transport } from "@ctxsync/providers";
import {
  createAnthropicSimulator,
  createDeepSeekSimulator,
  createGeminiSimulator,
  createOpenAISimulator,
  createVirtualClock,
  type ProviderSimulator,
  type ScriptAnswer,
} from "@ctxsync/testkit";
import { describe, expect, it } from "vitest";
import { BASH, captureFetch } from "../packages/providers/src/wire.test-util.js";

const MIN = 60_000;
const SYSTEM = "You are a careful coding agent. Keep every device's copy of the log in step. ".repeat(80);

/** One conversation: the log, its hidden blobs, a transport against a simulator, a wire capture. */
const session = (sim: ProviderSimulator, provider: Parameters<typeof createTransport>[0], ctx: RenderContext, opts: { compile?: CompileOptions } = {}) => {
  const log: ConversationLog = openLog(new Y.Doc(), { device: "laptop" as never });
  const hidden: HiddenState = openHidden(new Y.Doc());
  const wire = captureFetch(sim.fetch);
  const transport: Transport = createTransport(provider, { apiKey: "sim-key", fetch: wire.fetch, maxRetries: 0, now: sim.clock.now });
  // Compile emits each provider's wire body (Gemini: the REST GenerateContentRequest).
  const compiled = (c: RenderContext = ctx): SendInput["compiled"] => compile(log.transcript("main"), c, { hidden: hidden.blobs, conversation: "conv", branch: "main", ...opts.compile });
  return {
    log,
    hidden,
    wire,
    transport,
    compiled,
    say: (text: string) => log.append("main", { kind: "user", content: { text } }),
    toolResult: (callId: string, text: string) => log.append("main", { kind: "tool_result", content: { callId, text } }),
    /** Send the branch, append the answer and its blobs. */
    async turn(input: Partial<SendInput> = {}, c: RenderContext = ctx): Promise<SendResult & { sent: string }> {
      const comp = compiled(c);
      const r = await transport.send({ compiled: comp, model: c.model, ...input });
      const entry = log.append("main", r.entry as EntryInput, { provider: r.meta.provider, model: r.meta.model });
      for (const b of r.blobs) hidden.attach({ entry: entry.id, provider: r.meta.provider, model: r.meta.model, kind: b.kind, order: b.order, data: b.data });
      return { ...r, sent: wire.requests.at(-1)!.body };
    },
  };
};

/** A script that calls the tool once, then answers. */
const toolThenAnswer = (reasoning = "I should look at the files first."): ((req: { messages: readonly { role: string }[] }) => ScriptAnswer) => (req) =>
  req.messages.at(-1)?.role === "tool" ? { text: "There are two files.", reasoning: "Now I can answer." } : { reasoning, toolCalls: [{ name: "bash", arguments: { cmd: "ls" } }] };

describe("OpenAI Responses transport × simulator", () => {
  const ctx: RenderContext = { provider: "openai-responses", model: "gpt-5.4", system: SYSTEM, tools: [BASH] };

  it("stateless: encrypted reasoning goes back byte-exact and the prefix is read from cache", async () => {
    const sim = createOpenAISimulator({ script: toolThenAnswer() });
    const s = session(sim, "openai-responses", ctx);
    s.say("what is in the repository?");
    const t1 = await s.turn();
    expect(t1.sent).toBe(compile(s.log.transcript("main").slice(0, 1), { ...ctx, options: { params: { stream: true } } }, { conversation: "conv", branch: "main" }).body);
    expect(t1.blobs.map((b) => b.kind)).toEqual(["openai.reasoning", "openai.output_item"]);
    const call = t1.entry.content.toolCalls![0]!;
    s.toolResult(call.id, "README.md src");
    const t2 = await s.turn();
    const reasoningBlob = t1.blobs[0]!.data as { encrypted_content: string };
    expect(t2.sent).toContain(JSON.stringify(reasoningBlob.encrypted_content));
    expect(t2.entry.content.text).toBe("There are two files.");
    expect(t2.usage.cachedTokens).toBeGreaterThanOrEqual(1024);
    expect(t2.usage.promptTokens - t2.usage.cachedTokens).toBeLessThan(t2.usage.promptTokens / 4);
  });

  it("a reasoning blob altered in C/hidden is refused by the provider; an expired previous_response_id is state-gone", async () => {
    const sim = createOpenAISimulator({ script: toolThenAnswer() });
    const s = session(sim, "openai-responses", ctx);
    s.say("what is in the repository?");
    const t1 = await s.turn();
    const entry = s.log.transcript("main").at(-1)!;
    const [rs] = s.hidden.blobs(entry.id);
    const data = rs!.data as { id: string; encrypted_content: string; summary: JsonValue };
    const tampered = openHidden(new Y.Doc());
    tampered.attach({ entry: entry.id, provider: "openai", model: "gpt-5.4", kind: "openai.reasoning", order: 0, data: { ...data, encrypted_content: `${data.encrypted_content.slice(0, -2)}xx` } });
    s.toolResult(t1.entry.content.toolCalls![0]!.id, "README.md");
    const bad = compile(s.log.transcript("main"), ctx, { hidden: tampered.blobs });
    const e = await s.transport.send({ compiled: bad, model: "gpt-5.4" }).catch((x: unknown) => x);
    expect(isProviderError(e) && [e.code, e.providerCode]).toEqual(["bad-request", "invalid_encrypted_content"]);

    // Chained mode on a stored response, then 31 days pass.
    const chained: RenderContext = { ...ctx, options: { responsesMode: "previous_response_id" } };
    const stored = await s.transport.send({ compiled: s.compiled(), model: "gpt-5.4" });
    expect(stored.blobs.some((b) => b.kind === "openai.response")).toBe(false); // compile's stateless body says store:false
    s.hidden.attach({ entry: entry.id, provider: "openai", model: "gpt-5.4", kind: "openai.response", order: 9, data: { id: "resp_never_stored" } });
    const gone = await s.transport.send({ compiled: s.compiled(chained), model: "gpt-5.4" }).catch((x: unknown) => x);
    expect(isProviderError(gone) && [gone.code, gone.status, gone.providerMessage]).toEqual(["state-gone", 400, "Previous response with id 'resp_never_stored' not found."]);
  });
});

describe("Anthropic transport × simulator", () => {
  const ctx: RenderContext = { provider: "anthropic", model: "claude-sonnet-4-6", system: SYSTEM, tools: [BASH], options: { params: { max_tokens: 4096, thinking: { type: "enabled", budget_tokens: 2048 } } } };

  it("a tool loop brings its thinking back byte-exact; breakpoints are read back from cache", async () => {
    const sim = createAnthropicSimulator({ script: toolThenAnswer() });
    const s = session(sim, "anthropic", ctx);
    s.say("what is in the repository?");
    const t1 = await s.turn();
    expect(t1.blobs.map((b) => b.kind)).toEqual(["anthropic.thinking"]);
    expect(t1.usage.cacheWriteTokens).toBeGreaterThan(1024);
    s.toolResult(t1.entry.content.toolCalls![0]!.id, "README.md src");
    const t2 = await s.turn();
    expect(t2.entry.content.text).toBe("There are two files.");
    expect(t2.usage.cachedTokens).toBeGreaterThanOrEqual(t1.usage.cacheWriteTokens);
    expect(sim.records.filter((r) => r.status >= 400)).toEqual([]);
  });

  it("an altered signature is refused with the documented text", async () => {
    const sim = createAnthropicSimulator({ script: toolThenAnswer() });
    const s = session(sim, "anthropic", ctx);
    s.say("what is in the repository?");
    const t1 = await s.turn();
    const entry = s.log.transcript("main").at(-1)!;
    const blob = s.hidden.blobs(entry.id)[0]!;
    const tampered = openHidden(new Y.Doc());
    tampered.attach({ ...blob, data: { ...(blob.data as object), thinking: "I should look at the files first!" } });
    s.toolResult(t1.entry.content.toolCalls![0]!.id, "README.md");
    const e = await s.transport.send({ compiled: compile(s.log.transcript("main"), ctx, { hidden: tampered.blobs }), model: ctx.model }).catch((x: unknown) => x);
    expect(isProviderError(e) && [e.code, e.status, e.providerMessage]).toEqual(["bad-request", 400, "messages.1.content.0: Invalid `signature` in `thinking` block"]);
  });

  it("5m pings before the TTL keep the prefix warm; after 6 idle minutes it is gone", async () => {
    const plain: RenderContext = { ...ctx, options: { params: { max_tokens: 256 } } };
    const sim = createAnthropicSimulator();
    const s = session(sim, "anthropic", plain);
    s.say("hello");
    const t1 = await s.turn();
    const written = t1.usage.cacheWriteTokens;
    expect(written).toBeGreaterThan(1024);
    for (let i = 0; i < 3; i++) {
      sim.clock.advance(4 * MIN);
      const warm = await s.transport.send({ compiled: s.compiled(), model: plain.model, maxOutputTokens: 1 });
      expect(warm.usage.cachedTokens).toBeGreaterThanOrEqual(written);
      expect(warm.usage.outputTokens).toBeLessThanOrEqual(1);
    }
    sim.clock.advance(6 * MIN);
    const cold = await s.transport.send({ compiled: s.compiled(), model: plain.model, maxOutputTokens: 1 });
    expect(cold.usage.cachedTokens).toBe(0);
    expect(sim.records.filter((r) => r.warm)).toHaveLength(4);
  });
});

describe("Gemini transport × simulator", () => {
  const ctx: RenderContext = { provider: "gemini", model: "gemini-3-pro-preview", system: SYSTEM, tools: [BASH] };

  it("thought signatures go back on the part they came with; Gemini 3 accepts the next turn", async () => {
    const sim = createGeminiSimulator({ script: toolThenAnswer() });
    const s = session(sim, "gemini", ctx);
    s.say("what is in the repository?");
    const t1 = await s.turn();
    expect(s.wire.requests[0]!.url).toMatch(/\/v1beta\/models\/gemini-3-pro-preview:streamGenerateContent\?alt=sse$/);
    expect(t1.blobs).toEqual([{ kind: "gemini.thought_signature", order: 0, data: { part: 0, signature: expect.any(String) } }]);
    s.toolResult(t1.entry.content.toolCalls![0]!.id, "README.md src");
    const t2 = await s.turn();
    expect(t2.entry.content.text).toBe("There are two files.");
    expect(t2.sent).toContain(`"thoughtSignature":${JSON.stringify((t1.blobs[0]!.data as { signature: string }).signature)}`);
  });

  it("an explicit cache serves the prefix until it is deleted; then the request is state-gone", async () => {
    const sim = createGeminiSimulator();
    const flash: RenderContext = { ...ctx, model: "gemini-2.5-flash" };
    const s = session(sim, "gemini", flash);
    const g = s.transport as ReturnType<typeof createTransport> & { caches: { create: (...args: any[]) => any; delete: (...args: any[]) => any } };
    const cache = await g.caches.create({ model: "gemini-2.5-flash", config: { systemInstruction: SYSTEM, tools: [{ functionDeclarations: [{ name: "bash", description: BASH.description, parametersJsonSchema: BASH.parameters }] }], ttl: "3600s" } });
    s.say("hello");
    const withCache = (): SendInput["compiled"] => compile(s.log.transcript("main"), flash, { cacheHandle: { name: cache.name, upTo: null } });
    const hit = await s.transport.send({ compiled: withCache(), model: flash.model });
    expect(hit.usage.cachedTokens).toBe(cache.usageMetadata.totalTokenCount);
    await g.caches.delete(cache.name);
    const gone = await s.transport.send({ compiled: withCache(), model: flash.model }).catch((x: unknown) => x);
    expect(isProviderError(gone) && [gone.code, gone.status, gone.providerMessage]).toEqual(["state-gone", 403, "CachedContent not found (or permission denied)"]);
  });
});

describe("DeepSeek and OpenAI Chat transports × simulators", () => {
  it("DeepSeek thinking mode: reasoning_content stays in the entry, goes back on the tool turn, and the prefix is a hit", async () => {
    const sim = createDeepSeekSimulator({ script: toolThenAnswer() });
    const ctx: RenderContext = { provider: "deepseek", model: "deepseek-v4", system: SYSTEM, tools: [BASH], options: { params: { thinking: { type: "enabled" } } } };
    const s = session(sim, "deepseek", ctx);
    s.say("what is in the repository?");
    const t1 = await s.turn();
    expect(t1.entry.content.reasoning).toBe("I should look at the files first.");
    s.toolResult(t1.entry.content.toolCalls![0]!.id, "README.md src");
    const t2 = await s.turn();
    expect(t2.entry.content.text).toBe("There are two files.");
    expect(t2.sent).toContain('"reasoning_content":"I should look at the files first."');
    // in 64-token units: at least everything the first turn sent
    expect(t2.usage.cachedTokens).toBeGreaterThanOrEqual(Math.floor(t1.usage.promptTokens / 64) * 64);
    expect(t2.usage.cachedTokens + t2.usage.cacheWriteTokens).toBe(t2.usage.promptTokens);
  });

  it("OpenAI Chat over HTTP (serve on port 0): the stock SDK with a base URL, cached tokens turn after turn", async () => {
    const sim = createOpenAISimulator();
    const server = await sim.serve();
    try {
      const log = openLog(new Y.Doc(), { device: "phone" as never });
      const ctx: RenderContext = { provider: "openai-chat", model: "gpt-5.4", system: SYSTEM };
      const transport = createTransport("openai-chat", { apiKey: "k", baseURL: `${server.url}/v1`, maxRetries: 0 });
      const cached: number[] = [];
      const prompts: number[] = [];
      for (const q of ["one", "two", "three"]) {
        log.append("main", { kind: "user", content: { text: q } });
        const r = await transport.send({ compiled: compile(log.transcript("main"), ctx), model: ctx.model });
        log.append("main", r.entry as EntryInput);
        cached.push(r.usage.cachedTokens);
        prompts.push(r.usage.promptTokens);
      }
      expect(cached[0]).toBe(0);
      // each turn reads the previous turn's whole prompt, in OpenAI's 128-token steps above 1024
      for (const i of [1, 2]) expect(cached[i]).toBe(1024 + Math.floor((prompts[i - 1]! - 1024) / 128) * 128);
    } finally {
      await server.close();
    }
  });

  it("the simulator's virtual clock drives TTFT when latency is simulated", async () => {
    const clock = createVirtualClock();
    const sim = createOpenAISimulator({ clock, latency: { baseMs: 200, prefillMsPerToken: 0.5, cachedMsPerToken: 0.05 } });
    const s = session(sim, "openai-chat", { provider: "openai-chat", model: "gpt-5.4", system: SYSTEM });
    s.say("hi");
    const cold = await s.transport.send({ compiled: s.compiled(), model: "gpt-5.4" });
    const warm = await s.transport.send({ compiled: s.compiled(), model: "gpt-5.4" });
    expect(cold.usage.ttftMs).toBeCloseTo(200 + cold.usage.promptTokens * 0.5, 6);
    expect(warm.usage.ttftMs!).toBeLessThan(cold.usage.ttftMs! / 3);
  });
});

import { compile, type RenderContext } from "@ctxsync/compile";
import { describe, expect, it } from "vitest";
import { createDeepSeekTransport } from "./deepseek.js";
import { isProviderError } from "./errors.js";
import { agentLoop, BASH, fixtureFetch, readFixture, transcript } from "./wire.test-util.js";

// Recorded-format fixtures (PROVIDERS.md §5): the paid API cannot be called here.
const ctx = (params: Record<string, unknown> = {}): RenderContext => ({ provider: "deepseek", model: "deepseek-chat", system: "You are an agent.", tools: [BASH], options: { params: params as never } });
const t = transcript(agentLoop());
const compiled = compile(t, ctx());
const transport = (f: typeof fetch) => createDeepSeekTransport({ apiKey: "ds-key", fetch: f, maxRetries: 0 });

describe("deepseek transport (recorded wire fixtures)", () => {
  it("streams through the openai SDK to DeepSeek's base URL; reasoning_content and hit/miss usage", async () => {
    const wire = fixtureFetch({ body: readFixture("deepseek.stream.sse") });
    const r = await transport(wire.fetch).send({ compiled, model: "deepseek-chat" });
    expect(wire.requests[0]!.url).toBe("https://api.deepseek.com/chat/completions");
    expect(wire.requests[0]!.body).toBe(compile(t, ctx({ stream: true, stream_options: { include_usage: true } })).body);
    expect(r.entry.content).toEqual({ text: "Here they are.", reasoning: "Need to list files." });
    expect(r.usage).toMatchObject({ promptTokens: 3000, cachedTokens: 2944, cacheWriteTokens: 56, outputTokens: 40, reasoningTokens: 30 });
    expect(r.meta).toEqual({ provider: "deepseek", model: "deepseek-reasoner" });
    expect(r.blobs).toEqual([]);
  });

  it("not streaming: the compiled bytes as they are", async () => {
    const response = { id: "9d", object: "chat.completion", created: 1, model: "deepseek-chat", choices: [{ index: 0, message: { role: "assistant", content: "Hi.", reasoning_content: null }, finish_reason: "stop" }], usage: { prompt_tokens: 100, completion_tokens: 2, total_tokens: 102, prompt_cache_hit_tokens: 64, prompt_cache_miss_tokens: 36 } };
    const wire = fixtureFetch({ body: JSON.stringify(response) });
    const r = await transport(wire.fetch).send({ compiled, model: "deepseek-chat", stream: false });
    expect(wire.requests[0]!.body).toBe(compiled.body);
    expect(r.entry.content).toEqual({ text: "Hi." });
    expect(r.usage).toMatchObject({ promptTokens: 100, cachedTokens: 64, cacheWriteTokens: 36, outputTokens: 2, ttftMs: null });
  });

  it("a warm-up inserts max_tokens; the thinking-mode refusal keeps its text", async () => {
    const wire = fixtureFetch({ body: readFixture("deepseek.stream.sse") });
    await transport(wire.fetch).send({ compiled, model: "deepseek-chat", maxOutputTokens: 1, stream: false });
    expect(wire.requests[0]!.body).toBe(compile(t, ctx({ max_tokens: 1 })).body);
    const refusal = fixtureFetch({ status: 400, body: JSON.stringify({ error: { message: "The `reasoning_content` in the thinking mode must be passed back to the API.", type: "invalid_request_error", param: null, code: "invalid_request_error" } }) });
    const e = await transport(refusal.fetch).send({ compiled, model: "deepseek-chat" }).catch((x: unknown) => x);
    expect(isProviderError(e) && [e.code, e.providerMessage]).toEqual(["bad-request", "The `reasoning_content` in the thinking mode must be passed back to the API."]);
  });
});

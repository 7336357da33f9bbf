import { compile, type RenderContext } from "@ctxsync/compile";
import { describe, expect, it } from "vitest";
import { createAnthropicTransport } from "./anthropic.js";
import { isProviderError } from "./errors.js";
import { agentLoop, BASH, fixtureFetch, readFixture, transcript } from "./wire.test-util.js";

// Recorded-format fixtures (PROVIDERS.md §3): the paid API cannot be called here.
const ctx = (params: Record<string, unknown> = {}): RenderContext => ({ provider: "anthropic", model: "claude-sonnet-4-6", system: "You are an agent.", tools: [BASH], options: { params: { max_tokens: 2048, ...params } as never } });
const t = transcript(agentLoop());
const compiled = compile(t, ctx());
const transport = (f: typeof fetch, maxRetries = 0) => createAnthropicTransport({ apiKey: "sk-ant", fetch: f, maxRetries });
const anthropicError = (status: number, type: string, message: string) => ({ status, body: JSON.stringify({ type: "error", error: { type, message }, request_id: "req_011" }) });

describe("anthropic transport (recorded wire fixtures)", () => {
  it("streams: bytes as compiled plus stream; thinking blobs byte-exact in block order; usage split", async () => {
    const wire = fixtureFetch({ body: readFixture("anthropic.stream.sse") });
    const r = await transport(wire.fetch).send({ compiled, model: "claude-sonnet-4-6" });
    expect(wire.requests[0]!.url).toBe("https://api.anthropic.com/v1/messages");
    expect(wire.requests[0]!.body).toBe(compile(t, ctx({ stream: true })).body);
    expect(wire.requests[0]!.headers.get("authorization")).toBe("Bearer sk-ant");
    expect(r.blobs).toEqual([
      { kind: "anthropic.thinking", order: 0, data: { thinking: "The user wants the files listed.", signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxDYmnHE+4r" } },
      { kind: "anthropic.redacted_thinking", order: 1, data: { data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIw" } },
    ]);
    // the model's argument text is not canonical JSON: it is kept as the exact text
    expect(r.entry.content).toEqual({ text: "I'll list them.", reasoning: "The user wants the files listed.", toolCalls: [{ id: "toolu_01A", name: "bash", argumentsText: '{"cmd": "ls -la"}' }] });
    expect(r.usage).toMatchObject({ promptTokens: 21 + 1890 + 12034, cachedTokens: 12034, cacheWriteTokens: 1890, cacheWrite1hTokens: 0, outputTokens: 87 });
    expect(r.stopReason).toBe("tool_use");
    expect(r.meta).toEqual({ provider: "anthropic", model: "claude-sonnet-4-5-20250929" });
  });

  it("not streaming: the same entry and blobs from one message", async () => {
    const message = { id: "msg_2", type: "message", role: "assistant", model: "claude-sonnet-4-5-20250929", content: [{ type: "thinking", thinking: "hm", signature: "sig==" }, { type: "text", text: "Ok." }], stop_reason: "end_turn", stop_sequence: null, usage: { input_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 100, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 }, output_tokens: 4 } };
    const wire = fixtureFetch({ body: JSON.stringify(message) });
    const r = await transport(wire.fetch).send({ compiled, model: "claude-sonnet-4-6", stream: false });
    expect(wire.requests[0]!.body).toBe(compiled.body);
    expect(r.blobs).toEqual([{ kind: "anthropic.thinking", order: 0, data: { thinking: "hm", signature: "sig==" } }]);
    expect(r.entry.content).toEqual({ text: "Ok.", reasoning: "hm" });
    expect(r.usage).toMatchObject({ promptTokens: 105, cachedTokens: 100, cacheWriteTokens: 0, outputTokens: 4, ttftMs: null });
  });

  it("a warm-up changes max_tokens only; with manual thinking it cannot go below budget + 1", async () => {
    const wire = fixtureFetch({ body: readFixture("anthropic.stream.sse") });
    await transport(wire.fetch).send({ compiled, model: "claude-sonnet-4-6", stream: false, maxOutputTokens: 1 });
    expect(wire.requests[0]!.body).toBe(compiled.body.replace('"max_tokens":2048', '"max_tokens":1'));
    const thinking = compile(t, ctx({ thinking: { type: "enabled", budget_tokens: 1024 } }));
    const r = await transport(wire.fetch).send({ compiled: thinking, model: "claude-sonnet-4-6", maxOutputTokens: 1 });
    expect(wire.requests[1]!.body).toBe(compile(t, ctx({ thinking: { type: "enabled", budget_tokens: 1024 }, max_tokens: 1025, stream: true })).body);
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: "output-limit-raised", used: 1025 }));
  });

  it("documented errors, an error event mid-stream, and the SDK's retry on 529", async () => {
    const cases: [ReturnType<typeof anthropicError>, string][] = [
      [anthropicError(529, "overloaded_error", "Overloaded"), "overloaded"],
      [anthropicError(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), "rate-limited"],
      [anthropicError(400, "invalid_request_error", "prompt is too long: 210034 tokens > 200000 maximum"), "context-too-long"],
      [anthropicError(400, "invalid_request_error", "messages.1.content.0: Invalid `signature` in `thinking` block"), "bad-request"],
      [anthropicError(401, "authentication_error", "invalid x-api-key"), "unauthorized"],
    ];
    for (const [answer, code] of cases) {
      const e = await transport(fixtureFetch(answer).fetch).send({ compiled, model: "claude-sonnet-4-6", stream: false }).catch((x: unknown) => x);
      expect(isProviderError(e) && [e.code, e.status, e.providerMessage]).toEqual([code, answer.status, JSON.parse(answer.body).error.message]);
    }
    const head = readFixture("anthropic.stream.sse").split("\n\n").slice(0, 4).join("\n\n");
    const mid = fixtureFetch({ body: `${head}\n\nevent: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n` });
    const e = await transport(mid.fetch).send({ compiled, model: "claude-sonnet-4-6" }).catch((x: unknown) => x);
    expect(isProviderError(e) && [e.code, e.providerCode]).toEqual(["overloaded", "overloaded_error"]);
    const retried = fixtureFetch({ ...cases[0]![0], headers: { "retry-after-ms": "1" } }, { body: readFixture("anthropic.stream.sse") });
    const r = await transport(retried.fetch, 1).send({ compiled, model: "claude-sonnet-4-6" });
    expect(r.entry.content.text).toBe("I'll list them.");
    expect(retried.requests.map((q) => q.body)).toEqual([retried.requests[1]!.body, compile(t, ctx({ stream: true })).body]);
  });
});

import { compile, type RenderContext } from "@ctxsync/compile";
import { describe, expect, it } from "vitest";
import { isProviderError } from "./errors.js";
import { createOpenAIChatTransport } from "./openai-chat.js";
import type { StreamDelta } from "./types.js";
import { agentLoop, BASH, fixtureFetch, readFixture, transcript } from "./wire.test-util.js";

// Recorded-format fixtures (PROVIDERS.md §1): the paid API cannot be called here.
const ctx = (params: Record<string, unknown> = {}): RenderContext => ({ provider: "openai-chat", model: "gpt-5.4", system: "You are an agent.", tools: [BASH], options: { params: params as never } });
const STREAM = { stream: true, stream_options: { include_usage: true } };
const t = transcript(agentLoop());
const compiled = compile(t, ctx(), { conversation: "c", branch: "main" });
const transport = (f: typeof fetch, maxRetries = 0) => createOpenAIChatTransport({ apiKey: "sk-test", fetch: f, maxRetries });

describe("openai-chat transport (recorded wire fixtures)", () => {
  it("sends the compiled bytes (not streaming) and reads usage with cache writes", async () => {
    const wire = fixtureFetch({ body: readFixture("openai-chat.json") });
    const r = await transport(wire.fetch).send({ compiled, model: "gpt-5.4", stream: false });
    expect(wire.requests).toHaveLength(1);
    expect(wire.requests[0]!.url).toBe("https://api.openai.com/v1/chat/completions");
    expect(wire.requests[0]!.body).toBe(compiled.body);
    expect(wire.requests[0]!.headers.get("authorization")).toBe("Bearer sk-test");
    expect(r.entry.content).toEqual({ text: "Done." });
    expect(r.usage).toMatchObject({ promptTokens: 5120, cachedTokens: 4096, cacheWriteTokens: 1024, outputTokens: 3, reasoningTokens: 0, ttftMs: null });
    expect(r.meta).toEqual({ provider: "openai", model: "gpt-5.6-2026-07-09" });
    expect(r.stopReason).toBe("stop");
    expect(r.blobs).toEqual([]);
  });

  it("streams: the bytes are compile's with the stream params; text, tool call and usage come out of the chunks", async () => {
    const wire = fixtureFetch({ body: readFixture("openai-chat.stream.sse") });
    const deltas: StreamDelta[] = [];
    const r = await transport(wire.fetch).send({ compiled, model: "gpt-5.4", onDelta: (d) => deltas.push(d) });
    expect(wire.requests[0]!.body).toBe(compile(t, ctx(STREAM), { conversation: "c", branch: "main" }).body);
    expect(r.entry.content).toEqual({ text: "Listing the files.", toolCalls: [{ id: "call_Q1", name: "bash", arguments: { cmd: "ls -la" } }] });
    expect(r.usage).toMatchObject({ promptTokens: 2731, cachedTokens: 2560, cacheWriteTokens: 0, outputTokens: 42, reasoningTokens: 18 });
    expect(r.usage.ttftMs).not.toBeNull();
    expect(r.stopReason).toBe("tool_calls");
    expect(r.responseId).toBe("chatcmpl-Cx1");
    expect(deltas.filter((d) => d.type === "text").map((d) => (d as { text: string }).text)).toEqual(["Listing", " the files."]);
    expect(deltas.filter((d) => d.type === "tool-call").map((d) => (d as { argumentsDelta: string }).argumentsDelta).join("")).toBe('{"cmd":"ls -la"}');
    expect(r.warnings).toEqual([]);
  });

  it("a warm-up inserts max_completion_tokens where compile would, and changes nothing else", async () => {
    const wire = fixtureFetch({ body: readFixture("openai-chat.json") });
    await transport(wire.fetch).send({ compiled, model: "gpt-5.4", stream: false, maxOutputTokens: 1 });
    expect(wire.requests[0]!.body).toBe(compile(t, ctx({ max_completion_tokens: 1 }), { conversation: "c", branch: "main" }).body);
    await transport(wire.fetch).send({ compiled, model: "gpt-5.4", maxOutputTokens: 1 });
    expect(wire.requests[1]!.body).toBe(compile(t, ctx({ max_completion_tokens: 1, ...STREAM }), { conversation: "c", branch: "main" }).body);
    // an existing max_tokens is the field that changes
    const withLimit = compile(t, ctx({ max_tokens: 500 }));
    await transport(wire.fetch).send({ compiled: withLimit, model: "gpt-5.4", stream: false, maxOutputTokens: 1 });
    expect(wire.requests[2]!.body).toBe(withLimit.body.replace('"max_tokens":500', '"max_tokens":1'));
  });

  it("documented errors become ProviderErrors; the SDK retries what is retryable, with the same bytes", async () => {
    const error = (status: number, message: string, type: string, code: string | null) => ({ status, body: JSON.stringify({ error: { message, type, param: null, code } }) });
    const cases: [ReturnType<typeof error>, string][] = [
      [error(429, "Rate limit reached for gpt-5.4 on tokens per min (TPM): Limit 30000, Used 30000, Requested 2731.", "tokens", "rate_limit_exceeded"), "rate-limited"],
      [error(400, "This model's maximum context length is 400000 tokens. However, your messages resulted in 401234 tokens.", "invalid_request_error", "context_length_exceeded"), "context-too-long"],
      [error(401, "Incorrect API key provided: sk-test. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key"), "unauthorized"],
      [error(500, "The server had an error while processing your request. Sorry about that!", "server_error", null), "upstream"],
      [error(400, "Invalid 'messages[2].tool_call_id': string too long.", "invalid_request_error", "string_above_max_length"), "bad-request"],
    ];
    for (const [answer, code] of cases) {
      const wire = fixtureFetch(answer);
      const e = await transport(wire.fetch).send({ compiled, model: "gpt-5.4", stream: false }).catch((x: unknown) => x);
      expect(isProviderError(e) && { code: e.code, status: e.status, message: e.providerMessage }).toEqual({ code, status: answer.status, message: JSON.parse(answer.body).error.message });
    }
    const midStream = fixtureFetch({ body: `${readFixture("openai-chat.stream.sse").split("\n\n").slice(0, 2).join("\n\n")}\n\ndata: {"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}\n\n` });
    const e = await transport(midStream.fetch).send({ compiled, model: "gpt-5.4" }).catch((x: unknown) => x);
    expect(isProviderError(e) && e.code).toBe("upstream");
    const retried = fixtureFetch({ ...cases[0]![0], headers: { "retry-after-ms": "1" } }, { body: readFixture("openai-chat.json") });
    const r = await transport(retried.fetch, 1).send({ compiled, model: "gpt-5.4", stream: false });
    expect(r.entry.content.text).toBe("Done.");
    expect(retried.requests.map((q) => q.body)).toEqual([compiled.body, compiled.body]);
  });
});

import { compile, type RenderContext } from "@ctxsync/compile";
import { describe, expect, it } from "vitest";
import { isProviderError } from "./errors.js";
import { createOpenAIResponsesTransport } from "./openai-responses.js";
import { agentLoop, BASH, fixtureFetch, readFixture, transcript } from "./wire.test-util.js";

// Recorded-format fixtures (PROVIDERS.md §2): the paid API cannot be called here.
const ctx = (params: Record<string, unknown> = {}): RenderContext => ({ provider: "openai-responses", model: "gpt-5.5", system: "You are an agent.", tools: [BASH], options: { params: params as never } });
const t = transcript(agentLoop());
const compiled = compile(t, ctx(), { conversation: "c" });
const transport = (f: typeof fetch) => createOpenAIResponsesTransport({ apiKey: "sk-test", fetch: f, maxRetries: 0 });

describe("openai-responses transport (recorded wire fixtures)", () => {
  it("streams: bytes as compiled plus stream; items from output_item.done; blobs in output order", async () => {
    const wire = fixtureFetch({ body: readFixture("openai-responses.stream.sse") });
    const r = await transport(wire.fetch).send({ compiled, model: "gpt-5.5" });
    expect(wire.requests[0]!.url).toBe("https://api.openai.com/v1/responses");
    expect(wire.requests[0]!.body).toBe(compile(t, ctx({ stream: true }), { conversation: "c" }).body);
    expect(r.entry.content).toEqual({ text: "Let me look.", reasoning: "**Checking files**", toolCalls: [{ id: "call_7", name: "bash", arguments: { cmd: "ls" } }] });
    expect(r.blobs).toEqual([
      // the whole blob from `.done`, not the partial one from `.added`
      { kind: "openai.reasoning", order: 0, data: { id: "rs_0a1", encrypted_content: "gAAAAABpartialREST-OF-THE-BLOB==", summary: [{ type: "summary_text", text: "**Checking files**" }] } },
      { kind: "openai.output_item", order: 1, data: { type: "message", id: "msg_0a1", phase: "commentary", status: "completed" } },
      { kind: "openai.output_item", order: 2, data: { type: "function_call", id: "fc_0a1", call_id: "call_7", status: "completed" } },
    ]);
    expect(r.usage).toMatchObject({ promptTokens: 8192, cachedTokens: 7936, cacheWriteTokens: 0, outputTokens: 120, reasoningTokens: 96 });
    expect(r.usage.ttftMs).not.toBeNull();
    expect(r.responseId).toBe("resp_0a1");
    expect(r.meta).toEqual({ provider: "openai", model: "gpt-5.5-2026-04-23" });
  });

  it("not streaming: the stored response's id is the last blob", async () => {
    const response = { id: "resp_9", object: "response", status: "completed", model: "gpt-5.5", store: true, output: [{ id: "msg_9", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: "Hi.", annotations: [] }] }], usage: { input_tokens: 10, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 10 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 12 } };
    const wire = fixtureFetch({ body: JSON.stringify(response) });
    const r = await transport(wire.fetch).send({ compiled, model: "gpt-5.5", stream: false });
    expect(wire.requests[0]!.body).toBe(compiled.body);
    expect(r.blobs.map((b) => [b.kind, b.order])).toEqual([["openai.output_item", 0], ["openai.response", 1]]);
    expect(r.blobs[1]!.data).toEqual({ id: "resp_9" });
    expect(r.usage).toMatchObject({ promptTokens: 10, cachedTokens: 0, cacheWriteTokens: 10, outputTokens: 2, ttftMs: null });
  });

  it("a warm-up sets max_output_tokens, raised to the minimum of 16 with a warning", async () => {
    const wire = fixtureFetch({ body: readFixture("openai-responses.stream.sse") });
    const r = await transport(wire.fetch).send({ compiled, model: "gpt-5.5", maxOutputTokens: 1 });
    expect(wire.requests[0]!.body).toBe(compile(t, ctx({ max_output_tokens: 16, stream: true }), { conversation: "c" }).body);
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: "output-limit-raised", requested: 1, used: 16 }));
  });

  it("an unknown or expired previous_response_id is state-gone; a corrupted encrypted item is bad-request", async () => {
    const gone = fixtureFetch({ status: 400, body: JSON.stringify({ error: { message: "Previous response with id 'resp_old' not found.", type: "invalid_request_error", param: "previous_response_id", code: "previous_response_not_found" } }) });
    const e = await transport(gone.fetch).send({ compiled, model: "gpt-5.5" }).catch((x: unknown) => x);
    expect(isProviderError(e) && [e.code, e.status, e.providerCode]).toEqual(["state-gone", 400, "previous_response_not_found"]);
    const corrupt = fixtureFetch({ status: 400, body: JSON.stringify({ error: { message: "The encrypted content gAAA...Rg== could not be verified.", type: "invalid_request_error", param: null, code: "invalid_encrypted_content" } }) });
    const c = await transport(corrupt.fetch).send({ compiled, model: "gpt-5.5" }).catch((x: unknown) => x);
    expect(isProviderError(c) && [c.code, c.providerCode]).toEqual(["bad-request", "invalid_encrypted_content"]);
    const failed = fixtureFetch({ body: 'event: response.failed\ndata: {"type":"response.failed","sequence_number":1,"response":{"id":"resp_f","status":"failed","error":{"code":"server_error","message":"The model failed to generate a response."}}}\n\n' });
    const f = await transport(failed.fetch).send({ compiled, model: "gpt-5.5" }).catch((x: unknown) => x);
    expect(isProviderError(f) && [f.code, f.providerMessage]).toEqual(["upstream", "The model failed to generate a response."]);
  });
});

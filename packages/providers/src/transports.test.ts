import { compile } from "@ctxsync/compile";
import { describe, expect, it } from "vitest";
import { isProviderError } from "./errors.js";
import { createGeminiTransport } from "./gemini.js";
import { createOpenAIChatTransport } from "./openai-chat.js";
import { createOpenAICompatibleTransport } from "./openai-compatible.js";
import { createTransport } from "./transports.js";
import { PROVIDER_IDS } from "./types.js";
import { fixtureFetch, readFixture, transcript, user } from "./wire.test-util.js";

const compiled = compile(transcript([user("hi")]), { provider: "openai-chat", model: "gpt-5.4" });

describe("transports: bad input gets a clear error and sends nothing", () => {
  it("every provider id has a transport; an unknown one is refused", () => {
    for (const id of PROVIDER_IDS) expect(createTransport(id, { baseURL: "http://127.0.0.1:1/v1", apiKey: "k" }).provider).toBe(id);
    expect(() => createTransport("nope" as never)).toThrow(expect.objectContaining({ name: "ProviderError", code: "bad-request" }));
    expect(() => createOpenAICompatibleTransport({})).toThrow(/baseURL is required/);
  });

  it("a negative or fractional output limit, or a body that is not a JSON object", async () => {
    const wire = fixtureFetch({ body: readFixture("openai-chat.json") });
    const t = createOpenAIChatTransport({ apiKey: "k", fetch: wire.fetch });
    for (const maxOutputTokens of [-1, 1.5]) {
      const e = await t.send({ compiled, model: "gpt-5.4", maxOutputTokens }).catch((x: unknown) => x);
      expect(isProviderError(e) && e.code).toBe("bad-request");
    }
    const e = await t.send({ compiled: { ...compiled, body: "[1,2]" }, model: "gpt-5.4" }).catch((x: unknown) => x);
    expect(isProviderError(e) && e.message).toMatch(/compiled body: not a JSON object/);
    expect(wire.requests).toHaveLength(0);
  });

  it("tool-call arguments that are not JSON are kept as text, with a warning", async () => {
    const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-5.4", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const body = chunk({ tool_calls: [{ index: 0, id: "call_x", type: "function", function: { name: "bash", arguments: '{"cmd": "ls' } }] }) + chunk({}, "tool_calls") + "data: [DONE]\n\n";
    const r = await createOpenAIChatTransport({ apiKey: "k", fetch: fixtureFetch({ body }).fetch }).send({ compiled, model: "gpt-5.4" });
    expect(r.entry.content.toolCalls).toEqual([{ id: "call_x", name: "bash", argumentsText: '{"cmd": "ls' }]);
    expect(r.warnings.map((w) => w.code)).toEqual(["tool-arguments-invalid", "usage-missing"]);
  });

  it("gemini: a signature on an empty text part before function calls has no part to go back on", async () => {
    const response = { candidates: [{ content: { role: "model", parts: [{ text: "", thoughtSignature: "sigT" }, { functionCall: { name: "ls", args: {} }, thoughtSignature: "sigF" }] }, finishReason: "STOP" }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 1, totalTokenCount: 4 }, responseId: "r1" };
    const body = '{"contents":[{"parts":[{"text":"hi"}],"role":"user"}]}';
    const r = await createGeminiTransport({ apiKey: "k", fetch: fixtureFetch({ body: JSON.stringify(response) }).fetch }).send({ compiled: { provider: "gemini", body, request: JSON.parse(body) }, model: "gemini-3-pro-preview", stream: false });
    expect(r.blobs).toEqual([{ kind: "gemini.thought_signature", order: 0, data: { part: 0, signature: "sigF" } }]);
    expect(r.warnings.map((w) => w.code)).toEqual(["signature-unplaced"]);
  });
});

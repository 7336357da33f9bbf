// The histories providers refuse, one case per test (issue 11 items 1–5, 7; item 6 is
// templates.jinja.test.ts): what the renderer sends instead, the warning that says so, and
// checkRequest proving the provider's rule holds (and that the naive request would break it).
import { describe, expect, it } from "vitest";
import { asEntryId, type EntryId, type EntryInput, type HiddenBlob } from "@ctxsync/core";
import { checkRequest } from "./check/index.js";
import { compile } from "./compile.js";
import type { RenderContext, RendererId } from "./context.js";
import { buildTranscript, SYSTEM, testBlob, TOOLS } from "./fixtures.test-util.js";
import type { AnthropicRequest } from "./renderers/anthropic.js";
import type { GeminiRequest } from "./renderers/gemini.js";
import type { OpenAIChatRequest } from "./renderers/openai-chat.js";
import type { OpenAIResponsesRequest } from "./renderers/openai-responses.js";
import type { CompileWarning } from "./warnings.js";

const ctx = <P extends RendererId>(provider: P, extra: Partial<Omit<RenderContext, "provider">> = {}): RenderContext & { provider: P } => ({
  provider,
  model: provider === "anthropic" ? "claude-sonnet-4-5" : provider === "gemini" ? "gemini-3-pro" : provider === "deepseek" ? "deepseek-chat" : "gpt-5.4",
  system: SYSTEM,
  tools: TOOLS,
  ...extra,
});
const blobsOf = (m: Record<string, HiddenBlob[]>) => (id: EntryId) => m[id] ?? [];
const codes = (ws: readonly CompileWarning[]) => ws.map((w) => w.code);
const search = (id: string) => ({ id, name: "search_flights", arguments: { from: "SFO", to: "JFK", date: "2024-06-01" } });
const JSON_RENDERERS = ["openai-chat", "openai-responses", "anthropic", "gemini", "deepseek"] as const;

describe("1. entries logged between a tool call and its result", () => {
  // The laptop's agent calls two tools; meanwhile the phone logs a user message and a config change,
  // and a runner logs a stray result; then the results arrive, in another order.
  const LOOP: EntryInput[] = [
    { kind: "user", content: { text: "Find flights." } },
    { kind: "assistant", content: { text: "", toolCalls: [search("call_a"), search("call_b")] } },
    { kind: "user", content: { text: "Only morning flights please" } },
    { kind: "config", content: { changes: { sandbox: "read-only" } } },
    { kind: "tool_result", content: { callId: "call_b", text: "UA2" } },
    { kind: "tool_result", content: { callId: "stray", text: "late output" } },
    { kind: "tool_result", content: { callId: "call_a", text: "UA1" } },
  ];
  const t = buildTranscript(LOOP);

  it("OpenAI Chat: the results follow the calls, the moved entries come after them, with a warning", () => {
    const r = compile(t, ctx("openai-chat"));
    const roles = (r.request as OpenAIChatRequest).messages.map((m) => m.role);
    expect(roles).toEqual(["system", "user", "assistant", "tool", "tool", "user", "system", "user"]);
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: "entries-moved", entryIds: ["e3", "e4", "e6"], after: "e7" }));
    expect(checkRequest("openai-chat", r.body)).toEqual([]);
    // The request in logged order is the one OpenAI refuses.
    const naive = { model: "gpt-5.4", messages: [{ role: "user", content: "Find flights." }, (r.request as OpenAIChatRequest).messages[2], { role: "user", content: "Only morning flights please" }, (r.request as OpenAIChatRequest).messages[3]] };
    expect(checkRequest("openai-chat", naive).map((v) => v.rule)).toContain("openai-chat.tool-calls-answered");
  });

  it("Anthropic: tool_result blocks first in the user message, the moved text after them", () => {
    const r = compile(t, ctx("anthropic"));
    const last = (r.request as AnthropicRequest).messages.at(-1)!;
    expect(last.content.map((b) => b.type)).toEqual(["tool_result", "tool_result", "text", "text", "text"]);
    expect(checkRequest("anthropic", r.body)).toEqual([]);
  });

  it("every JSON renderer passes its provider's rules; a later turn extends the request (the move is stable)", () => {
    const later = buildTranscript([...LOOP, { kind: "assistant", content: { text: "UA1 leaves at 8." } }, { kind: "user", content: { text: "Book it." } }]);
    for (const p of JSON_RENDERERS) {
      const r = compile(t, ctx(p));
      expect(checkRequest(p, r.body, { model: r.model }), p).toEqual([]);
      const next = compile(later, ctx(p));
      expect(next.prefix.slice(0, r.manifest.stableEnd), p).toBe(r.prefix.slice(0, r.manifest.stableEnd));
    }
  });

  it("a loop closed by the next assistant turn with a call unanswered gets an error result", () => {
    const abandoned = buildTranscript([
      { kind: "user", content: { text: "Find flights." } },
      { kind: "assistant", content: { text: "", toolCalls: [search("call_a"), search("call_b")] } },
      { kind: "tool_result", content: { callId: "call_a", text: "UA1" } },
      { kind: "assistant", content: { text: "Only one result came back." } },
      { kind: "user", content: { text: "ok" } },
    ]);
    for (const p of JSON_RENDERERS) {
      const r = compile(abandoned, ctx(p));
      expect(r.warnings, p).toContainEqual(expect.objectContaining({ code: "missing-tool-result", entryId: "e2", callId: "call_b" }));
      expect(checkRequest(p, r.body, { model: r.model }), p).toEqual([]);
    }
  });

  it("a request compiled while results are still missing stands in error results (tool-results-pending)", () => {
    const r = compile(t.slice(0, 4), ctx("openai-chat"));
    expect(codes(r.warnings)).toContain("tool-results-pending");
    expect(checkRequest("openai-chat", r.body)).toEqual([]);
  });
});

describe("2. provider switched in the middle of a tool loop", () => {
  // Claude (thinking on) calls a tool, then the session switches to GPT for the next step of the same loop.
  const SWITCH: EntryInput[] = [
    { kind: "user", content: { text: "Find flights." } },
    { kind: "assistant", content: { text: "", toolCalls: [search("toolu_1")] } },
    { kind: "tool_result", content: { callId: "toolu_1", text: "UA1" } },
    { kind: "assistant", content: { text: "Checking another date.", toolCalls: [search("call_2")] } },
    { kind: "tool_result", content: { callId: "call_2", text: "UA3" } },
  ];
  const t = buildTranscript(SWITCH);
  const hidden = blobsOf({
    e2: [testBlob("e2", "anthropic", "claude-sonnet-4-5", "anthropic.thinking", 0, { thinking: "search first", signature: "SIG2" })],
    e4: [testBlob("e4", "openai", "gpt-5.4", "openai.reasoning", 0, { id: "rs_4", encrypted_content: "enc" })],
  });
  const thinkingOn = ctx("anthropic", { options: { params: { max_tokens: 8192, thinking: { type: "enabled", budget_tokens: 2048 } } } });

  it("Anthropic, thinking on: the turn without a thinking block and its result go as text; the request passes", () => {
    const r = compile(t, thinkingOn, { hidden });
    const msgs = (r.request as AnthropicRequest).messages;
    expect(msgs[1]!.content.map((b) => b.type)).toEqual(["thinking", "tool_use"]);
    expect(msgs[3]!.content).toEqual([{ type: "text", text: 'Checking another date.\n\n<tool_call id="call_2" name="search_flights">{"date":"2024-06-01","from":"SFO","to":"JFK"}</tool_call>' }]);
    expect(msgs[4]!.content).toEqual([expect.objectContaining({ type: "text", text: '<tool_result id="call_2">UA3</tool_result>' })]);
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: "tool-loop-as-text", entryIds: ["e4"] }));
    expect(checkRequest("anthropic", r.body)).toEqual([]);
    // Sent as a tool loop, the same history is the 400 users report.
    const plain = compile(t, ctx("anthropic"), { hidden });
    const withThinking = { ...JSON.parse(plain.body), thinking: { type: "enabled", budget_tokens: 2048 }, max_tokens: 8192 };
    expect(checkRequest("anthropic", withThinking).map((v) => v.rule)).toEqual(["anthropic.thinking-final-assistant"]);
  });

  it("Gemini 3: a function call no Gemini model signed carries the documented placeholder signature", () => {
    const r = compile(t, ctx("gemini"), { hidden });
    const model = (r.request as GeminiRequest).contents.filter((c) => c.role === "model");
    expect(model.map((c) => c.parts.find((p) => p.functionCall)?.thoughtSignature)).toEqual(["skip_thought_signature_validator", "skip_thought_signature_validator"]);
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: "thought-signature-placeholder", entryIds: ["e2", "e4"] }));
    expect(checkRequest("gemini", r.body, { model: "gemini-3-pro" })).toEqual([]);
    const unsigned = JSON.parse(r.body) as GeminiRequest;
    for (const c of unsigned.contents) for (const p of c.parts) delete p.thoughtSignature;
    expect(new Set(checkRequest("gemini", unsigned, { model: "gemini-3-pro" }).map((v) => v.rule))).toEqual(new Set(["gemini.thought-signature"]));
    // Gemini 2.x does not validate signatures: nothing is added.
    expect(compile(t, ctx("gemini", { model: "gemini-2.5-flash" }), { hidden }).body).not.toContain("skip_thought_signature_validator");
  });
});

describe("3. Responses stateless replay: each reasoning item keeps its following item", () => {
  const t = buildTranscript([
    { kind: "user", content: { text: "Find flights." } },
    { kind: "assistant", content: { text: "Let me search.", toolCalls: [search("call_1")] } },
    { kind: "tool_result", content: { callId: "call_1", text: "UA1" } },
  ]);
  const blob = (kind: string, order: number, data: HiddenBlob["data"]) => testBlob("e2", "openai", "gpt-5.4", kind, order, data);

  it("output items give the message and the call their msg_/fc_ ids and phase, interleaved with the reasoning as produced", () => {
    const hidden = blobsOf({
      e2: [
        blob("openai.reasoning", 0, { id: "rs_1", encrypted_content: "enc1" }),
        blob("openai.output_item", 1, { type: "message", id: "msg_1", phase: "commentary", status: "completed" }),
        blob("openai.reasoning", 2, { id: "rs_2", encrypted_content: "enc2" }),
        blob("openai.output_item", 3, { type: "function_call", id: "fc_1", call_id: "call_1", status: "completed" }),
        blob("openai.response", 4, { id: "resp_1" }),
      ],
    });
    const r = compile(t, ctx("openai-responses"), { hidden });
    const input = (r.request as OpenAIResponsesRequest).input;
    expect(input.slice(1, 5)).toEqual([
      { type: "reasoning", id: "rs_1", summary: [], encrypted_content: "enc1" },
      { type: "message", role: "assistant", id: "msg_1", status: "completed", content: [{ type: "output_text", text: "Let me search.", annotations: [] }], phase: "commentary" },
      { type: "reasoning", id: "rs_2", summary: [], encrypted_content: "enc2" },
      { type: "function_call", call_id: "call_1", name: "search_flights", arguments: '{"date":"2024-06-01","from":"SFO","to":"JFK"}', id: "fc_1", status: "completed" },
    ]);
    expect(codes(r.warnings)).not.toContain("reasoning-item-unpaired");
    expect(checkRequest("openai-responses", r.body)).toEqual([]);
  });

  it("a log from before output-item blobs renders as before, with a warning, and the check names the API's error", () => {
    const hidden = blobsOf({ e2: [blob("openai.reasoning", 0, { id: "rs_1", encrypted_content: "enc1" })] });
    const r = compile(t, ctx("openai-responses"), { hidden });
    expect((r.request as OpenAIResponsesRequest).input.slice(1, 4).map((i) => [i.type, "id" in i ? i.id : undefined])).toEqual([
      ["reasoning", "rs_1"],
      ["message", undefined],
      ["function_call", undefined],
    ]);
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: "reasoning-item-unpaired", entryId: "e2" }));
    expect(checkRequest("openai-responses", r.body).map((v) => v.rule)).toEqual(["openai-responses.reasoning-followed"]);
  });

  it("an output item naming a call the turn does not make is dropped with a reason", () => {
    const hidden = blobsOf({ e2: [blob("openai.output_item", 0, { type: "function_call", id: "fc_9", call_id: "call_9" })] });
    const r = compile(t, ctx("openai-responses"), { hidden });
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: "hidden-dropped", reason: "bad-data", blobKind: "openai.output_item" }));
    expect(r.body).not.toContain("fc_9");
  });
});

describe("4. Anthropic: ids, empty error results, whitespace", () => {
  const t = buildTranscript([
    { kind: "user", content: { text: "Find flights." } },
    { kind: "assistant", content: { text: "", toolCalls: [search("functions.search:0")] } },
    { kind: "tool_result", content: { callId: "functions.search:0", text: "", isError: true } },
    { kind: "assistant", content: { text: "", toolCalls: [search("call_1")] } },
    { kind: "tool_result", content: { callId: "call_1", text: "UA1" } },
    { kind: "user", content: { text: "  \n" } },
    { kind: "assistant", content: { text: "", toolCalls: [search("call_1")] } },
    { kind: "tool_result", content: { callId: "call_1", text: "UA2" } },
    { kind: "assistant", content: { text: "Done. \n" } },
  ]);

  it("ids in another provider's format and reused ids are mapped, deterministically, results included", () => {
    const r = compile(t, ctx("anthropic"));
    const blocks = (r.request as AnthropicRequest).messages.flatMap((m) => m.content);
    const uses = blocks.flatMap((b) => (b.type === "tool_use" ? [b.id] : []));
    const results = blocks.flatMap((b) => (b.type === "tool_result" ? [b.tool_use_id] : []));
    expect(uses).toEqual([expect.stringMatching(/^functions_search_0_[0-9a-f]{8}$/), "call_1", "call_1_2"]);
    expect(results).toEqual(uses);
    expect(r.warnings.filter((w) => w.code === "tool-call-id-mapped").map((w) => (w as { reason: string }).reason)).toEqual(["pattern", "duplicate"]);
    expect(compile(t, ctx("anthropic")).body).toBe(r.body);
    // The request sent before the second tool call maps the same way (a function of the ids before it only).
    const earlier = compile(t.slice(0, 3), ctx("anthropic"));
    expect(r.prefix.startsWith(earlier.prefix.slice(0, earlier.manifest.stableEnd))).toBe(true);
  });

  it("an empty is_error result, a whitespace-only text and a final assistant turn ending in whitespace are mapped; the request passes", () => {
    const r = compile(t, ctx("anthropic"));
    const msgs = (r.request as AnthropicRequest).messages;
    expect(msgs[2]!.content[0]).toMatchObject({ type: "tool_result", content: "(empty)", is_error: true });
    expect(msgs[4]!.content.at(-1)).toEqual({ type: "text", text: "(empty)" });
    expect(msgs.at(-1)!.content).toEqual([expect.objectContaining({ type: "text", text: "Done." })]);
    expect(codes(r.warnings)).toEqual(expect.arrayContaining(["empty-content", "trailing-whitespace-trimmed", "tool-call-id-mapped"]));
    expect(checkRequest("anthropic", r.body)).toEqual([]);
  });

  it("with thinking off, an assistant message in the final position goes without its thinking blocks", () => {
    const hidden = blobsOf({ e9: [testBlob("e9", "anthropic", "claude-sonnet-4-5", "anthropic.thinking", 0, { thinking: "t", signature: "SIG" })] });
    const r = compile(t, ctx("anthropic"), { hidden });
    expect(r.body).not.toContain("SIG");
    expect(codes(r.warnings)).toContain("thinking-dropped");
    expect(checkRequest("anthropic", r.body)).toEqual([]);
  });
});

describe("5. Gemini: the body is the REST GenerateContentRequest", () => {
  const t = buildTranscript([{ kind: "user", content: { text: "Find flights." } }]);
  it("camelCase REST members only, the model outside the body, the manifest indexing exactly those bytes", () => {
    const r = compile(t, ctx("gemini", { options: { params: { generationConfig: { temperature: 0 } } } }));
    const body = JSON.parse(r.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["generationConfig", "tools", "systemInstruction", "contents"]);
    expect(r.model).toBe("gemini-3-pro");
    expect(r.prefix).toBe(r.body);
    expect(Buffer.byteLength(r.body)).toBe(r.manifest.totals.bytes);
    expect(checkRequest("gemini", r.body, { model: r.model })).toEqual([]);
    // The SDK's parameter shape is not a REST body.
    expect(checkRequest("gemini", { model: "gemini-3-pro", contents: body.contents, config: { temperature: 0 } }).map((v) => v.rule)).toEqual(["gemini.rest-fields", "gemini.rest-fields"]);
  });
});

describe("7. lone surrogates in template prompts", () => {
  const t = buildTranscript([{ kind: "user", content: { text: "cut emoji \ud83d" } }]);
  it("are written as U+FFFD, with a warning naming the entry; JSON bodies keep the escape", () => {
    for (const p of ["chatml", "qwen3", "llama3"] as const) {
      const r = compile(t, ctx(p, { system: "sys \udc00" }));
      expect(r.prefix, p).toContain("cut emoji \ufffd");
      expect(r.prefix, p).toContain("sys \ufffd");
      expect(r.warnings, p).toContainEqual(expect.objectContaining({ code: "lone-surrogate", entryIds: ["e1"] }));
      expect(r.warnings, p).toContainEqual(expect.objectContaining({ code: "static-lone-surrogate", where: "system" }));
      expect(Buffer.byteLength(r.prefix), p).toBe(r.manifest.totals.bytes);
      expect(checkRequest(p, r.body), p).toEqual([]);
    }
    expect(checkRequest("chatml", { model: "m", prompt: "<|im_start|>user\n\ud83d<|im_end|>\n<|im_start|>assistant\n" }).map((v) => v.rule)).toEqual(["template.lone-surrogate"]);
    expect(compile(t, ctx("openai-chat")).body).toContain("cut emoji \\ud83d");
  });
});

describe("warnings stay a discriminated union", () => {
  it("every warning has a code and a message; entry-list codes carry entryIds", () => {
    const t = buildTranscript([
      { kind: "user", content: { text: "x" } },
      { kind: "assistant", content: { text: "a ", reasoning: "r", toolCalls: [search("bad.id")] } },
      { kind: "user", content: { text: "meanwhile" } },
      { kind: "tool_result", content: { callId: "bad.id", text: "" , isError: true } },
    ]);
    for (const p of ["openai-chat", "openai-responses", "anthropic", "gemini", "deepseek", "chatml", "qwen3", "llama3"] as const)
      for (const w of compile(t, ctx(p)).warnings) {
        expect(typeof w.code).toBe("string");
        expect(w.message.length).toBeGreaterThan(10);
        if ("entryIds" in w) expect(Array.isArray(w.entryIds)).toBe(true);
      }
    void asEntryId;
  });
});

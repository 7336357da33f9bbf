// checkRequest is not vacuous: every rule of every provider catches a body that breaks it (and
// only that rule fires for it), and well-formed bodies pass.
import { describe, expect, it } from "vitest";
import { checkRequest, PROVIDER_RULES, type CheckedProvider } from "./index.js";

const user = (text: string) => ({ role: "user", content: text });
const tool = (id: string) => ({ type: "function", function: { name: "bash", parameters: { type: "object" } }, id });
const call = (id: string, name = "bash") => ({ id, type: "function", function: { name, arguments: "{}" } });
const aMsg = (content: unknown[]) => ({ role: "assistant", content });
const uMsg = (content: unknown[]) => ({ role: "user", content });
const text = (t: string) => ({ type: "text", text: t });
const use = (id: string) => ({ type: "tool_use", id, name: "bash", input: {} });
const result = (id: string, extra: object = {}) => ({ type: "tool_result", tool_use_id: id, content: "ok", ...extra });
const thinking = { type: "thinking", thinking: "t", signature: "s" };
const fc = (sig?: string) => ({ functionCall: { name: "bash", args: {} }, ...(sig ? { thoughtSignature: sig } : {}) });
const fr = { functionResponse: { name: "bash", response: { output: "ok" } } };
const prompt = (p: string) => ({ model: "m", prompt: p });
const CHATML_END = "<|im_start|>assistant\n";
const LLAMA_START = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nx<|eot_id|>";
const LLAMA_GEN = "<|start_header_id|>assistant<|end_header_id|>\n\n";

/** [provider, rule id, a body that breaks exactly that rule, model (Gemini)]. */
const BAD: [CheckedProvider, string, object, string?][] = [
  ["openai-chat", "openai-chat.messages-nonempty", { model: "m", messages: [] }],
  ["openai-chat", "openai-chat.tool-calls-answered", { model: "m", messages: [user("q"), { role: "assistant", content: null, tool_calls: [call("c1")] }, user("typed meanwhile")] }],
  ["openai-chat", "openai-chat.tool-message-answers-call", { model: "m", messages: [user("q"), { role: "tool", tool_call_id: "c9", content: "ok" }] }],
  ["openai-chat", "openai-chat.assistant-content", { model: "m", messages: [user("q"), { role: "assistant", content: null }] }],
  ["openai-chat", "openai-chat.roles", { model: "m", messages: [user("q"), { role: "robot", content: "x" }] }],
  ["openai-chat", "openai-chat.function-name-pattern", { model: "m", tools: [{ type: "function", function: { name: "functions.bash" } }], messages: [user("q")] }],
  ["openai-chat", "openai-chat.max-tools", { model: "m", tools: Array.from({ length: 129 }, (_, i) => ({ type: "function", function: { name: `t${i}` } })), messages: [user("q")] }],
  ["openai-chat", "openai-chat.max-breakpoints", { model: "m", messages: Array.from({ length: 5 }, () => ({ role: "user", content: [{ type: "text", text: "x", prompt_cache_breakpoint: { mode: "explicit" } }] })) }],
  ["openai-chat", "openai-chat.model", { messages: [user("q")] }],
  ["deepseek", "deepseek.reasoner-no-reasoning-content", { model: "deepseek-reasoner", messages: [user("q"), { role: "assistant", content: "a", reasoning_content: "r" }, user("q2")] }],
  ["openai-responses", "openai-responses.output-answers-call", { model: "m", input: [{ type: "function_call_output", call_id: "c9", output: "ok" }] }],
  ["openai-responses", "openai-responses.call-has-output", { model: "m", input: [{ type: "message", role: "user", content: "q" }, { type: "function_call", call_id: "c1", name: "bash", arguments: "{}" }] }],
  [
    "openai-responses",
    "openai-responses.reasoning-followed",
    { model: "m", input: [{ type: "message", role: "user", content: "q" }, { type: "reasoning", id: "rs_1", summary: [] }, { type: "message", role: "assistant", content: "a" }] },
  ],
  ["openai-responses", "openai-responses.id-prefix", { model: "m", input: [{ type: "reasoning", id: "rs_1", summary: [] }, { type: "function_call", id: "call_1", call_id: "c1", name: "bash", arguments: "{}" }, { type: "function_call_output", call_id: "c1", output: "ok" }] }],
  ["openai-responses", "openai-responses.function-name-pattern", { model: "m", tools: [{ type: "function", name: "a.b", parameters: null, strict: false }], input: [] }],
  ["openai-responses", "openai-responses.previous-response-store", { model: "m", previous_response_id: "resp_1", store: false, input: [] }],
  ["anthropic", "anthropic.max-tokens", { model: "m", messages: [uMsg([text("q")])] }],
  ["anthropic", "anthropic.messages-nonempty", { model: "m", max_tokens: 8, messages: [uMsg([])] }],
  ["anthropic", "anthropic.roles", { model: "m", max_tokens: 8, messages: [{ role: "system", content: [text("q")] }] }],
  ["anthropic", "anthropic.text-nonempty", { model: "m", max_tokens: 8, messages: [uMsg([text("")])] }],
  ["anthropic", "anthropic.text-nonwhitespace", { model: "m", max_tokens: 8, messages: [uMsg([text("  \n")])] }],
  ["anthropic", "anthropic.tool-use-id-pattern", { model: "m", max_tokens: 8, messages: [uMsg([text("q")]), aMsg([use("functions.bash:0")]), uMsg([result("functions.bash:0")])] }],
  ["anthropic", "anthropic.tool-use-id-unique", { model: "m", max_tokens: 8, messages: [uMsg([text("q")]), aMsg([use("c1")]), uMsg([result("c1")]), aMsg([use("c1")]), uMsg([result("c1")])] }],
  ["anthropic", "anthropic.tool-use-answered", { model: "m", max_tokens: 8, messages: [uMsg([text("q")]), aMsg([use("c1"), use("c2")]), uMsg([result("c1")])] }],
  ["anthropic", "anthropic.tool-result-answers-use", { model: "m", max_tokens: 8, messages: [uMsg([text("q")]), aMsg([text("a")]), uMsg([result("c1")])] }],
  ["anthropic", "anthropic.tool-results-first", { model: "m", max_tokens: 8, messages: [uMsg([text("q")]), aMsg([use("c1")]), uMsg([text("typed meanwhile"), result("c1")])] }],
  ["anthropic", "anthropic.tool-result-error-content", { model: "m", max_tokens: 8, messages: [uMsg([text("q")]), aMsg([use("c1")]), uMsg([result("c1", { is_error: true, content: "" })])] }],
  ["anthropic", "anthropic.final-assistant-whitespace", { model: "m", max_tokens: 8, messages: [uMsg([text("q")]), aMsg([text("a \n")])] }],
  ["anthropic", "anthropic.thinking-first", { model: "m", max_tokens: 8, thinking: { type: "enabled", budget_tokens: 1024 }, messages: [uMsg([text("q")]), aMsg([thinking, use("c1")]), uMsg([result("c1")]), aMsg([text("a"), thinking]), uMsg([text("q2")])] }],
  ["anthropic", "anthropic.thinking-final-assistant", { model: "m", max_tokens: 8, thinking: { type: "enabled", budget_tokens: 1024 }, messages: [uMsg([text("q")]), aMsg([use("c1")]), uMsg([result("c1")])] }],
  ["anthropic", "anthropic.thinking-disabled-final", { model: "m", max_tokens: 8, messages: [uMsg([text("q")]), aMsg([thinking, text("a")])] }],
  ["anthropic", "anthropic.max-breakpoints", { model: "m", max_tokens: 8, messages: Array.from({ length: 5 }, () => uMsg([{ ...text("x"), cache_control: { type: "ephemeral" } }])) }],
  ["anthropic", "anthropic.tool-name-pattern", { model: "m", max_tokens: 8, tools: [{ name: "a.b", input_schema: { type: "object" } }], messages: [uMsg([text("q")])] }],
  ["gemini", "gemini.rest-fields", { model: "gemini-3-pro", config: {}, contents: [{ role: "user", parts: [{ text: "q" }] }] }],
  ["gemini", "gemini.contents-nonempty", { contents: [] }],
  ["gemini", "gemini.roles", { contents: [{ role: "assistant", parts: [{ text: "q" }] }] }],
  ["gemini", "gemini.parts-nonempty", { contents: [{ role: "user", parts: [] }] }],
  ["gemini", "gemini.text-nonempty", { contents: [{ role: "user", parts: [{ text: "" }] }] }],
  ["gemini", "gemini.cached-content-exclusive", { cachedContent: "cachedContents/x", systemInstruction: { parts: [{ text: "s" }] }, contents: [{ role: "user", parts: [{ text: "q" }] }] }],
  ["gemini", "gemini.function-response-after-call", { contents: [{ role: "user", parts: [{ text: "q" }] }, { role: "model", parts: [{ text: "a" }] }, { role: "user", parts: [fr] }] }],
  ["gemini", "gemini.function-response-count", { contents: [{ role: "user", parts: [{ text: "q" }] }, { role: "model", parts: [fc("s"), fc()] }, { role: "user", parts: [fr] }] }],
  ["gemini", "gemini.function-response-turn-only", { contents: [{ role: "user", parts: [{ text: "q" }] }, { role: "model", parts: [fc("s")] }, { role: "user", parts: [fr, { text: "typed meanwhile" }] }] }],
  ["gemini", "gemini.function-call-after-user", { contents: [{ role: "user", parts: [{ text: "q" }] }, { role: "model", parts: [{ text: "a" }] }, { role: "model", parts: [fc("s")] }, { role: "user", parts: [fr] }] }],
  ["gemini", "gemini.thought-signature", { contents: [{ role: "user", parts: [{ text: "q" }] }, { role: "model", parts: [fc()] }, { role: "user", parts: [fr] }] }, "gemini-3-pro"],
  ["chatml", "template.completion-request", { model: "m" }],
  ["chatml", "template.lone-surrogate", prompt(`<|im_start|>user\nq \ud83d<|im_end|>\n${CHATML_END}`)],
  ["chatml", "template.turns-closed", prompt(`<|im_start|>user\nq\n${CHATML_END}`)],
  ["llama3", "llama3.single-tool-call", prompt(`${LLAMA_START}<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "a", "parameters": {}}{"name": "b", "parameters": {}}<|eot_id|>${LLAMA_GEN}`)],
];

const GOOD: [CheckedProvider, object, string?][] = [
  ["openai-chat", { model: "m", tools: [tool("x")], messages: [user("q"), { role: "assistant", content: null, tool_calls: [call("c1")] }, { role: "tool", tool_call_id: "c1", content: "ok" }, user("next")] }],
  ["anthropic", { model: "m", max_tokens: 8, thinking: { type: "enabled", budget_tokens: 1024 }, messages: [uMsg([text("q")]), aMsg([thinking, use("c1")]), uMsg([result("c1"), text("typed meanwhile")])] }],
  ["gemini", { contents: [{ role: "user", parts: [{ text: "q" }] }, { role: "model", parts: [fc("s")] }, { role: "user", parts: [fr] }, { role: "user", parts: [{ text: "typed meanwhile" }] }] }, "gemini-3-pro"],
  ["gemini", { contents: [{ role: "user", parts: [{ text: "q" }] }, { role: "model", parts: [fc()] }, { role: "user", parts: [fr] }] }, "gemini-2.5-flash"],
  ["llama3", prompt(`${LLAMA_START}<|start_header_id|>user<|end_header_id|>\n\nq<|eot_id|>${LLAMA_GEN}`)],
];

describe("checkRequest", () => {
  it.each(BAD)("%s: %s catches a body that breaks it", (provider, id, body, model) => {
    const v = checkRequest(provider, JSON.stringify(body), model ? { model } : {});
    expect([...new Set(v.map((x) => x.rule))], JSON.stringify(v)).toEqual([id]);
    expect(v[0]!.message.length).toBeGreaterThan(20);
  });

  it("every rule of every provider is caught by one of those bodies", () => {
    const all = Object.values(PROVIDER_RULES).flat().map((r) => r.id);
    for (const id of all) expect(BAD.map((b) => b[1]), id).toContain(id);
  });

  it.each(GOOD)("%s: a well-formed body passes", (provider, body, model) => {
    expect(checkRequest(provider, body, model ? { model } : {})).toEqual([]);
  });

  it("a body that is not JSON is one violation, not a throw", () => {
    expect(checkRequest("anthropic", "{not json")).toEqual([expect.objectContaining({ rule: "json" })]);
    expect(checkRequest("gemini", "[]")).toEqual([expect.objectContaining({ rule: "json" })]);
  });
});

import { canonicalJson } from "@ctxsync/core";
import { factsFor } from "@ctxsync/providers";
import { describe, expect, it } from "vitest";
import { createAnthropicSimulator } from "./anthropic.js";
import { createDeepSeekSimulator, REASONING_REQUIRED } from "./deepseek.js";
import { CACHE_NOT_FOUND, CORRUPTED_SIGNATURE, createGeminiSimulator } from "./gemini.js";
import { createOpenAISimulator } from "./openai.js";
import { chatMessageKey, type ProviderSimulator } from "./sim.js";
import { countTokens } from "./tokenizer.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const LONG = "The replica keeps the agent log and the cache handle in step across devices. ".repeat(60);

const post = async (sim: ProviderSimulator, path: string, body: unknown, headers: Record<string, string> = { authorization: "Bearer k", "x-api-key": "k", "x-goog-api-key": "k" }) => {
  const res = await sim.fetch(`http://sim${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, text, json: (res.headers.get("content-type") ?? "").includes("json") ? (JSON.parse(text) as Record<string, any>) : undefined };
};
const sseData = (text: string) =>
  text
    .split(/\r?\n\r?\n/)
    .map((block) => block.split(/\r?\n/).find((l) => l.startsWith("data: "))?.slice(6))
    .filter((d): d is string => d !== undefined && d !== "[DONE]")
    .map((d) => JSON.parse(d) as Record<string, any>);

describe("tokenizer", () => {
  it("is deterministic, about 4 characters a token, and joins back to the text", () => {
    expect(countTokens("hello world")).toBe(2);
    expect(countTokens("internationalization")).toBe(4);
    expect(countTokens(LONG)).toBe(countTokens(LONG));
    const ratio = LONG.length / countTokens(LONG);
    expect(ratio).toBeGreaterThan(3);
    expect(ratio).toBeLessThan(6);
  });
});

describe("OpenAI simulator", () => {
  const chat = (messages: unknown[], extra: object = {}) => ({ model: "gpt-5.4", messages, ...extra });
  const sys = { role: "system", content: LONG };

  it("caches prefixes from 1024 tokens in 128-token steps; every use refreshes 5 idle minutes", async () => {
    const sim = createOpenAISimulator();
    const first = await post(sim, "/v1/chat/completions", chat([sys, { role: "user", content: "hi" }]));
    expect(first.json!.usage.prompt_tokens).toBeGreaterThan(1024);
    expect(first.json!.usage.prompt_tokens_details.cached_tokens).toBe(0);
    const second = await post(sim, "/v1/chat/completions", chat([sys, { role: "user", content: "hi" }, { role: "assistant", content: "ok" }, { role: "user", content: "more" }]));
    const cached = second.json!.usage.prompt_tokens_details.cached_tokens as number;
    expect(cached).toBeGreaterThanOrEqual(1024);
    expect((cached - 1024) % 128).toBe(0);
    expect(first.json!.usage.prompt_tokens - cached).toBeLessThan(128);
    // Pings every 4 minutes keep it warm for as long as they come (over an hour here)...
    for (let t = 0; t < 20; t++) {
      sim.clock.advance(4 * MIN);
      const ping = await post(sim, "/v1/chat/completions", chat([sys, { role: "user", content: "hi" }], { max_completion_tokens: 1 }));
      expect(ping.json!.usage.prompt_tokens_details.cached_tokens, `ping ${t}`).toBeGreaterThan(0);
    }
    // ...and 5 idle minutes lose it.
    sim.clock.advance(5 * MIN);
    const idle = await post(sim, "/v1/chat/completions", chat([sys, { role: "user", content: "hi" }]));
    expect(idle.json!.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(sim.records.filter((r) => r.warm).length).toBe(20);
  });

  it("caches nothing below 1024 tokens and answers with a 401 without a key", async () => {
    const sim = createOpenAISimulator();
    for (let i = 0; i < 2; i++) expect((await post(sim, "/v1/chat/completions", chat([{ role: "user", content: "short" }]))).json!.usage.prompt_tokens_details.cached_tokens).toBe(0);
    const noKey = await post(sim, "/v1/chat/completions", chat([{ role: "user", content: "x" }]), {});
    expect(noKey.status).toBe(401);
  });

  it("streams chat chunks with usage last when asked, and injected faults", async () => {
    const sim = createOpenAISimulator({ script: () => ({ text: "one two three four five six", toolCalls: [{ name: "ls", arguments: { dir: "/" } }] }) });
    const r = await post(sim, "/v1/chat/completions", chat([{ role: "user", content: "go" }], { stream: true, stream_options: { include_usage: true } }));
    const chunks = sseData(r.text);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe("one two three four five six");
    expect(chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []).map((t: any) => t.function.arguments).join("")).toBe('{"dir":"/"}');
    expect(chunks.at(-1)!.usage.completion_tokens).toBeGreaterThan(0);
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe("tool_calls");
    sim.inject({ status: 429 });
    expect((await post(sim, "/v1/chat/completions", chat([{ role: "user", content: "go" }]))).json!.error.code).toBe("rate_limit_exceeded");
  });

  it("Responses: previous_response_id chains for 30 days, then the documented error", async () => {
    const sim = createOpenAISimulator({ script: (q) => ({ text: `turn ${q.messages.length}`, reasoning: "think" }) });
    const first = await post(sim, "/v1/responses", { model: "gpt-5.4", instructions: LONG, input: "hello", store: true });
    expect(first.json!.output.map((o: any) => o.type)).toEqual(["reasoning", "message"]);
    const second = await post(sim, "/v1/responses", { model: "gpt-5.4", instructions: LONG, input: [{ type: "message", role: "user", content: "again" }], previous_response_id: first.json!.id, store: true });
    expect(second.status).toBe(200);
    expect(second.json!.usage.input_tokens).toBeGreaterThan(first.json!.usage.input_tokens);
    expect(second.json!.usage.input_tokens_details.cached_tokens).toBeGreaterThanOrEqual(1024);
    expect(first.json!.usage.input_tokens - second.json!.usage.input_tokens_details.cached_tokens).toBeLessThan(128);
    sim.clock.advance(31 * 24 * HOUR);
    const gone = await post(sim, "/v1/responses", { model: "gpt-5.4", input: "x", previous_response_id: second.json!.id });
    expect(gone.status).toBe(400);
    expect(gone.json!.error).toEqual({ message: `Previous response with id '${second.json!.id}' not found.`, type: "invalid_request_error", param: "previous_response_id", code: "previous_response_not_found" });
  });

  it("Responses: encrypted reasoning comes back byte-exact or the request fails", async () => {
    const sim = createOpenAISimulator({ script: () => ({ text: "done", reasoning: "secret chain" }) });
    const first = await post(sim, "/v1/responses", { model: "gpt-5.4", input: "hi", store: false, include: ["reasoning.encrypted_content"], stream: true });
    const events = sseData(first.text);
    const added = events.find((e) => e.type === "response.output_item.added" && e.item.type === "reasoning")!.item;
    const done = events.find((e) => e.type === "response.output_item.done" && e.item.type === "reasoning")!.item;
    expect(added.encrypted_content.length).toBeLessThan(done.encrypted_content.length);
    expect(events.at(-1)!.type).toBe("response.completed");
    const replay = (enc: string) => post(sim, "/v1/responses", { model: "gpt-5.4", store: false, input: [{ type: "message", role: "user", content: "hi" }, { type: "reasoning", id: done.id, summary: [], encrypted_content: enc }, { type: "message", role: "assistant", content: "done" }, { type: "message", role: "user", content: "next" }] });
    expect((await replay(done.encrypted_content)).status).toBe(200);
    const flipped = done.encrypted_content.slice(0, 10) + (done.encrypted_content[10] === "A" ? "B" : "A") + done.encrypted_content.slice(11);
    const bad = await replay(flipped);
    expect(bad.status).toBe(400);
    expect(bad.json!.error.code).toBe("invalid_encrypted_content");
    expect((await replay(added.encrypted_content)).status).toBe(400);
    // Another model family cannot read it either.
    const other = await post(sim, "/v1/responses", { model: "gpt-5.5", store: false, input: [{ type: "reasoning", id: done.id, summary: [], encrypted_content: done.encrypted_content }, { type: "message", role: "user", content: "x" }] });
    expect(other.status).toBe(400);
  });
});

describe("Anthropic simulator", () => {
  const cc = (ttl?: "1h") => ({ type: "ephemeral", ...(ttl ? { ttl } : {}) });
  const req = (msgs: unknown[], extra: object = {}) => ({ model: "claude-sonnet-4-5", max_tokens: 64, system: [{ type: "text", text: LONG, cache_control: cc() }], messages: msgs, ...extra });

  it("writes at breakpoints, reads them back, refreshes on hit, expires after 5 minutes idle", async () => {
    const sim = createAnthropicSimulator();
    const u1 = (await post(sim, "/v1/messages", req([{ role: "user", content: "hi" }]))).json!.usage;
    expect(u1.cache_creation_input_tokens).toBeGreaterThan(1024);
    expect(u1.cache_read_input_tokens).toBe(0);
    expect(u1.cache_creation.ephemeral_5m_input_tokens).toBe(u1.cache_creation_input_tokens);
    for (let i = 0; i < 5; i++) {
      sim.clock.advance(4 * MIN);
      const u = (await post(sim, "/v1/messages", req([{ role: "user", content: "ping" }], { max_tokens: 1 }))).json!.usage;
      expect(u.cache_read_input_tokens).toBe(u1.cache_creation_input_tokens);
      expect(u.cache_creation_input_tokens).toBe(0);
    }
    sim.clock.advance(5 * MIN + 1);
    expect((await post(sim, "/v1/messages", req([{ role: "user", content: "late" }]))).json!.usage.cache_read_input_tokens).toBe(0);
  });

  it("1h breakpoints, the 4-breakpoint limit, the minimum length", async () => {
    const sim = createAnthropicSimulator();
    const body = { ...req([{ role: "user", content: "hi" }]), system: [{ type: "text", text: LONG, cache_control: cc("1h") }] };
    const u1 = (await post(sim, "/v1/messages", body)).json!.usage;
    expect(u1.cache_creation.ephemeral_1h_input_tokens).toBeGreaterThan(0);
    sim.clock.advance(50 * MIN);
    expect((await post(sim, "/v1/messages", body)).json!.usage.cache_read_input_tokens).toBe(u1.cache_creation_input_tokens);
    const five = await post(sim, "/v1/messages", req([{ role: "user", content: [1, 2, 3, 4].map((i) => ({ type: "text", text: `b${i}`, cache_control: cc() })) }]));
    expect(five.status).toBe(400);
    expect(five.json!.error.message).toBe("A maximum of 4 blocks with cache_control may be provided. Found 5.");
    const small = await post(sim, "/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 8, system: [{ type: "text", text: "short", cache_control: cc() }], messages: [{ role: "user", content: "x" }] });
    expect(small.json!.usage.cache_creation_input_tokens).toBe(0);
  });

  it("thinking signatures are verified byte-exact; a tool loop must bring its thinking back", async () => {
    const sim = createAnthropicSimulator({ script: () => ({ reasoning: "let me think", toolCalls: [{ name: "ls", arguments: {} }] }) });
    const thinking = { type: "enabled", budget_tokens: 1024 };
    const first = await post(sim, "/v1/messages", req([{ role: "user", content: "list" }], { thinking, max_tokens: 2048, stream: true }));
    const events = sseData(first.text);
    expect(events[0]!.type).toBe("message_start");
    expect(events.at(-1)!.type).toBe("message_stop");
    const sig = events.find((e) => e.delta?.type === "signature_delta")!.delta.signature as string;
    const toolUse = events.find((e) => e.content_block?.type === "tool_use")!.content_block;
    const follow = (assistant: unknown[]) => post(sim, "/v1/messages", req([{ role: "user", content: "list" }, { role: "assistant", content: assistant }, { role: "user", content: [{ type: "tool_result", tool_use_id: toolUse.id, content: "a.txt" }] }], { thinking, max_tokens: 2048 }));
    const use = { type: "tool_use", id: toolUse.id, name: "ls", input: {} };
    expect((await follow([{ type: "thinking", thinking: "let me think", signature: sig }, use])).status).toBe(200);
    const tampered = await follow([{ type: "thinking", thinking: "let me think!", signature: sig }, use]);
    expect(tampered.json!.error.message).toBe("messages.1.content.0: Invalid `signature` in `thinking` block");
    const missing = await follow([use]);
    expect(missing.status).toBe(400);
    expect(missing.json!.error.message).toMatch(/^messages\.1\.content\.0\.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`/);
  });
});

describe("Gemini simulator", () => {
  const model = "gemini-2.5-flash";
  const gen = (body: object, stream = false) => `/v1beta/models/${model}:${stream ? "streamGenerateContent?alt=sse" : "generateContent"}`;

  it("explicit caches: create, use, extend, delete; storage billed by the hour; the documented 403 once gone", async () => {
    const sim = createGeminiSimulator();
    const created = await post(sim, "/v1beta/cachedContents", { model: `models/${model}`, systemInstruction: { parts: [{ text: LONG }] }, ttl: "600s" });
    expect(created.status).toBe(200);
    const name = created.json!.name as string;
    const tokens = created.json!.usageMetadata.totalTokenCount as number;
    const use = () => post(sim, gen({}), { cachedContent: name, contents: [{ role: "user", parts: [{ text: "hi" }] }] });
    expect((await use()).json!.usageMetadata.cachedContentTokenCount).toBe(tokens);
    sim.clock.advance(9 * MIN);
    const patched = await sim.fetch(`http://sim/v1beta/${name}?updateMask=ttl`, { method: "PATCH", headers: { "x-goog-api-key": "k", "content-type": "application/json" }, body: JSON.stringify({ ttl: "3600s" }) });
    expect(patched.status).toBe(200);
    sim.clock.advance(30 * MIN);
    expect((await use()).status).toBe(200);
    const before = sim.cost();
    sim.clock.advance(HOUR);
    const expired = await use();
    expect(expired.status).toBe(403);
    expect(expired.json!.error).toEqual({ code: 403, message: CACHE_NOT_FOUND, status: "PERMISSION_DENIED" });
    // storage: tokens × (9 + 60) minutes at the model's storage price
    const storage = (tokens * (69 / 60) * factsFor("gemini", model).prices.storagePerHour!) / 1e6;
    expect(sim.cost() - before).toBeCloseTo((tokens * (30 / 60) * factsFor("gemini", model).prices.storagePerHour!) / 1e6, 12);
    expect(sim.counters.storageUsd + sim.cost() - sim.counters.requestUsd - sim.counters.storageUsd).toBeCloseTo(storage, 12);
    const again = await post(sim, "/v1beta/cachedContents", { model: `models/${model}`, systemInstruction: { parts: [{ text: LONG }] } });
    const del = await sim.fetch(`http://sim/v1beta/${again.json!.name}`, { method: "DELETE", headers: { "x-goog-api-key": "k" } });
    expect(del.status).toBe(200);
    expect((await post(sim, gen({}), { cachedContent: again.json!.name, contents: [{ role: "user", parts: [{ text: "hi" }] }] })).status).toBe(403);
    const tiny = await post(sim, "/v1beta/cachedContents", { model: `models/${model}`, systemInstruction: { parts: [{ text: "short" }] } });
    expect(tiny.json!.error.message).toMatch(/^Cached content is too small\. total_token_count=\d+, min_total_token_count=1024$/);
  });

  it("implicit caching refreshed on use, and thought signatures checked on the current turn", async () => {
    const sim = createGeminiSimulator({ script: () => ({ toolCalls: [{ name: "ls", arguments: { d: 1 } }] }) });
    const m3 = "gemini-3-pro-preview";
    const url = `/v1beta/models/${m3}:generateContent`;
    const user = { role: "user", parts: [{ text: LONG.repeat(4) }] }; // Gemini 3 Pro caches from 4096 tokens
    const first = await post(sim, url, { contents: [user] });
    const part = first.json!.candidates[0].content.parts[0];
    expect(part.functionCall.name).toBe("ls");
    expect(typeof part.thoughtSignature).toBe("string");
    const next = (p: object) => post(sim, url, { contents: [user, { role: "model", parts: [p] }, { role: "user", parts: [{ functionResponse: { name: "ls", response: { output: "a" } } }] }] });
    const ok = await next(part);
    expect(ok.status).toBe(200);
    expect(ok.json!.usageMetadata.cachedContentTokenCount).toBeGreaterThan(0);
    const { thoughtSignature: _, ...unsigned } = part;
    expect((await next(unsigned)).json!.error.message).toMatch(/^Function call is missing a thought_signature/);
    expect((await next({ ...part, functionCall: { ...part.functionCall, args: { d: 2 } } })).json!.error.message).toBe(CORRUPTED_SIGNATURE);
    expect((await post(sim, url, { model: m3, contents: [user] })).status).toBe(400);
    // implicit hits refresh the idle time: 4-minute pings keep it, 6 idle minutes lose it
    for (let i = 0; i < 3; i++) {
      sim.clock.advance(4 * MIN);
      expect((await post(sim, url, { contents: [user], generationConfig: { maxOutputTokens: 1 } })).json!.usageMetadata.cachedContentTokenCount).toBeGreaterThan(0);
    }
    sim.clock.advance(6 * MIN);
    expect((await post(sim, url, { contents: [user] })).json!.usageMetadata.cachedContentTokenCount).toBeUndefined();
  });
});

describe("DeepSeek simulator", () => {
  it("reports hit and miss tokens; the end of the output is a cache unit", async () => {
    const sim = createDeepSeekSimulator({ script: () => ({ text: "the answer" }) });
    const msgs = [{ role: "system", content: LONG }, { role: "user", content: "q1" }];
    const a = (await post(sim, "/chat/completions", { model: "deepseek-chat", messages: msgs })).json!;
    expect(a.usage.prompt_cache_hit_tokens).toBe(0);
    expect(a.usage.prompt_cache_miss_tokens).toBe(a.usage.prompt_tokens);
    const assistant = JSON.parse(canonicalJson({ role: "assistant", content: "the answer" })) as object;
    const b = (await post(sim, "/chat/completions", { model: "deepseek-chat", messages: [...msgs, assistant, { role: "user", content: "q2" }] })).json!;
    const unitEnd = a.usage.prompt_tokens + countTokens(chatMessageKey(assistant));
    expect(b.usage.prompt_cache_hit_tokens).toBe(Math.floor(unitEnd / 64) * 64);
    expect(b.usage.prompt_cache_hit_tokens + b.usage.prompt_cache_miss_tokens).toBe(b.usage.prompt_tokens);
  });

  it("thinking mode requires reasoning_content back on tool-call turns", async () => {
    const sim = createDeepSeekSimulator();
    const call = { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "ls", arguments: "{}" } }] };
    const body = (assistant: object) => ({ model: "deepseek-v4", thinking: { type: "enabled" }, messages: [{ role: "user", content: "q" }, assistant, { role: "tool", tool_call_id: "c1", content: "a" }] });
    const bad = await post(sim, "/chat/completions", body(call));
    expect(bad.status).toBe(400);
    expect(bad.json!.error.message).toBe(REASONING_REQUIRED);
    expect((await post(sim, "/chat/completions", body({ ...call, reasoning_content: "r" }))).status).toBe(200);
  });
});

describe("simulators over HTTP", () => {
  it("serve() answers on a port of its own and counts requests and cost", async () => {
    const sim = createAnthropicSimulator();
    const server = await sim.serve();
    try {
      const res = await fetch(`${server.url}/v1/messages`, { method: "POST", headers: { "x-api-key": "k", "content-type": "application/json" }, body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }) });
      expect(res.status).toBe(200);
      expect(sim.counters.requests).toBe(1);
      expect(sim.cost()).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});

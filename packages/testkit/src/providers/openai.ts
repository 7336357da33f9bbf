import { autoCache, createPrefixCache, segment, type Segment } from "./prefix-cache.js";
import {
  argumentsText,
  chatMessageKey,
  createBase,
  json,
  keyWithout,
  limitOutput,
  readJson,
  simulator,
  sse,
  textOf,
  type ProviderSimulator,
  type ScriptAnswer,
  type SimBase,
  type SimOptions,
} from "./sim.js";
import { countTokens, streamPieces as chunks } from "./tokenizer.js";

/**
 * OpenAI Chat Completions and Responses (PROVIDERS.md §1–2), one simulator since they share the
 * prompt cache: automatic prefix caching from 1024 tokens in 128-token steps, evicted after 5 min
 * idle (the earliest of "5–10 minutes"), every hit refreshing it (`prompt_cache_retention: "24h"`
 * keeps it a day; gpt-5.6+ `30m`), stored
 * responses for 30 days with `previous_response_id` chaining and its documented error, reasoning
 * items whose `encrypted_content` is verified byte-exact when it comes back.
 */
export interface OpenAISimulator extends ProviderSimulator {
  /** Stored responses (store: true), with their expiry. */
  readonly storedResponses: number;
  /** Forget every stored response (as if their 30 days were over). */
  dropStoredResponses(): void;
}

const MARKERS = new Set(["prompt_cache_breakpoint"]);
const STORE_TTL_MS = 30 * 24 * 3600_000;

type Item = Record<string, unknown>;
interface Stored {
  readonly expiresAt: number;
  readonly model: string;
  /** The whole conversation up to and including this response's output. */
  readonly items: readonly Item[];
}

const err = (status: number, message: string, type: string, code: string | null = null, param: string | null = null) => json(status, { error: { message, type, param, code } });

const FAULTS: Record<number, () => Response> = {
  429: () => err(429, "Rate limit reached for requests. Please try again in 1s.", "requests", "rate_limit_exceeded"),
  500: () => err(500, "The server had an error while processing your request. Sorry about that!", "server_error"),
  503: () => err(503, "The engine is currently overloaded, please try again later.", "server_error"),
};
const fault = (status: number) => (FAULTS[status] ?? (() => err(status, `Simulated error ${status}.`, "server_error")))();

const isReasoningModel = (model: string) => /^(o\d|gpt-5)/.test(model);
const hasPhase = (model: string) => /^gpt-5\.([5-9])|^gpt-[6-9]/.test(model);
const familyOf = (model: string) => model.toLowerCase().replace(/-(\d{4}-\d{2}-\d{2}|\d{8}|latest|preview)$/, "");


const retention = (body: Record<string, unknown>, f: ReturnType<SimBase["facts"]>) => {
  const ttl = f.cache.ttlMs;
  if (body.prompt_cache_retention === "24h" && ttl["24h"] !== undefined) return { ttlMs: ttl["24h"], refreshOnHit: true };
  return { ttlMs: ttl.default, refreshOnHit: f.cache.refreshOnHit };
};

export const createOpenAISimulator = (o: SimOptions = {}): OpenAISimulator => {
  const base = createBase("openai", o);
  const cache = createPrefixCache();
  const stored = new Map<string, Stored>();

  const authError = (req: Request) =>
    base.requireKey && !/^Bearer \S+/.test(req.headers.get("authorization") ?? "")
      ? err(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", "invalid_request_error")
      : undefined;

  const usageCounts = (model: string, segments: Segment[], scope: string, body: Record<string, unknown>) => {
    const f = base.facts(model);
    const chain = cache.chain(`${scope}:${model}`, segments);
    const r = autoCache(cache, chain, base.clock.now(), { min: f.cache.minCacheableTokens, granularity: f.cache.granularity, ...retention(body, f) });
    // Writes are reported (and billed above input) from gpt-5.6 on (PROVIDERS.md §1).
    const writesBilled = f.prices.cacheWrite5m > f.prices.input;
    return { prompt: chain.total, cached: r.cached, written: writesBilled ? r.written : 0, writesBilled };
  };

  const scriptMessages = (list: readonly { role: string; text: string }[]) => list.filter((m) => m.text !== "" || m.role !== "tool");

  // ---------------- Chat Completions ----------------
  const chat = async (body: Record<string, unknown>): Promise<Response> => {
    const model = typeof body.model === "string" ? body.model : "";
    if (!model) return err(400, "you must provide a model parameter", "invalid_request_error", null, "model");
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0) return err(400, "'messages' must contain at least one message.", "invalid_request_error", null, "messages");
    const tools = Array.isArray(body.tools) ? body.tools : [];
    const segments = [...tools.map((t) => segment(keyWithout(t, MARKERS))), ...messages.map((m) => segment(chatMessageKey(m)))];
    const u = usageCounts(model, segments, "chat", body);
    const limit = (body.max_completion_tokens ?? body.max_tokens) as number | undefined;
    const warm = limit !== undefined && limit <= base.facts(model).cache.warmOutputTokens;
    const ans = await base.answer({
      family: "openai",
      endpoint: "chat.completions",
      model,
      messages: scriptMessages(messages.map((m: { role?: string; content?: unknown }) => ({ role: String(m.role), text: textOf(m.content) }))),
      body,
      promptTokens: u.prompt,
      warm,
    });
    base.prefill(u.prompt - u.cached, u.cached);
    const out = limitOutput(isReasoningModel(model) ? ans : { ...ans, reasoning: "" }, limit);
    const calls = out.truncated ? [] : (ans.toolCalls ?? []).map((c, i) => ({ id: c.id ?? `call_${base.signer.id("c").slice(2, 26)}`, index: i, name: c.name, args: argumentsText(c.arguments) }));
    const outputTokens = out.tokens.text + out.tokens.reasoning + out.tokens.tools;
    base.output(outputTokens);
    const finish = out.truncated ? "length" : calls.length > 0 ? "tool_calls" : "stop";
    const usage = {
      prompt_tokens: u.prompt,
      completion_tokens: outputTokens,
      total_tokens: u.prompt + outputTokens,
      prompt_tokens_details: { cached_tokens: u.cached, audio_tokens: 0, ...(u.writesBilled ? { cache_write_tokens: u.written } : {}) },
      completion_tokens_details: { reasoning_tokens: out.tokens.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    base.record({ kind: "generate", endpoint: "chat.completions", model, status: 200, usage: { promptTokens: u.prompt, cachedTokens: u.cached, cacheWriteTokens: u.written, outputTokens, reasoningTokens: out.tokens.reasoning }, warm });
    const id = base.signer.id("chatcmpl");
    const created = Math.floor(base.clock.now() / 1000);
    const toolCalls = calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.args } }));
    if (body.stream !== true) {
      return json(200, {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message: { role: "assistant", content: calls.length > 0 && out.text === "" ? null : out.text, refusal: null, annotations: [], ...(toolCalls.length ? { tool_calls: toolCalls } : {}) }, logprobs: null, finish_reason: finish }],
        usage,
        service_tier: "default",
        system_fingerprint: "fp_sim",
      });
    }
    const chunk = (delta: object, finishReason: string | null = null) => ({ data: JSON.stringify({ id, object: "chat.completion.chunk", created, model, service_tier: "default", system_fingerprint: "fp_sim", choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] }) });
    const events = [chunk({ role: "assistant", content: "", refusal: null })];
    for (const c of chunks(out.text)) events.push(chunk({ content: c }));
    for (const c of calls) {
      events.push(chunk({ tool_calls: [{ index: c.index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] }));
      for (const piece of chunks(c.args, 6)) events.push(chunk({ tool_calls: [{ index: c.index, function: { arguments: piece } }] }));
    }
    if (base.takeFault()) return sse([...events.slice(0, 2), { data: JSON.stringify({ error: { message: "The server had an error while processing your request.", type: "server_error", param: null, code: null } }) }]);
    events.push(chunk({}, finish));
    const opts = body.stream_options as { include_usage?: boolean } | undefined;
    if (opts?.include_usage) events.push({ data: JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_sim", choices: [], usage }) });
    events.push({ data: "[DONE]" });
    return sse(events);
  };

  // ---------------- Responses ----------------
  const itemKey = (it: Item): Segment => {
    // What the model sees of an item, whatever form it is sent in (stored output parts or a plain string).
    switch (it.type) {
      case "reasoning": {
        const payload = typeof it.encrypted_content === "string" ? base.signer.open(it.encrypted_content) : undefined;
        const tokens = payload ? (JSON.parse(payload) as { tokens: number }).tokens : countTokens(JSON.stringify(it.summary ?? []));
        return { key: `rs|${String(it.id)}`, tokens: Math.max(1, tokens) };
      }
      case "function_call":
        return segment(`fc|${String(it.call_id)}|${String(it.name)}|${String(it.arguments)}`);
      case "function_call_output":
        return segment(`fco|${String(it.call_id)}|${typeof it.output === "string" ? it.output : JSON.stringify(it.output)}`);
      default:
        return segment(`msg|${String(it.role)}|${textOf(it.content)}`);
    }
  };

  const checkInput = (items: Item[], store: boolean, model: string): Response | undefined => {
    for (const it of items) {
      if (it.type !== "reasoning") continue;
      const id = String(it.id);
      if (typeof it.encrypted_content !== "string") {
        if (store && [...stored.values()].some((s) => s.items.some((x) => x.id === id))) continue;
        return err(404, `Item with id '${id}' not found. Items are not persisted when \`store\` is set to false. Try again with \`store\` set to true, or remove this item from your input.`, "invalid_request_error", null, "input");
      }
      const payload = base.signer.open(it.encrypted_content);
      const p = payload ? (JSON.parse(payload) as { id: string; family: string }) : undefined;
      if (!p || p.id !== id || p.family !== familyOf(model))
        return err(400, `The encrypted content for item ${id} could not be verified. Reason: Encrypted content could not be decrypted or parsed.`, "invalid_request_error", "invalid_encrypted_content");
    }
    return undefined;
  };

  const responses = async (body: Record<string, unknown>): Promise<Response> => {
    const model = typeof body.model === "string" ? body.model : "";
    if (!model) return err(400, "Missing required parameter: 'model'.", "invalid_request_error", "missing_required_parameter", "model");
    const now = base.clock.now();
    const input: Item[] = typeof body.input === "string" ? [{ type: "message", role: "user", content: body.input }] : Array.isArray(body.input) ? (body.input as Item[]) : [];
    const store = body.store !== false;
    const bad = checkInput(input, store, model);
    if (bad) return bad;
    let history: readonly Item[] = [];
    if (typeof body.previous_response_id === "string") {
      const prev = stored.get(body.previous_response_id);
      if (!prev || prev.expiresAt <= now)
        return err(400, `Previous response with id '${body.previous_response_id}' not found.`, "invalid_request_error", "previous_response_not_found", "previous_response_id");
      history = prev.items;
    }
    const all = [...history, ...input];
    const tools = Array.isArray(body.tools) ? body.tools : [];
    const segments = [...tools.map((t) => segment(keyWithout(t, MARKERS))), ...(typeof body.instructions === "string" ? [segment(`instructions|${body.instructions}`)] : []), ...all.map(itemKey)];
    const u = usageCounts(model, segments, "responses", body);
    const limit = body.max_output_tokens as number | undefined;
    const warm = limit !== undefined && limit <= 16;
    const ans = await base.answer({
      family: "openai",
      endpoint: "responses",
      model,
      messages: scriptMessages(all.map((it) => (it.type === "function_call_output" ? { role: "tool", text: String(it.output) } : it.type === "message" || it.type === undefined ? { role: String(it.role), text: textOf(it.content) } : { role: String(it.type), text: "" }))),
      body,
      promptTokens: u.prompt,
      warm,
    });
    base.prefill(u.prompt - u.cached, u.cached);
    const reasoningOn = isReasoningModel(model) || ans.reasoning !== undefined;
    const out = limitOutput(reasoningOn ? ans : { ...ans, reasoning: "" }, limit);
    const outputTokens = out.tokens.text + out.tokens.reasoning + out.tokens.tools;
    base.output(outputTokens);
    const include = Array.isArray(body.include) ? body.include : [];
    const wantsEncrypted = include.includes("reasoning.encrypted_content") || !store;
    const summaryOn = typeof body.reasoning === "object" && body.reasoning !== null && (body.reasoning as { summary?: unknown }).summary !== undefined;
    const output: Item[] = [];
    if (reasoningOn) {
      const id = base.signer.id("rs");
      const enc = base.signer.sign(JSON.stringify({ id, family: familyOf(model), tokens: out.tokens.reasoning }));
      output.push({ id, type: "reasoning", summary: summaryOn && out.reasoning ? [{ type: "summary_text", text: out.reasoning }] : [], ...(wantsEncrypted ? { encrypted_content: enc } : {}) });
    }
    if (out.text !== "" || (ans.toolCalls ?? []).length === 0 || out.truncated)
      output.push({ id: base.signer.id("msg"), type: "message", status: out.truncated ? "incomplete" : "completed", role: "assistant", ...(hasPhase(model) ? { phase: "final_answer" } : {}), content: [{ type: "output_text", text: out.text, annotations: [], logprobs: [] }] });
    if (!out.truncated)
      for (const c of ans.toolCalls ?? []) output.push({ id: base.signer.id("fc"), type: "function_call", status: "completed", call_id: c.id ?? base.signer.id("call"), name: c.name, arguments: argumentsText(c.arguments) });
    const id = base.signer.id("resp");
    const usage = {
      input_tokens: u.prompt,
      input_tokens_details: { cached_tokens: u.cached, ...(u.writesBilled ? { cache_write_tokens: u.written } : {}) },
      output_tokens: outputTokens,
      output_tokens_details: { reasoning_tokens: out.tokens.reasoning },
      total_tokens: u.prompt + outputTokens,
    };
    const response = {
      id,
      object: "response",
      created_at: Math.floor(now / 1000),
      status: out.truncated ? "incomplete" : "completed",
      incomplete_details: out.truncated ? { reason: "max_output_tokens" } : null,
      model,
      output,
      previous_response_id: body.previous_response_id ?? null,
      store,
      usage,
    };
    base.record({ kind: "generate", endpoint: "responses", model, status: 200, usage: { promptTokens: u.prompt, cachedTokens: u.cached, cacheWriteTokens: u.written, outputTokens, reasoningTokens: out.tokens.reasoning }, warm });
    if (store) stored.set(id, { expiresAt: now + STORE_TTL_MS, model, items: [...all, ...output] });
    if (body.stream !== true) return json(200, response);
    return sse(responseEvents(response, output, base.takeFault() !== undefined));
  };

  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname.replace(/\/+$/, "");
    const auth = authError(req);
    if (auth) return auth;
    if (req.method === "GET" || req.method === "DELETE") {
      const m = /\/responses\/([^/]+)$/.exec(path);
      const s = m ? stored.get(m[1]!) : undefined;
      if (!m || !s || s.expiresAt <= base.clock.now()) return err(404, `Response with id '${m?.[1] ?? ""}' not found.`, "invalid_request_error");
      if (req.method === "DELETE") {
        stored.delete(m[1]!);
        return json(200, { id: m[1], object: "response.deleted", deleted: true });
      }
      return json(200, { id: m[1], object: "response", model: s.model, output: s.items.slice(-1) });
    }
    const parsed = await readJson(req);
    if (!parsed.ok) return err(400, `We could not parse the JSON body of your request. (${parsed.message})`, "invalid_request_error");
    const f = base.takeHttpFault(parsed.body.stream === true);
    if (f) {
      base.record({ kind: "error", endpoint: path, model: String(parsed.body.model ?? ""), status: f.status, warm: false });
      return fault(f.status);
    }
    if (path.endsWith("/chat/completions")) return chat(parsed.body);
    if (path.endsWith("/responses")) return responses(parsed.body);
    return err(404, `Invalid URL (${req.method} ${path})`, "invalid_request_error");
  };

  const sim = simulator(base, handle, { evictAll: () => cache.clear() });
  return Object.assign(sim, {
    get storedResponses() {
      return stored.size;
    },
    dropStoredResponses: () => stored.clear(),
  });
};

/** The Responses SSE event sequence for a finished response (PROVIDERS.md §2; encrypted_content complete only in `.done`). */
const responseEvents = (response: Record<string, unknown> & { id: string }, output: Item[], failMidStream: boolean): { event: string; data: string }[] => {
  let seq = 0;
  const events: { event: string; data: string }[] = [];
  const ev = (type: string, fields: Record<string, unknown>) => events.push({ event: type, data: JSON.stringify({ type, sequence_number: seq++, ...fields }) });
  const shell = { ...response, status: "in_progress", output: [], usage: null, incomplete_details: null };
  ev("response.created", { response: shell });
  ev("response.in_progress", { response: shell });
  output.forEach((item, output_index) => {
    const itemId = String(item.id);
    if (item.type === "reasoning") {
      const enc = item.encrypted_content;
      // `.added` may carry an incomplete encrypted_content: only `.done` has the whole blob.
      ev("response.output_item.added", { output_index, item: { ...item, summary: [], ...(typeof enc === "string" ? { encrypted_content: enc.slice(0, Math.floor(enc.length / 2)) } : {}) } });
      const summary = (item.summary as { text: string }[]) ?? [];
      summary.forEach((s, summary_index) => {
        ev("response.reasoning_summary_part.added", { item_id: itemId, output_index, summary_index, part: { type: "summary_text", text: "" } });
        for (const delta of chunks(s.text)) ev("response.reasoning_summary_text.delta", { item_id: itemId, output_index, summary_index, delta });
        ev("response.reasoning_summary_text.done", { item_id: itemId, output_index, summary_index, text: s.text });
        ev("response.reasoning_summary_part.done", { item_id: itemId, output_index, summary_index, part: { type: "summary_text", text: s.text } });
      });
    } else if (item.type === "message") {
      const text = textOf(item.content);
      ev("response.output_item.added", { output_index, item: { ...item, status: "in_progress", content: [] } });
      ev("response.content_part.added", { item_id: itemId, output_index, content_index: 0, part: { type: "output_text", text: "", annotations: [], logprobs: [] } });
      for (const delta of chunks(text)) ev("response.output_text.delta", { item_id: itemId, output_index, content_index: 0, delta, logprobs: [] });
      if (failMidStream) {
        ev("error", { code: "server_error", message: "The server had an error while processing your request.", param: null });
        return;
      }
      ev("response.output_text.done", { item_id: itemId, output_index, content_index: 0, text, logprobs: [] });
      ev("response.content_part.done", { item_id: itemId, output_index, content_index: 0, part: { type: "output_text", text, annotations: [], logprobs: [] } });
    } else if (item.type === "function_call") {
      ev("response.output_item.added", { output_index, item: { ...item, status: "in_progress", arguments: "" } });
      for (const delta of chunks(String(item.arguments), 6)) ev("response.function_call_arguments.delta", { item_id: itemId, output_index, delta });
      ev("response.function_call_arguments.done", { item_id: itemId, output_index, arguments: item.arguments });
    }
    ev("response.output_item.done", { output_index, item });
  });
  if (failMidStream && events.some((e) => e.event === "error")) return events.slice(0, events.findIndex((e) => e.event === "error") + 1);
  if (failMidStream) ev("error", { code: "server_error", message: "The server had an error while processing your request.", param: null });
  else ev(response.status === "incomplete" ? "response.incomplete" : "response.completed", { response });
  return events;
};

export type { ScriptAnswer };

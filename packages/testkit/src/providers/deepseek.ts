import { autoCache, createPrefixCache, segment } from "./prefix-cache.js";
import { argumentsText, chatMessageKey, createBase, json, limitOutput, readJson, simulator, sse, textOf, type ProviderSimulator, type SimOptions } from "./sim.js";
import { streamPieces } from "./tokenizer.js";

/**
 * DeepSeek (PROVIDERS.md §5): context caching on disk, on by default. A hit needs a persisted
 * "cache prefix unit" the new request matches completely; units are persisted at the end of each
 * request's input and of its output (and, as a stand-in for "fixed intervals inside long inputs",
 * at every message end; a message is keyed by what the model sees of it, `chatMessageKey`). Usage reports `prompt_cache_hit_tokens` / `prompt_cache_miss_tokens`.
 * Thinking mode (`thinking: {type: "enabled"}`) requires `reasoning_content` back on the tool-call
 * turns since the last user message.
 */
const err = (status: number, message: string, type = "invalid_request_error", code: string | null = "invalid_request_error") => json(status, { error: { message, type, param: null, code } });
const FAULTS: Record<number, () => Response> = {
  429: () => err(429, "Rate Limit Reached", "rate_limit_error", "rate_limit_exceeded"),
  500: () => err(500, "Server Error", "server_error", null),
  503: () => err(503, "Server Overloaded", "server_error", null),
};
export const REASONING_REQUIRED = "The `reasoning_content` in the thinking mode must be passed back to the API.";

type Msg = { role?: string; content?: unknown; reasoning_content?: unknown; tool_calls?: unknown[] };

export const createDeepSeekSimulator = (o: SimOptions = {}): ProviderSimulator => {
  const base = createBase("deepseek", o);
  const cache = createPrefixCache();

  const chat = async (body: Record<string, unknown>): Promise<Response> => {
    const model = typeof body.model === "string" ? body.model : "";
    if (!model) return err(400, "Model Not Exist");
    const messages = body.messages as Msg[] | undefined;
    if (!Array.isArray(messages) || messages.length === 0) return err(400, "messages: at least one message is required");
    const thinkingExplicit = (body.thinking as { type?: string } | undefined)?.type === "enabled";
    const thinking = thinkingExplicit || /reasoner/.test(model);
    if (thinkingExplicit) {
      const lastUser = messages.map((m) => m.role).lastIndexOf("user");
      const bad = messages.slice(lastUser + 1).some((m) => m.role === "assistant" && Array.isArray(m.tool_calls) && m.tool_calls.length > 0 && typeof m.reasoning_content !== "string");
      if (bad) return err(400, REASONING_REQUIRED);
    }
    const f = base.facts(model);
    const segments = [...(Array.isArray(body.tools) ? body.tools : []).map((t) => segment(`tool|${JSON.stringify(t)}`)), ...messages.map((m) => segment(chatMessageKey(m)))];
    const chain = cache.chain(`deepseek:${model}`, segments);
    const now = base.clock.now();
    const r = autoCache(cache, chain, now, { min: f.cache.minCacheableTokens, granularity: f.cache.granularity, ttlMs: f.cache.ttlMs.default, refreshOnHit: f.cache.refreshOnHit });
    const limit = body.max_tokens as number | undefined;
    const warm = limit !== undefined && limit <= f.cache.warmOutputTokens;
    const ans = await base.answer({ family: "deepseek", endpoint: "chat.completions", model, messages: messages.map((m) => ({ role: String(m.role), text: textOf(m.content) })), body, promptTokens: chain.total, warm });
    base.prefill(chain.total - r.cached, r.cached);
    const out = limitOutput(thinking ? ans : { ...ans, reasoning: "" }, limit);
    const calls = out.truncated ? [] : (ans.toolCalls ?? []).map((c, i) => ({ index: i, id: c.id ?? base.signer.id("call"), name: c.name, args: argumentsText(c.arguments) }));
    const outputTokens = out.tokens.text + out.tokens.reasoning + out.tokens.tools;
    base.output(outputTokens);
    // The unit at the end of the output: the assistant message as the next request will carry it.
    const assistant: Record<string, unknown> = { role: "assistant", content: calls.length > 0 && out.text === "" ? null : out.text };
    if (thinking && out.reasoning) assistant.reasoning_content = out.reasoning;
    if (calls.length > 0) assistant.tool_calls = calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.args } }));
    const withOutput = cache.chain(`deepseek:${model}`, [...segments, segment(chatMessageKey(assistant))]);
    if (withOutput.total >= f.cache.minCacheableTokens) cache.write(withOutput, withOutput.hashes.length - 1, now, f.cache.ttlMs.default, { refreshOnHit: true });
    const miss = chain.total - r.cached;
    const usage = {
      prompt_tokens: chain.total,
      completion_tokens: outputTokens,
      total_tokens: chain.total + outputTokens,
      prompt_tokens_details: { cached_tokens: r.cached },
      prompt_cache_hit_tokens: r.cached,
      prompt_cache_miss_tokens: miss,
      ...(out.tokens.reasoning > 0 ? { completion_tokens_details: { reasoning_tokens: out.tokens.reasoning } } : {}),
    };
    base.record({ kind: "generate", endpoint: "chat.completions", model, status: 200, usage: { promptTokens: chain.total, cachedTokens: r.cached, cacheWriteTokens: miss, outputTokens, reasoningTokens: out.tokens.reasoning }, warm });
    const id = base.signer.id("ds").replace("ds_", "");
    const created = Math.floor(now / 1000);
    const finish = out.truncated ? "length" : calls.length > 0 ? "tool_calls" : "stop";
    const toolCalls = calls.map((c) => ({ index: c.index, id: c.id, type: "function", function: { name: c.name, arguments: c.args } }));
    if (body.stream !== true)
      return json(200, {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message: { role: "assistant", content: assistant.content, ...(assistant.reasoning_content ? { reasoning_content: out.reasoning } : {}), ...(toolCalls.length ? { tool_calls: toolCalls } : {}) }, logprobs: null, finish_reason: finish }],
        usage,
        system_fingerprint: "fp_sim",
      });
    const chunk = (delta: object, finishReason: string | null = null, extra: object = {}) => ({ data: JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_sim", choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }], ...extra }) });
    const events = [chunk({ role: "assistant", content: "" })];
    if (thinking) for (const t of streamPieces(out.reasoning)) events.push(chunk({ reasoning_content: t, content: null }));
    for (const t of streamPieces(out.text)) events.push(chunk({ content: t }));
    for (const c of calls) {
      events.push(chunk({ tool_calls: [{ index: c.index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] }));
      for (const piece of streamPieces(c.args, 6)) events.push(chunk({ tool_calls: [{ index: c.index, function: { arguments: piece } }] }));
    }
    if (base.takeFault()) return sse([...events.slice(0, 2), { data: JSON.stringify({ error: { message: "Server Overloaded", type: "server_error", param: null, code: null } }) }]);
    // DeepSeek puts usage on the last chunk (with include_usage, as a chunk with no choices).
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    events.push(chunk({ content: "" }, finish));
    if (includeUsage) events.push({ data: JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_sim", choices: [], usage }) });
    events.push({ data: "[DONE]" });
    return sse(events);
  };

  const handle = async (req: Request): Promise<Response> => {
    if (base.requireKey && !/^Bearer \S+/.test(req.headers.get("authorization") ?? "")) return err(401, "Authentication Fails, Your api key: **** is invalid", "authentication_error", "invalid_request_error");
    const path = new URL(req.url).pathname.replace(/\/+$/, "");
    if (req.method !== "POST" || !path.endsWith("/chat/completions")) return err(404, `Not Found: ${req.method} ${path}`);
    const parsed = await readJson(req);
    if (!parsed.ok) return err(400, `Failed to deserialize the JSON body into the target type: ${parsed.message}`);
    const f = base.takeHttpFault(parsed.body.stream === true);
    if (f) {
      base.record({ kind: "error", endpoint: "chat.completions", model: String(parsed.body.model ?? ""), status: f.status, warm: false });
      return (FAULTS[f.status] ?? (() => err(f.status, `Simulated error ${f.status}`, "server_error", null)))();
    }
    return chat(parsed.body);
  };

  return simulator(base, handle, { evictAll: () => cache.clear() });
};

import type OpenAI from "openai";
import type { JsonObject, JsonValue } from "@ctxsync/core";
import { createAssembler, type Assembler } from "./assemble.js";
import { getMember, setMember } from "./body-edit.js";
import { bodyBytes, defaultNow, JSON_HEADERS } from "./clock.js";
import { providerError } from "./errors.js";
import { warmOutputTokens } from "./facts.js";
import { fromOpenAIError } from "./openai-sdk.js";
import type { NormalizedUsage, ProviderId, ProviderWarning, SendInput, SendResult } from "./types.js";

/**
 * The Chat Completions wire format, shared by OpenAI Chat, DeepSeek and every OpenAI-compatible
 * server (and, for chat templates, the legacy `/v1/completions`). Each flavor differs only in
 * its output-limit field and in how it reports cache usage.
 */

/** Raw usage as the chat APIs send it (OpenAI, DeepSeek and llama.cpp fields together). */
export interface RawChatUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
  prompt_cache_hit_tokens?: number;
  prompt_cache_miss_tokens?: number;
}

export type CacheUsage = Omit<NormalizedUsage, "ttftMs" | "totalMs">;

export interface ChatFlavor {
  readonly provider: ProviderId;
  /** `meta.provider` of the results: the blob family compile renders back for. */
  readonly metaProvider: string;
  /** The output-limit field added for warm-ups when the body has none. */
  readonly outputLimitField: "max_completion_tokens" | "max_tokens";
  readonly usage: (u: RawChatUsage, extras: JsonObject) => CacheUsage;
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** OpenAI: `prompt_tokens_details.cached_tokens` and `.cache_write_tokens` (PROVIDERS.md §1). */
export const openaiChatUsage = (u: RawChatUsage): CacheUsage => {
  const reasoning = u.completion_tokens_details?.reasoning_tokens;
  return {
    promptTokens: num(u.prompt_tokens),
    cachedTokens: num(u.prompt_tokens_details?.cached_tokens),
    cacheWriteTokens: num(u.prompt_tokens_details?.cache_write_tokens),
    outputTokens: num(u.completion_tokens),
    ...(typeof reasoning === "number" ? { reasoningTokens: reasoning } : {}),
  };
};

/** Chat templates are sent to `/v1/completions`: their renderers produce `{model, prompt}`. */
const TEMPLATE_RENDERERS = new Set(["chatml", "qwen3", "llama3"]);
export const isTemplateRenderer = (r: string): boolean => TEMPLATE_RENDERERS.has(r);

/** The top-level members compile writes after the request parameters (chat layout). */
const CHAT_LAYOUT = ["tools", "messages"];

/**
 * The body to send: the compiled bytes with the stream switch and (for warm-ups) the output
 * limit set; nothing else changes. Completion bodies are canonical JSON (every member in key
 * order), so new members go in key order among all of them.
 */
export const prepareChatBody = (input: SendInput, flavor: ChatFlavor, warnings: ProviderWarning[]): { body: string; stream: boolean; completion: boolean } => {
  const completion = isTemplateRenderer(input.compiled.provider);
  const layout = completion ? [] : CHAT_LAYOUT;
  const stream = input.stream ?? true;
  let body = input.compiled.body;
  if (input.maxOutputTokens !== undefined) {
    const field = getMember(body, ["max_completion_tokens"]) !== undefined ? "max_completion_tokens" : getMember(body, ["max_tokens"]) !== undefined ? "max_tokens" : completion ? "max_tokens" : flavor.outputLimitField;
    body = setMember(body, [field], outputLimit(input, flavor.provider, warnings), layout);
  }
  if (stream) {
    body = setMember(body, ["stream"], true, layout);
    const opts = getMember(body, ["stream_options"]);
    const merged: JsonObject = { ...(opts !== null && typeof opts === "object" && !Array.isArray(opts) ? opts : {}), include_usage: true };
    body = setMember(body, ["stream_options"], merged, layout);
  } else if (getMember(body, ["stream"]) !== undefined) body = setMember(body, ["stream"], false, layout);
  return { body, stream, completion };
};

/** The output limit for a warm-up: as asked, raised to the provider's minimum (with a warning). */
export const outputLimit = (input: SendInput, provider: ProviderId, warnings: ProviderWarning[], floor = warmOutputTokens(provider, input.model)): number => {
  const asked = input.maxOutputTokens ?? floor;
  if (!Number.isInteger(asked) || asked < 0) throw providerError("bad-request", `maxOutputTokens must be a non-negative integer, got ${asked}`);
  if (asked >= floor) return asked;
  warnings.push({ code: "output-limit-raised", requested: asked, used: floor, message: `${provider} ${input.model}: output limit ${asked} raised to the minimum ${floor}` });
  return floor;
};

/** The extras OpenAI-compatible servers add to a response (llama.cpp's timings and slot, our engine's slot report). */
const EXTRA_KEYS = ["timings", "id_slot", "ctxsync_slot", "system_fingerprint", "service_tier"];
const takeExtras = (o: Record<string, unknown>, into: JsonObject) => {
  for (const k of EXTRA_KEYS) if (o[k] !== undefined && o[k] !== null) into[k] = o[k] as JsonValue;
};

interface ChatDelta {
  content?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[] | null;
}
interface ChatChoice {
  delta?: ChatDelta;
  message?: ChatDelta;
  text?: string;
  finish_reason?: string | null;
}
interface ChatPayload {
  id?: string;
  model?: string;
  choices?: ChatChoice[];
  usage?: RawChatUsage | null;
  [k: string]: unknown;
}

/** What the chunks (or the one response) of a chat call add up to. */
interface ChatState {
  id?: string;
  model?: string;
  finish?: string;
  usage?: RawChatUsage;
  extras: JsonObject;
}

const feed = (p: ChatPayload, st: ChatState, asm: Assembler, whole: boolean): void => {
  if (p.id && !st.id) st.id = p.id;
  if (p.model && !st.model) st.model = p.model;
  if (p.usage) st.usage = p.usage;
  takeExtras(p, st.extras);
  const choice = p.choices?.[0];
  if (!choice) return;
  if (choice.finish_reason) st.finish = choice.finish_reason;
  if (typeof choice.text === "string") asm.text(choice.text);
  const d = whole ? choice.message : choice.delta;
  if (!d) return;
  const reasoning = d.reasoning_content ?? d.reasoning;
  if (typeof reasoning === "string") asm.reasoning(reasoning);
  if (typeof d.content === "string") asm.text(d.content);
  (d.tool_calls ?? []).forEach((tc, i) => {
    const index = tc.index ?? i;
    if (whole) asm.wholeToolCall(index, tc.id ?? "", tc.function?.name ?? "", tc.function?.arguments ?? "");
    else asm.toolCall(index, { id: tc.id, name: tc.function?.name, args: tc.function?.arguments });
  });
};

/** Templates render reasoning as `<think>\n…\n</think>\n\n` (compile's chatml writer); the answer is split back the same way. */
export const splitThink = (text: string): { text: string; reasoning?: string } => {
  const m = /^\s*<think>\n?([\s\S]*?)\n?<\/think>(?:\n\n|\n)?/.exec(text);
  if (!m) return { text };
  return { text: text.slice(m[0].length), reasoning: m[1] ?? "" };
};

export interface ChatSendOptions {
  readonly now?: () => number;
}

/** Send a compiled chat (or completion) body through the `openai` SDK and read the answer. */
export const sendChat = async (client: OpenAI, input: SendInput, flavor: ChatFlavor, o: ChatSendOptions = {}): Promise<SendResult> => {
  const warnings: ProviderWarning[] = [];
  const { body, stream, completion } = prepareChatBody(input, flavor, warnings);
  const asm = createAssembler(o.now ?? defaultNow, input.onDelta);
  const st: ChatState = { extras: {} };
  // The SDK method decides streaming from the first argument's `stream`; `options.body` replaces the
  // serialized params with the compiled bytes, passed through verbatim (no re-serialization).
  const request = { body: bodyBytes(body), headers: JSON_HEADERS, ...(input.signal ? { signal: input.signal } : {}) };
  try {
    if (completion) {
      const params = { model: input.model, prompt: "" };
      if (stream) for await (const c of await client.completions.create({ ...params, stream: true }, request)) feed(c as unknown as ChatPayload, st, asm, false);
      else feed((await client.completions.create({ ...params, stream: false }, request)) as unknown as ChatPayload, st, asm, true);
    } else {
      const params = { model: input.model, messages: [] };
      if (stream) for await (const c of await client.chat.completions.create({ ...params, stream: true }, request)) feed(c as unknown as ChatPayload, st, asm, false);
      else feed((await client.chat.completions.create({ ...params, stream: false }, request)) as unknown as ChatPayload, st, asm, true);
    }
    // The SDK's stream ends quietly when the signal fires mid-stream: a cut-off answer is not an answer.
    if (input.signal?.aborted) throw providerError("aborted", `${flavor.metaProvider}: request aborted`, { provider: flavor.metaProvider });
  } catch (e) {
    throw fromOpenAIError(e, flavor.metaProvider);
  }
  const totalMs = asm.elapsedMs();
  let content = asm.content(warnings);
  if (completion) {
    const split = splitThink(content.text);
    if (split.reasoning !== undefined) content = { ...content, text: split.text, reasoning: (content.reasoning ?? "") + split.reasoning };
  }
  if (!st.usage) warnings.push({ code: "usage-missing", message: `${flavor.provider}: the response carried no usage; tokens are reported as 0` });
  if (st.finish === "length" && input.maxOutputTokens === undefined)
    warnings.push({ code: "incomplete", reason: "length", message: `${flavor.provider}: the answer stopped at the output limit` });
  const usage = flavor.usage(st.usage ?? {}, st.extras);
  const providerMetadata: JsonObject = { ...st.extras, ...(st.usage ? { usage: st.usage as unknown as JsonValue } : {}) };
  return {
    entry: { kind: "assistant", content },
    meta: { provider: flavor.metaProvider, model: st.model ?? input.model },
    blobs: [],
    usage: { ...usage, ttftMs: stream ? asm.ttftMs : null, totalMs },
    ...(st.id !== undefined ? { responseId: st.id } : {}),
    ...(st.finish !== undefined ? { stopReason: st.finish } : {}),
    warnings,
    providerMetadata,
  };
};

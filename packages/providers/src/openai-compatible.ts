import type { JsonObject } from "@ctxsync/core";
import { sendChat, type ChatFlavor, type RawChatUsage } from "./chat-completions.js";
import { defaultNow, JSON_HEADERS } from "./clock.js";
import { failure, providerError } from "./errors.js";
import { openaiClient, type OpenAIClientOptions } from "./openai-sdk.js";
import type { Transport } from "./types.js";

export interface OpenAICompatibleOptions extends OpenAIClientOptions {
  /** The server's OpenAI base URL, e.g. `http://127.0.0.1:8080/v1` (required unless `client` is given). */
  readonly baseURL?: string;
  /** `meta.provider` of the results (default "openai-compatible"). */
  readonly name?: string;
}

const n = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/**
 * Self-hosted usage: `prompt_tokens_details.cached_tokens` (llama.cpp, our engine, vLLM with
 * `--enable-prompt-tokens-details`, SGLang with `--enable-cache-report`), else llama.cpp's
 * `timings.cache_n`; the tokens evaluated into the KV cache (`timings.prompt_n`) are its writes (PROVIDERS.md §0).
 */
export const compatibleUsage = (u: RawChatUsage, extras: JsonObject) => {
  const timings = (extras.timings ?? {}) as { cache_n?: unknown; prompt_n?: unknown };
  const prompt = u.prompt_tokens ?? 0;
  const cached = u.prompt_tokens_details?.cached_tokens ?? n(timings.cache_n) ?? 0;
  const reasoning = u.completion_tokens_details?.reasoning_tokens;
  return {
    promptTokens: prompt,
    cachedTokens: cached,
    cacheWriteTokens: n(timings.prompt_n) ?? 0,
    outputTokens: u.completion_tokens ?? 0,
    ...(typeof reasoning === "number" ? { reasoningTokens: reasoning } : {}),
  };
};

/**
 * Any OpenAI-compatible server (packages/local-engine, llama-server, vLLM, SGLang) through the
 * `openai` SDK with a base URL. Chat renderers go to `/chat/completions`; chat templates
 * (chatml, qwen3, llama3) to `/completions`, with a `<think>` block split back into reasoning.
 */
export const createOpenAICompatibleTransport = (o: OpenAICompatibleOptions): Transport => {
  if (!o.client && !o.baseURL) throw providerError("bad-request", "openai-compatible: baseURL is required");
  const client = openaiClient({ apiKey: "local", ...o });
  const now = o.now ?? defaultNow;
  const flavor: ChatFlavor = { provider: "openai-compatible", metaProvider: o.name ?? "openai-compatible", outputLimitField: "max_tokens", usage: compatibleUsage };
  return { provider: "openai-compatible", send: (input) => sendChat(client, input, flavor, { now }) };
};

// ---- llama-server slot actions (PROVIDERS.md §6.4; packages/local-engine serves the same routes) ----

export interface SlotTarget {
  /** The server's root or its OpenAI base URL (a trailing `/v1` is dropped). */
  readonly url: string;
  readonly fetch?: typeof fetch;
  readonly apiKey?: string;
  readonly signal?: AbortSignal;
}

/** A slot's state as saved or restored: the file, the engine's hash of its tokens, how many tokens and bytes. */
export interface SlotState {
  readonly slot: number;
  readonly filename: string;
  /** The engine's hash of the tokens (packages/local-engine; llama-server has none). */
  readonly prefixHash?: string;
  readonly tokens: number;
  readonly bytes: number;
  readonly ms?: number;
}

/** One request to the server's slot routes (outside `/v1`), with errors as ProviderErrors. */
const slotRequest = async (t: SlotTarget, method: "GET" | "POST", path: string, body: JsonObject | undefined, what: string): Promise<unknown> => {
  const root = t.url.replace(/\/+$/, "").replace(/\/v1$/, "");
  const f = t.fetch ?? fetch;
  let res: Response;
  try {
    res = await f(`${root}${path}`, {
      method,
      headers: { ...JSON_HEADERS, ...(t.apiKey ? { authorization: `Bearer ${t.apiKey}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(t.signal ? { signal: t.signal } : {}),
    });
  } catch (e) {
    if (e instanceof Error && e.name === "AbortError") throw providerError("aborted", `slot ${what}: aborted`, { provider: "openai-compatible", cause: e });
    throw providerError("network", `slot ${what}: ${e instanceof Error ? e.message : String(e)}`, { provider: "openai-compatible", cause: e });
  }
  const text = await res.text();
  let json: unknown = {};
  try {
    json = text === "" ? {} : JSON.parse(text);
  } catch {
    if (res.ok) throw providerError("invalid-response", `slot ${what}: the server answered something that is not JSON`, { provider: "openai-compatible", status: res.status });
  }
  if (!res.ok) {
    const err = ((json as { error?: unknown }).error ?? {}) as { message?: unknown; code?: unknown; type?: unknown };
    const code = typeof err.code === "string" ? err.code : typeof err.type === "string" ? err.type : undefined;
    throw failure({ provider: "openai-compatible", status: res.status, message: typeof err.message === "string" ? err.message : text || res.statusText, ...(code ? { providerCode: code } : {}) });
  }
  return json;
};

const slotAction = async (t: SlotTarget, slot: number, action: "save" | "restore" | "erase", body: JsonObject): Promise<Record<string, unknown>> =>
  (await slotRequest(t, "POST", `/slots/${slot}?action=${action}`, body, action)) as Record<string, unknown>;

/** llama-server's answer (`n_saved`/`n_written`/`timings.save_ms`, or the restore names) as a SlotState. */
const slotState = (json: Record<string, unknown>, slot: number, filename: string | undefined, [tokens, bytes, ms]: [string, string, string]): SlotState => {
  const took = n((json.timings as Record<string, unknown> | undefined)?.[ms]);
  return {
    slot: n(json.id_slot) ?? slot,
    filename: String(json.filename ?? filename ?? ""),
    ...(typeof json.prefix_hash === "string" ? { prefixHash: json.prefix_hash } : {}),
    tokens: n(json[tokens]) ?? 0,
    bytes: n(json[bytes]) ?? 0,
    ...(took !== undefined ? { ms: took } : {}),
  };
};

/** Save a slot's KV state to a file under the server's state directory. */
export const saveSlot = async (t: SlotTarget, slot: number, opts: { filename?: string } = {}): Promise<SlotState> => {
  const json = await slotAction(t, slot, "save", opts.filename !== undefined ? { filename: opts.filename } : {});
  return slotState(json, slot, opts.filename, ["n_saved", "n_written", "save_ms"]);
};

/**
 * Restore a saved KV state into a slot (`-1`: the engine picks an empty or the least recently used
 * slot). By `filename`, or by `prefixHash` on packages/local-engine. A state that is gone or belongs
 * to another model is a `state-gone` ProviderError: replay from scratch.
 */
export const restoreSlot = async (t: SlotTarget, slot: number, opts: { filename?: string; prefixHash?: string }): Promise<SlotState> => {
  const json = await slotAction(t, slot, "restore", {
    ...(opts.filename !== undefined ? { filename: opts.filename } : {}),
    ...(opts.prefixHash !== undefined ? { prefix_hash: opts.prefixHash } : {}),
  });
  return slotState(json, slot, opts.filename, ["n_restored", "n_read", "restore_ms"]);
};

/** What a slot holds now (`GET /slots`; llama-server lists no prefix hash). */
export interface SlotInfo {
  readonly slot: number;
  readonly tokens: number;
  readonly prefixHash?: string;
  readonly cacheKey?: string | null;
}

export const listSlots = async (t: SlotTarget): Promise<SlotInfo[]> => {
  const json = await slotRequest(t, "GET", "/slots", undefined, "list");
  if (!Array.isArray(json)) throw providerError("invalid-response", "slots: GET /slots did not answer a list", { provider: "openai-compatible" });
  return (json as Record<string, unknown>[]).map((s) => ({
    slot: n(s.id) ?? -1,
    tokens: n(s.n_tokens) ?? n((s as { n_past?: unknown }).n_past) ?? 0,
    ...(typeof s.prefix_hash === "string" ? { prefixHash: s.prefix_hash } : {}),
    ...(s.cache_key === null || typeof s.cache_key === "string" ? { cacheKey: s.cache_key } : {}),
  }));
};

/** Clear a slot's KV cache. */
export const eraseSlot = async (t: SlotTarget, slot: number): Promise<{ slot: number; tokens: number }> => {
  const json = await slotAction(t, slot, "erase", {});
  return { slot: n(json.id_slot) ?? slot, tokens: n(json.n_erased) ?? 0 };
};

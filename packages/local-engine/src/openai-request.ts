import type { ChatMessage } from "./chat-render.js";
import { engineError } from "./errors.js";

/**
 * Parsing and checking of the OpenAI-style request bodies. Unknown fields are ignored
 * (clients send many); fields this engine cannot honour (n > 1, tools) are refused
 * rather than silently dropped.
 */

export interface CommonParams {
  maxTokens: number;
  temperature: number | undefined;
  topP: number | undefined;
  seed: number | undefined;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
  cacheKey: string | undefined;
  slotId: number | undefined;
  cachePrompt: boolean | undefined;
}

export interface ChatParams extends CommonParams {
  messages: ChatMessage[];
}

export interface CompletionParams extends CommonParams {
  prompt: string | number[];
}

/** Generation length when the request gives none: a random-weight model rarely emits EOS. */
export const DEFAULT_MAX_TOKENS = 256;

type Body = Record<string, unknown>;

function asBody(value: unknown): Body {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw engineError("bad-request", "the request body must be a JSON object");
  return value as Body;
}

function optNumber(body: Body, key: string, check?: (n: number) => boolean): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || (check && !check(v))) throw engineError("bad-request", `invalid ${key}`);
  return v;
}

function common(body: Body): CommonParams {
  const n = optNumber(body, "n");
  if (n !== undefined && n !== 1) throw engineError("bad-request", "only n = 1 is supported");
  if (Array.isArray(body.tools) && body.tools.length > 0) throw engineError("bad-request", "tools are not supported by the local engine");
  const maxTokens =
    optNumber(body, "max_completion_tokens", (v) => Number.isInteger(v) && v >= 0) ??
    optNumber(body, "max_tokens", (v) => Number.isInteger(v) && v >= 0) ??
    optNumber(body, "n_predict", (v) => Number.isInteger(v) && v >= 0) ??
    DEFAULT_MAX_TOKENS;
  const stopRaw = body.stop;
  let stop: string[] = [];
  if (typeof stopRaw === "string") stop = [stopRaw];
  else if (Array.isArray(stopRaw) && stopRaw.every((s) => typeof s === "string")) stop = stopRaw as string[];
  else if (stopRaw !== undefined && stopRaw !== null) throw engineError("bad-request", "stop must be a string or an array of strings");
  const streamOptions = body.stream_options as { include_usage?: unknown } | undefined | null;
  const cacheKey = body.prompt_cache_key ?? body.cache_key;
  if (cacheKey !== undefined && cacheKey !== null && typeof cacheKey !== "string") throw engineError("bad-request", "prompt_cache_key must be a string");
  const slotId = optNumber(body, "id_slot", (v) => Number.isInteger(v) && v >= -1);
  return {
    maxTokens,
    temperature: optNumber(body, "temperature", (v) => v >= 0),
    topP: optNumber(body, "top_p", (v) => v > 0 && v <= 1),
    seed: optNumber(body, "seed", Number.isInteger),
    stop,
    stream: body.stream === true,
    includeUsage: body.stream === true && streamOptions?.include_usage === true,
    cacheKey: typeof cacheKey === "string" ? cacheKey : undefined,
    slotId: slotId === undefined || slotId === -1 ? undefined : slotId,
    cachePrompt: typeof body.cache_prompt === "boolean" ? body.cache_prompt : undefined,
  };
}

const ROLES = new Set(["system", "developer", "user", "assistant", "tool"]);

export function parseChatRequest(raw: unknown): ChatParams {
  const body = asBody(raw);
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw engineError("bad-request", "messages must be a non-empty array");
  for (const m of messages) {
    const msg = m as { role?: unknown; content?: unknown } | null;
    if (!msg || typeof msg.role !== "string" || !ROLES.has(msg.role)) throw engineError("bad-request", "each message needs a role of system, developer, user, assistant or tool");
    if (msg.content !== null && msg.content !== undefined && typeof msg.content !== "string" && !Array.isArray(msg.content)) {
      throw engineError("bad-request", "message content must be a string, null or an array of parts");
    }
  }
  return { ...common(body), messages: messages as ChatMessage[] };
}

export function parseCompletionRequest(raw: unknown): CompletionParams {
  const body = asBody(raw);
  let prompt = body.prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === "string") prompt = prompt[0];
  const isTokenArray = Array.isArray(prompt) && prompt.length > 0 && prompt.every((t) => Number.isInteger(t) && (t as number) >= 0);
  if (typeof prompt !== "string" && !isTokenArray) {
    throw engineError("bad-request", "prompt must be a string or an array of token ids (one prompt per request)");
  }
  return { ...common(body), prompt: prompt as string | number[] };
}

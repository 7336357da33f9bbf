import { errorFamily, type FamilyError } from "@ctxsync/core";

/**
 * The one error type of the providers package. Replay branches on `code`: it replays from scratch
 * on `state-gone` only; `rate-limited` and `overloaded` are worth a later retry; the rest are not.
 */
export type ProviderErrorCode =
  | "state-gone" // provider-held state is gone: unknown/expired previous_response_id, deleted/expired cachedContent, a lost slot state
  | "rate-limited" // 429
  | "overloaded" // 529 / 503: the provider is busy
  | "bad-request" // 400/404/422 the provider refused the request (including a modified thinking block or signature)
  | "unauthorized" // 401/403 (except Gemini's "CachedContent not found (or permission denied)")
  | "context-too-long" // the prompt does not fit the model's context
  | "network" // no response: connection refused, reset, timed out
  | "upstream" // 5xx, or an error event in the middle of a stream
  | "aborted" // the caller's AbortSignal fired
  | "invalid-response"; // the provider answered something this transport cannot read

export interface ProviderErrorInfo {
  /** HTTP status, when there was a response. */
  readonly status?: number;
  /** The provider's own message, verbatim. */
  readonly providerMessage?: string;
  /** The provider's machine-readable code or type (`previous_response_not_found`, `overloaded_error`, `NOT_FOUND`...). */
  readonly providerCode?: string;
  readonly provider?: string;
  readonly cause?: unknown;
}

export type ProviderError = FamilyError<"ProviderError", ProviderErrorCode> & ProviderErrorInfo;

const family = errorFamily<"ProviderError", ProviderErrorCode>("ProviderError");

export const providerError = (code: ProviderErrorCode, message: string, info: ProviderErrorInfo = {}): ProviderError => {
  const e = family.make(code, message);
  // Only the fields that are set, so that a logged error shows what the provider said and nothing empty.
  for (const [k, v] of Object.entries(info)) if (v !== undefined) Object.assign(e, { [k]: v });
  return e as ProviderError;
};

export const isProviderError = family.is as (e: unknown) => e is ProviderError;

/** What a transport knows about a failed call, before classifying it. */
export interface FailureFacts {
  readonly provider: string;
  readonly status?: number;
  readonly message: string;
  readonly providerCode?: string;
  readonly cause?: unknown;
}

/** Text patterns of the documented errors that mean "provider-held state is gone" (PROVIDERS.md §2, §4). */
const STATE_GONE = [
  /previous[_ ]response.*not found/i, // OpenAI: "Previous response with id 'resp_…' not found."
  /cached ?content.*(not found|expired|permission denied)/i, // Gemini: "CachedContent not found (or permission denied)"
  /state-not-found|model-mismatch|config-mismatch|bad-state-file/i, // local engine slot states (packages/local-engine errors)
];
const CONTEXT_TOO_LONG = [
  /context[_ ]length[_ ]exceeded/i, // OpenAI code
  /maximum context length/i, // OpenAI / DeepSeek / vLLM text
  /prompt is too long/i, // Anthropic: "prompt is too long: N tokens > M maximum"
  /input token count.*exceeds the maximum/i, // Gemini
  /context-overflow/i, // local engine
];

/** Classify a failure by documented texts, the provider's error code or type, then the HTTP status. */
export const classify = (f: FailureFacts): ProviderErrorCode => {
  const text = `${f.providerCode ?? ""} ${f.message}`;
  if (STATE_GONE.some((r) => r.test(text))) return "state-gone";
  if (CONTEXT_TOO_LONG.some((r) => r.test(text)) || f.status === 413) return "context-too-long";
  const code = f.providerCode ?? "";
  if (/rate_limit|RESOURCE_EXHAUSTED/i.test(code)) return "rate-limited";
  if (/overloaded|UNAVAILABLE/i.test(code)) return "overloaded";
  if (/authentication|permission|invalid_api_key|UNAUTHENTICATED/i.test(code)) return "unauthorized";
  const s = f.status;
  // An error event in the middle of a stream has a code but no status of its own.
  if (s === undefined) return code !== "" ? "upstream" : "network";
  if (s === 429) return "rate-limited";
  if (s === 529 || s === 503) return "overloaded";
  if (s === 401 || s === 403) return "unauthorized";
  if (s >= 500) return "upstream";
  return "bad-request";
};

export const failure = (f: FailureFacts): ProviderError => {
  const code = classify(f);
  return providerError(code, `${f.provider}: ${f.status !== undefined ? `${f.status} ` : ""}${f.message}`, {
    ...(f.status !== undefined ? { status: f.status } : {}),
    providerMessage: f.message,
    ...(f.providerCode !== undefined ? { providerCode: f.providerCode } : {}),
    provider: f.provider,
    ...(f.cause !== undefined ? { cause: f.cause } : {}),
  });
};

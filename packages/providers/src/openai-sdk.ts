import OpenAI from "openai";
import { failure, isProviderError, providerError, type ProviderError } from "./errors.js";
import type { TransportOptions } from "./types.js";

/** Options of the transports built on the `openai` SDK. */
export interface OpenAIClientOptions extends TransportOptions {
  readonly apiKey?: string;
  readonly baseURL?: string;
  readonly organization?: string;
  /** Extra headers on every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** A ready client (its own fetch, retries, base URL); the options above are then ignored. */
  readonly client?: OpenAI;
}

export const openaiClient = (o: OpenAIClientOptions, defaults: { baseURL?: string; apiKeyEnv?: string } = {}): OpenAI =>
  o.client ??
  new OpenAI({
    apiKey: o.apiKey ?? (defaults.apiKeyEnv ? process.env[defaults.apiKeyEnv] : undefined) ?? process.env.OPENAI_API_KEY ?? "unset",
    ...(o.baseURL !== undefined || defaults.baseURL !== undefined ? { baseURL: o.baseURL ?? defaults.baseURL } : {}),
    ...(o.organization !== undefined ? { organization: o.organization } : {}),
    ...(o.fetch ? { fetch: o.fetch } : {}),
    ...(o.maxRetries !== undefined ? { maxRetries: o.maxRetries } : {}),
    ...(o.timeoutMs !== undefined ? { timeout: o.timeoutMs } : {}),
    ...(o.headers ? { defaultHeaders: { ...o.headers } } : {}),
  });

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** The SDK's errors (and anything else thrown while sending or streaming) as a ProviderError. */
export const fromOpenAIError = (e: unknown, provider: string): ProviderError => {
  if (isProviderError(e)) return e;
  if (e instanceof OpenAI.APIUserAbortError) return providerError("aborted", `${provider}: request aborted`, { provider, cause: e });
  if (e instanceof OpenAI.APIConnectionError) return providerError("network", `${provider}: ${e.message}`, { provider, cause: e });
  if (e instanceof OpenAI.APIError) {
    const body = e.error as { message?: unknown; code?: unknown; type?: unknown } | undefined;
    const code = str(e.code) ?? str(body?.code) ?? str(e.type) ?? str(body?.type);
    return failure({ provider, ...(e.status !== undefined ? { status: e.status } : {}), message: str(body?.message) ?? e.message, ...(code !== undefined ? { providerCode: code } : {}), cause: e });
  }
  if (e instanceof Error && e.name === "AbortError") return providerError("aborted", `${provider}: request aborted`, { provider, cause: e });
  if (e instanceof SyntaxError) return providerError("invalid-response", `${provider}: unreadable response: ${e.message}`, { provider, cause: e });
  return providerError("network", `${provider}: ${e instanceof Error ? e.message : String(e)}`, { provider, cause: e });
};

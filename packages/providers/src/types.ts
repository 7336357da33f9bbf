import type { RendererId } from "@ctxsync/compile";
import type { EntryInput, JsonObject, JsonValue } from "@ctxsync/core";

/** The transports. `openai-compatible` is any server speaking OpenAI's chat/completions API (the local engine, vLLM, llama-server). */
export type ProviderId = "openai-chat" | "openai-responses" | "anthropic" | "gemini" | "deepseek" | "openai-compatible";

export const PROVIDER_IDS: readonly ProviderId[] = ["openai-chat", "openai-responses", "anthropic", "gemini", "deepseek", "openai-compatible"];

/** Partial output as it streams: for awareness (others watch the agent live), never appended. */
export type StreamDelta =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "reasoning"; readonly text: string }
  /** A tool call's arguments as they arrive; `id` and `name` come with the first delta of a call. */
  | { readonly type: "tool-call"; readonly index: number; readonly id?: string; readonly name?: string; readonly argumentsDelta: string };

export interface SendInput {
  /** What @ctxsync/compile produced: `body` is the exact bytes to send (CompileResult.body). */
  readonly compiled: { readonly provider: RendererId; readonly body: string; readonly request: unknown };
  readonly model: string;
  /** Default true (SSE). The stream switch is the only change made to the body for it (see docs/providers.md). */
  readonly stream?: boolean;
  /** Warm-up / rebuild: cap the output (see `warmOutputTokens` in facts). Changes the body's output-limit field only. */
  readonly maxOutputTokens?: number;
  readonly signal?: AbortSignal;
  /** Partial output as it streams (text, reasoning, tool-call argument deltas): for awareness. */
  readonly onDelta?: (d: StreamDelta) => void;
}

export interface NormalizedUsage {
  /** All input tokens, cached included. */
  readonly promptTokens: number;
  /** Served from cache (read). */
  readonly cachedTokens: number;
  /** Written to cache (Anthropic creation, OpenAI cache_write_tokens, DeepSeek miss units). */
  readonly cacheWriteTokens: number;
  /** The part of `cacheWriteTokens` written with the 1 h TTL (Anthropic). */
  readonly cacheWrite1hTokens?: number;
  /** All output tokens, reasoning included (they are billed as output). */
  readonly outputTokens: number;
  readonly reasoningTokens?: number;
  /** Time from sending to the first streamed output (null when not streaming, or when nothing was output). */
  readonly ttftMs: number | null;
  readonly totalMs: number;
}

/** A hidden blob for `C/hidden`, without the ids core fills in (attach it to the new entry). */
export interface BlobOut {
  readonly kind: string;
  readonly order: number;
  readonly data: JsonValue;
}

/** Something recoverable the transport worked around or noticed; the call still succeeded. */
export type ProviderWarning =
  | { readonly code: "usage-missing"; readonly message: string }
  | { readonly code: "output-limit-raised"; readonly requested: number; readonly used: number; readonly message: string }
  | { readonly code: "tool-arguments-invalid"; readonly callId: string; readonly message: string }
  | { readonly code: "unknown-output"; readonly outputType: string; readonly message: string }
  | { readonly code: "signature-unplaced"; readonly message: string }
  | { readonly code: "incomplete"; readonly reason: string; readonly message: string };

export interface SendResult {
  /** kind "assistant": text, reasoning, toolCalls (core's shapes). */
  readonly entry: EntryInput & { readonly kind: "assistant" };
  /** `provider` is the blob family compile renders blobs back for ("openai", "anthropic", "google", "deepseek", or the compatible server's name). */
  readonly meta: { readonly provider: string; readonly model: string };
  /**
   * Hidden state to append to C/hidden for the new entry, in output order (kinds as compile renders them back:
   * "openai.reasoning", "openai.output_item", "openai.response", "anthropic.thinking", "anthropic.redacted_thinking",
   * "gemini.thought_signature").
   */
  readonly blobs: readonly BlobOut[];
  readonly usage: NormalizedUsage;
  readonly responseId?: string;
  readonly stopReason?: string;
  readonly warnings: readonly ProviderWarning[];
  /** Opaque: the provider's raw usage object and extras (e.g. the local engine's `timings`, `id_slot`). */
  readonly providerMetadata?: JsonObject;
}

export interface Transport {
  readonly provider: ProviderId;
  send(input: SendInput): Promise<SendResult>;
}

/** Options every transport factory takes besides its SDK's own. */
export interface TransportOptions {
  /** The `fetch` the SDK uses (a simulator's handler, or a wire-capturing wrapper). */
  readonly fetch?: typeof fetch;
  /** SDK retries (default: the SDK's own default). */
  readonly maxRetries?: number;
  readonly timeoutMs?: number;
  /** Clock for TTFT and total time (default `performance.now`); a simulator's virtual clock in benchmarks. */
  readonly now?: () => number;
}

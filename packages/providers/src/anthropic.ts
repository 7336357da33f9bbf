import Anthropic from "@anthropic-ai/sdk";
import type { JsonObject, JsonValue } from "@ctxsync/core";
import { createAssembler } from "./assemble.js";
import { getMember, setMember } from "./body-edit.js";
import { outputLimit } from "./chat-completions.js";
import { bodyBytes, defaultNow, JSON_HEADERS } from "./clock.js";
import { failure, isProviderError, providerError, type ProviderError } from "./errors.js";
import type { BlobOut, ProviderWarning, SendInput, SendResult, Transport, TransportOptions } from "./types.js";

/** Blob kinds (compile renders them back first in the assistant message, byte-exact, in order). */
export const THINKING_BLOB = "anthropic.thinking";
export const REDACTED_THINKING_BLOB = "anthropic.redacted_thinking";

export interface AnthropicTransportOptions extends TransportOptions {
  readonly apiKey?: string;
  readonly baseURL?: string;
  /** Extra headers on every request (e.g. `anthropic-beta`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A ready client; the options above are then ignored. */
  readonly client?: Anthropic;
}

/** The top-level members compile writes after the request parameters (Messages layout). */
const LAYOUT = ["tools", "system", "messages"];

/**
 * The body to send. A warm-up changes `max_tokens` only; with manual thinking (`budget_tokens`)
 * it cannot go below budget + 1 (PROVIDERS.md §3.6), so it is raised there, with a warning.
 */
export const prepareAnthropicBody = (input: SendInput, warnings: ProviderWarning[]): { body: string; stream: boolean } => {
  const stream = input.stream ?? true;
  let body = input.compiled.body;
  if (input.maxOutputTokens !== undefined) {
    const thinking = getMember(body, ["thinking"]) as { type?: string; budget_tokens?: number } | undefined;
    const floor = thinking?.type === "enabled" && typeof thinking.budget_tokens === "number" ? thinking.budget_tokens + 1 : undefined;
    body = setMember(body, ["max_tokens"], outputLimit(input, "anthropic", warnings, floor), LAYOUT);
  }
  if (stream) body = setMember(body, ["stream"], true, LAYOUT);
  else if (getMember(body, ["stream"]) !== undefined) body = setMember(body, ["stream"], false, LAYOUT);
  return { body, stream };
};

interface RawUsage {
  input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation?: { ephemeral_5m_input_tokens?: number | null; ephemeral_1h_input_tokens?: number | null } | null;
  output_tokens?: number | null;
}
type Block = { type: string; text?: string; thinking?: string; signature?: string; data?: string; id?: string; name?: string; input?: unknown; json?: string };

const n = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** Usage: `input_tokens` is the uncached rest after the last breakpoint; reads and writes are counted apart (PROVIDERS.md §3.4). */
export const anthropicUsage = (u: RawUsage) => {
  const read = n(u.cache_read_input_tokens);
  const write = n(u.cache_creation_input_tokens);
  const oneHour = u.cache_creation?.ephemeral_1h_input_tokens;
  return {
    promptTokens: n(u.input_tokens) + read + write,
    cachedTokens: read,
    cacheWriteTokens: write,
    ...(typeof oneHour === "number" ? { cacheWrite1hTokens: oneHour } : {}),
    outputTokens: n(u.output_tokens),
  };
};

const fromAnthropicError = (e: unknown): ProviderError => {
  const provider = "anthropic";
  if (isProviderError(e)) return e;
  if (e instanceof Anthropic.APIUserAbortError) return providerError("aborted", "anthropic: request aborted", { provider, cause: e });
  if (e instanceof Anthropic.APIConnectionError) return providerError("network", `anthropic: ${e.message}`, { provider, cause: e });
  if (e instanceof Anthropic.APIError) {
    const body = e.error as { error?: { type?: unknown; message?: unknown } } | undefined;
    const type = e.type ?? (typeof body?.error?.type === "string" ? body.error.type : undefined);
    const message = e.apiMessage ?? (typeof body?.error?.message === "string" ? body.error.message : e.message);
    return failure({ provider, ...(e.status !== undefined ? { status: e.status } : {}), message, ...(type ? { providerCode: type } : {}), cause: e });
  }
  if (e instanceof Error && e.name === "AbortError") return providerError("aborted", "anthropic: request aborted", { provider, cause: e });
  return providerError("network", `anthropic: ${e instanceof Error ? e.message : String(e)}`, { provider, cause: e });
};

/**
 * Anthropic Messages through `@anthropic-ai/sdk`. Thinking blocks become `anthropic.thinking`
 * blobs (`{thinking, signature}`, byte-exact) and `anthropic.redacted_thinking` (`{data}`), in
 * block order; their text is also the entry's visible reasoning.
 */
export const createAnthropicTransport = (o: AnthropicTransportOptions = {}): Transport => {
  const client =
    o.client ??
    new Anthropic({
      apiKey: o.apiKey ?? process.env.ANTHROPIC_API_KEY ?? "unset",
      ...(o.baseURL !== undefined ? { baseURL: o.baseURL } : {}),
      ...(o.fetch ? { fetch: o.fetch } : {}),
      ...(o.maxRetries !== undefined ? { maxRetries: o.maxRetries } : {}),
      ...(o.timeoutMs !== undefined ? { timeout: o.timeoutMs } : {}),
      ...(o.headers ? { defaultHeaders: { ...o.headers } } : {}),
    });
  const now = o.now ?? defaultNow;
  const send = async (input: SendInput): Promise<SendResult> => {
    const warnings: ProviderWarning[] = [];
    const { body, stream } = prepareAnthropicBody(input, warnings);
    const asm = createAssembler(now, input.onDelta);
    const maxTokens = Number(getMember(body, ["max_tokens"]) ?? 0);
    // `create` reads only `stream`, `model` and `max_tokens` (warnings, the non-streaming timeout) from
    // its first argument; `options.body` is what goes on the wire.
    const params = { model: input.model, max_tokens: maxTokens, messages: [] };
    const request = { body: bodyBytes(body), headers: JSON_HEADERS, timeout: o.timeoutMs ?? 600_000, ...(input.signal ? { signal: input.signal } : {}) };
    const blocks: Block[] = [];
    let usage: RawUsage = {};
    let id: string | undefined;
    let model: string | undefined;
    let stop: string | undefined;
    try {
      if (stream) {
        const events = await client.messages.create({ ...params, stream: true }, request);
        for await (const raw of events) {
          const e = raw as unknown as { type: string; index?: number; message?: { id?: string; model?: string; usage?: RawUsage }; content_block?: Block; delta?: Record<string, unknown>; usage?: RawUsage };
          switch (e.type) {
            case "message_start":
              id = e.message?.id;
              model = e.message?.model;
              usage = { ...e.message?.usage };
              break;
            case "content_block_start": {
              const b = { ...(e.content_block as Block) };
              if (b.type === "tool_use") {
                b.json = "";
                asm.toolCall(e.index ?? 0, { id: b.id, name: b.name });
              }
              if (b.type === "text" && b.text) asm.text(b.text);
              if (b.type === "thinking" && b.thinking) asm.reasoning(b.thinking);
              blocks[e.index ?? blocks.length] = b;
              break;
            }
            case "content_block_delta": {
              const b = blocks[e.index ?? 0];
              const d = e.delta ?? {};
              if (!b) break;
              if (d.type === "text_delta") {
                b.text = (b.text ?? "") + String(d.text ?? "");
                asm.text(String(d.text ?? ""));
              } else if (d.type === "thinking_delta") {
                b.thinking = (b.thinking ?? "") + String(d.thinking ?? "");
                asm.reasoning(String(d.thinking ?? ""));
              } else if (d.type === "signature_delta") b.signature = (b.signature ?? "") + String(d.signature ?? "");
              else if (d.type === "input_json_delta") {
                b.json = (b.json ?? "") + String(d.partial_json ?? "");
                asm.toolCall(e.index ?? 0, { args: String(d.partial_json ?? "") });
              }
              break;
            }
            case "message_delta":
              stop = typeof e.delta?.stop_reason === "string" ? e.delta.stop_reason : stop;
              // message_delta carries the final (cumulative) counts; keep message_start's where it has none.
              for (const [k, v] of Object.entries(e.usage ?? {})) if (v !== null && v !== undefined) (usage as Record<string, unknown>)[k] = v;
              break;
          }
        }
        if (input.signal?.aborted) throw providerError("aborted", "anthropic: request aborted", { provider: "anthropic" });
      } else {
        const m = (await client.messages.create({ ...params, stream: false }, request)) as unknown as { id?: string; model?: string; content?: Block[]; stop_reason?: string; usage?: RawUsage };
        id = m.id;
        model = m.model;
        stop = m.stop_reason;
        usage = { ...m.usage };
        (m.content ?? []).forEach((b, i) => {
          blocks.push({ ...b, ...(b.type === "tool_use" ? { json: JSON.stringify(b.input ?? {}) } : {}) });
          if (b.type === "text") asm.text(b.text ?? "");
          else if (b.type === "thinking") asm.reasoning(b.thinking ?? "");
          else if (b.type === "tool_use") asm.wholeToolCall(i, b.id ?? "", b.name ?? "", JSON.stringify(b.input ?? {}));
        });
      }
    } catch (e) {
      throw fromAnthropicError(e);
    }
    const totalMs = asm.elapsedMs();
    const entryAsm = createAssembler(now);
    const blobs: BlobOut[] = [];
    const thoughts: string[] = [];
    blocks.forEach((b, i) => {
      if (!b) return;
      switch (b.type) {
        case "text":
          entryAsm.text(b.text ?? "");
          break;
        case "thinking":
          blobs.push({ kind: THINKING_BLOB, order: blobs.length, data: { thinking: b.thinking ?? "", signature: b.signature ?? "" } });
          thoughts.push(b.thinking ?? "");
          break;
        case "redacted_thinking":
          blobs.push({ kind: REDACTED_THINKING_BLOB, order: blobs.length, data: { data: b.data ?? "" } });
          break;
        case "tool_use":
          entryAsm.wholeToolCall(i, b.id ?? "", b.name ?? "", b.json === "" || b.json === undefined ? "{}" : b.json);
          break;
        default:
          warnings.push({ code: "unknown-output", outputType: b.type, message: `anthropic: content block of type ${b.type} is not kept` });
      }
    });
    const visible = thoughts.filter((t) => t !== "");
    if (visible.length > 0) entryAsm.reasoning(visible.join("\n\n"));
    if (stop === "max_tokens" && input.maxOutputTokens === undefined) warnings.push({ code: "incomplete", reason: "max_tokens", message: "anthropic: the answer stopped at max_tokens" });
    if (usage.input_tokens === undefined) warnings.push({ code: "usage-missing", message: "anthropic: the response carried no usage; tokens are reported as 0" });
    return {
      entry: { kind: "assistant", content: entryAsm.content(warnings) },
      meta: { provider: "anthropic", model: model ?? input.model },
      blobs,
      usage: { ...anthropicUsage(usage), ttftMs: stream ? asm.ttftMs : null, totalMs },
      ...(id ? { responseId: id } : {}),
      ...(stop ? { stopReason: stop } : {}),
      warnings,
      providerMetadata: { usage: usage as unknown as JsonValue } as JsonObject,
    };
  };
  return { provider: "anthropic", send };
};

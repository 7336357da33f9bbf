import type { JsonObject, JsonValue } from "@ctxsync/core";
import { createAssembler } from "./assemble.js";
import { getMember, setMember } from "./body-edit.js";
import { outputLimit } from "./chat-completions.js";
import { bodyBytes, defaultNow, JSON_HEADERS } from "./clock.js";
import { providerError } from "./errors.js";
import { fromOpenAIError, openaiClient, type OpenAIClientOptions } from "./openai-sdk.js";
import type { BlobOut, ProviderWarning, SendInput, SendResult, Transport } from "./types.js";

/** Blob kinds (compile renders them back): a reasoning item, a non-reasoning output item's id, the response id. */
export const REASONING_BLOB = "openai.reasoning";
export const OUTPUT_ITEM_BLOB = "openai.output_item";
export const RESPONSE_BLOB = "openai.response";

/** The top-level members compile writes after the request parameters (Responses layout). */
const LAYOUT = ["tools", "instructions", "input"];

export const prepareResponsesBody = (input: SendInput, warnings: ProviderWarning[]): { body: string; stream: boolean } => {
  const stream = input.stream ?? true;
  let body = input.compiled.body;
  if (input.maxOutputTokens !== undefined) body = setMember(body, ["max_output_tokens"], outputLimit(input, "openai-responses", warnings), LAYOUT);
  if (stream) body = setMember(body, ["stream"], true, LAYOUT);
  else if (getMember(body, ["stream"]) !== undefined) body = setMember(body, ["stream"], false, LAYOUT);
  return { body, stream };
};

type Item = { type?: string; id?: string; [k: string]: unknown };
interface ResponseObject {
  id?: string;
  model?: string;
  status?: string;
  store?: boolean;
  output?: Item[];
  usage?: RawResponsesUsage | null;
  incomplete_details?: { reason?: string } | null;
  error?: { code?: string; message?: string } | null;
}
interface RawResponsesUsage {
  input_tokens?: number;
  input_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number } | null;
  output_tokens?: number;
  output_tokens_details?: { reasoning_tokens?: number } | null;
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const textOfMessage = (it: Item): string =>
  Array.isArray(it.content) ? (it.content as { type?: string; text?: unknown; refusal?: unknown }[]).map((p) => (p.type === "refusal" ? str(p.refusal) : str(p.text))).join("") : str(it.content);
const summaryText = (it: Item): string => (Array.isArray(it.summary) ? (it.summary as { text?: unknown }[]).map((s) => str(s.text)).join("\n\n") : "");

/**
 * The hidden blobs of a response, in output order: a reasoning item is kept whole (id,
 * encrypted_content, summary) as `openai.reasoning`; every other output item by its id (and
 * call_id, phase, status) as `openai.output_item`; the response id last, when it was stored.
 */
export const responsesBlobs = (response: ResponseObject, items: readonly Item[], warnings: ProviderWarning[]): BlobOut[] => {
  const blobs: BlobOut[] = [];
  const push = (kind: string, data: JsonObject) => blobs.push({ kind, order: blobs.length, data });
  for (const it of items) {
    if (it.type === "reasoning") {
      const data: JsonObject = { id: str(it.id) };
      if (typeof it.encrypted_content === "string") data.encrypted_content = it.encrypted_content;
      if (Array.isArray(it.summary)) data.summary = it.summary as JsonValue;
      push(REASONING_BLOB, data);
    } else if (it.type === "message" || it.type === "function_call") {
      const data: JsonObject = { type: it.type, id: str(it.id) };
      if (it.type === "function_call") data.call_id = str(it.call_id);
      if (typeof it.phase === "string") data.phase = it.phase;
      if (typeof it.status === "string") data.status = it.status;
      push(OUTPUT_ITEM_BLOB, data);
    } else warnings.push({ code: "unknown-output", outputType: String(it.type), message: `openai-responses: output item of type ${String(it.type)} is not kept` });
  }
  if (response.id && response.store !== false) push(RESPONSE_BLOB, { id: response.id });
  return blobs;
};

/**
 * OpenAI Responses through the `openai` SDK. Streaming reads the item events; every finished
 * item is taken from `response.output_item.done` (an `.added` event's `encrypted_content` may be
 * incomplete, PROVIDERS.md §2).
 */
export const createOpenAIResponsesTransport = (o: OpenAIClientOptions = {}): Transport => {
  const client = openaiClient(o);
  const now = o.now ?? defaultNow;
  const send = async (input: SendInput): Promise<SendResult> => {
    const warnings: ProviderWarning[] = [];
    const { body, stream } = prepareResponsesBody(input, warnings);
    const asm = createAssembler(now, input.onDelta);
    const request = { body: bodyBytes(body), headers: JSON_HEADERS, ...(input.signal ? { signal: input.signal } : {}) };
    let response: ResponseObject = {};
    const items: Item[] = [];
    try {
      if (stream) {
        const events = await client.responses.create({ model: input.model, input: [], stream: true }, request);
        for await (const raw of events) {
          const e = raw as unknown as { type: string; output_index?: number; delta?: string; item?: Item; response?: ResponseObject };
          switch (e.type) {
            case "response.created":
              response = { ...e.response };
              break;
            case "response.output_text.delta":
              asm.text(str(e.delta));
              break;
            case "response.reasoning_summary_text.delta":
            case "response.reasoning_text.delta":
              asm.reasoning(str(e.delta));
              break;
            case "response.output_item.added":
              if (e.item?.type === "function_call") asm.toolCall(e.output_index ?? 0, { id: str(e.item.call_id), name: str(e.item.name) });
              break;
            case "response.function_call_arguments.delta":
              asm.toolCall(e.output_index ?? 0, { args: str(e.delta) });
              break;
            case "response.output_item.done":
              if (e.item) items[e.output_index ?? items.length] = e.item;
              break;
            case "response.completed":
            case "response.incomplete":
              response = { ...e.response };
              break;
            case "response.failed": {
              const er = e.response?.error;
              throw providerError("upstream", `openai: response failed: ${er?.message ?? "no reason given"}`, { provider: "openai", ...(er?.message ? { providerMessage: er.message } : {}), ...(er?.code ? { providerCode: er.code } : {}) });
            }
          }
        }
        if (input.signal?.aborted) throw providerError("aborted", "openai: request aborted", { provider: "openai" });
      } else {
        response = (await client.responses.create({ model: input.model, input: [], stream: false }, request)) as unknown as ResponseObject;
        for (const it of response.output ?? []) items.push(it);
      }
    } catch (e) {
      throw fromOpenAIError(e, "openai");
    }
    const totalMs = asm.elapsedMs();
    // The entry comes from the finished items (authoritative), not from the deltas.
    const done = items.filter((x): x is Item => x !== undefined);
    let text = "";
    let reasoning: string | undefined;
    const toolCalls: { id: string; name: string; args: string }[] = [];
    for (const it of done) {
      if (it.type === "message") text += textOfMessage(it);
      else if (it.type === "reasoning") {
        const s = summaryText(it);
        if (s !== "") reasoning = reasoning === undefined ? s : `${reasoning}\n\n${s}`;
      } else if (it.type === "function_call") toolCalls.push({ id: str(it.call_id), name: str(it.name), args: str(it.arguments) });
    }
    // Non-streaming: the whole answer is reported once, for awareness.
    const entryAsm = createAssembler(now, stream ? undefined : input.onDelta);
    entryAsm.text(text);
    if (reasoning !== undefined) entryAsm.reasoning(reasoning);
    toolCalls.forEach((c, i) => entryAsm.wholeToolCall(i, c.id, c.name, c.args));
    const content = entryAsm.content(warnings);
    const u = response.usage;
    if (!u) warnings.push({ code: "usage-missing", message: "openai-responses: the response carried no usage; tokens are reported as 0" });
    const reason = response.incomplete_details?.reason;
    if (response.status === "incomplete" && input.maxOutputTokens === undefined)
      warnings.push({ code: "incomplete", reason: reason ?? "unknown", message: `openai-responses: the response is incomplete (${reason ?? "no reason given"})` });
    const blobs = responsesBlobs(response, done, warnings);
    const reasoningTokens = u?.output_tokens_details?.reasoning_tokens;
    return {
      entry: { kind: "assistant", content },
      meta: { provider: "openai", model: response.model ?? input.model },
      blobs,
      usage: {
        promptTokens: u?.input_tokens ?? 0,
        cachedTokens: u?.input_tokens_details?.cached_tokens ?? 0,
        cacheWriteTokens: u?.input_tokens_details?.cache_write_tokens ?? 0,
        outputTokens: u?.output_tokens ?? 0,
        ...(typeof reasoningTokens === "number" ? { reasoningTokens } : {}),
        ttftMs: stream ? asm.ttftMs : null,
        totalMs,
      },
      ...(response.id ? { responseId: response.id } : {}),
      ...(response.status ? { stopReason: response.status === "incomplete" ? (reason ?? "incomplete") : response.status } : {}),
      warnings,
      providerMetadata: { ...(u ? { usage: u as unknown as JsonValue } : {}), ...(response.status ? { status: response.status } : {}) },
    };
  };
  return { provider: "openai-responses", send };
};

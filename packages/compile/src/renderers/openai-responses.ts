import { toolCallArgumentsText, type AssistantEntry, type HiddenBlob, type JsonObject, type JsonValue } from "@ctxsync/core";
import { hasStrings, takeBlobs, type DataCheck } from "../hidden.js";
import { MISSING_RESULT_TEXT, type PlanItem } from "../plan.js";
import { configText, orphanResultText, requestParams, summaryText, type HeadPart, type JsonRenderer, type ListGroup, type RenderEnv } from "../render.js";
import { createWarningSink, type WarningSink } from "../warnings.js";
import { promptCacheKey } from "./openai-chat.js";

export const RENDERER_VERSION = "openai-responses/2";

type ItemStatus = "in_progress" | "completed" | "incomplete";
type Phase = "commentary" | "final_answer";

export type ResponsesInputItem =
  | { type: "message"; role: "user" | "assistant" | "system"; content: string }
  /** An assistant message replayed with its `msg_…` id (and `phase`), the form the API pairs with the reasoning item before it. */
  | { type: "message"; role: "assistant"; id: string; status: ItemStatus; content: { type: "output_text"; text: string; annotations: [] }[]; phase?: Phase }
  | { type: "function_call"; call_id: string; name: string; arguments: string; id?: string; status?: ItemStatus }
  | { type: "function_call_output"; call_id: string; output: string }
  | { type: "reasoning"; id: string; summary: { type: "summary_text"; text: string }[]; encrypted_content?: string };
export interface ResponsesTool {
  type: "function";
  name: string;
  description?: string;
  parameters: JsonObject | null;
  strict: boolean;
}
/** An OpenAI Responses request: stateless (`store: false`, full input) or chained on `previous_response_id`. */
export interface OpenAIResponsesRequest {
  model: string;
  input: ResponsesInputItem[];
  instructions?: string;
  tools?: ResponsesTool[];
  store?: boolean;
  include?: "reasoning.encrypted_content"[];
  previous_response_id?: string;
  prompt_cache_key?: string;
}

/**
 * Blob kinds: a reasoning item `{id, encrypted_content, summary?}`; the response id `{id}` of the
 * turn; and one `{type: "message"|"function_call", id, call_id?, phase?, status?}` per output item
 * that is not a reasoning item. `order` is the item's position among the turn's blobs, so reasoning
 * items and the items that follow them go back interleaved exactly as the response produced them.
 */
export const REASONING_KIND = "openai.reasoning";
export const RESPONSE_KIND = "openai.response";
export const OUTPUT_ITEM_KIND = "openai.output_item";

const checkOutputItem: DataCheck = (d) => {
  if (typeof d !== "object" || d === null || Array.isArray(d)) return "data must be an object";
  if (d.type !== "message" && d.type !== "function_call") return 'data.type must be "message" or "function_call"';
  if (typeof d.id !== "string" || d.id === "") return "data.id must be a string";
  if (d.type === "function_call" && typeof d.call_id !== "string") return "data.call_id must be a string";
  for (const k of ["phase", "status"] as const) if (d[k] !== undefined && typeof d[k] !== "string") return `data.${k} must be a string`;
  return undefined;
};
const KINDS = { [REASONING_KIND]: hasStrings("id", "encrypted_content"), [RESPONSE_KIND]: hasStrings("id"), [OUTPUT_ITEM_KIND]: checkOutputItem };

const summaryOf = (data: JsonValue): { type: "summary_text"; text: string }[] => {
  const s = (data as JsonObject).summary;
  if (!Array.isArray(s)) return [];
  return s.flatMap((x) => (typeof x === "object" && x !== null && !Array.isArray(x) && typeof x.text === "string" ? [{ type: "summary_text" as const, text: x.text }] : []));
};

/**
 * An assistant turn's input items. Reasoning items go back verbatim; each output item blob gives
 * the message / function call at its position its id (and phase), so every reasoning item is
 * followed by the item the API requires after it. Text and calls no blob names (a log from before
 * output-item blobs) follow as before: the message, then the calls, without ids.
 */
const assistantItems = (w: WarningSink, e: AssistantEntry, blobs: readonly HiddenBlob[]): { items: ResponsesInputItem[]; reasoning: number } => {
  const calls = e.content.toolCalls ?? [];
  const used = new Set<number>();
  let messageSent = false;
  const items: ResponsesInputItem[] = [];
  let reasoning = 0;
  for (const b of blobs) {
    const d = b.data as JsonObject;
    if (b.kind === REASONING_KIND) {
      items.push({ type: "reasoning", id: d.id as string, summary: summaryOf(d), encrypted_content: d.encrypted_content as string });
      reasoning++;
    } else if (b.kind === OUTPUT_ITEM_KIND && d.type === "message") {
      // The turn's text goes with its first message item; a later one (the text was joined) goes back empty.
      const text = messageSent ? "" : e.content.text;
      messageSent = true;
      items.push({
        type: "message",
        role: "assistant",
        id: d.id as string,
        status: ((d.status as string | undefined) ?? "completed") as ItemStatus,
        content: [{ type: "output_text", text, annotations: [] }],
        ...(typeof d.phase === "string" ? { phase: d.phase as Phase } : {}),
      });
    } else if (b.kind === OUTPUT_ITEM_KIND && d.type === "function_call") {
      const i = calls.findIndex((tc, j) => !used.has(j) && tc.id === d.call_id);
      if (i < 0) {
        w.push({ code: "hidden-dropped", entryId: e.id, blobKind: b.kind, blobProvider: b.provider, blobModel: b.model, reason: "bad-data", message: `output item ${String(d.id)} names call ${String(d.call_id)}, which entry ${e.id} does not make` });
        continue;
      }
      used.add(i);
      const tc = calls[i]!;
      items.push({ type: "function_call", call_id: tc.id, name: tc.name, arguments: toolCallArgumentsText(tc), id: d.id as string, ...(typeof d.status === "string" ? { status: d.status as ItemStatus } : {}) });
    }
  }
  if (!messageSent && (e.content.text !== "" || calls.length === 0)) items.push({ type: "message", role: "assistant", content: e.content.text });
  calls.forEach((tc, i) => {
    if (!used.has(i)) items.push({ type: "function_call", call_id: tc.id, name: tc.name, arguments: toolCallArgumentsText(tc) });
  });
  const unpaired = items.some((it, i) => {
    if (it.type !== "reasoning") return false;
    const after = items[i + 1];
    return !after || (after.type !== "message" && after.type !== "function_call") || !("id" in after) || after.id === undefined;
  });
  if (unpaired)
    w.push({
      code: "reasoning-item-unpaired",
      entryId: e.id,
      message: `entry ${e.id}: a reasoning item is not followed by a message or function call with its id (no ${OUTPUT_ITEM_KIND} blobs); the API may refuse it ("Item 'rs_…' of type 'reasoning' was provided without its required following item")`,
    });
  return { items, reasoning };
};

const itemGroup = (env: RenderEnv, w: WarningSink, i: PlanItem): ListGroup => {
  const one = (role: string, items: ResponsesInputItem[], reasoning?: boolean, hidden = 0): ListGroup => ({
    draft: { kind: "entry", entryIds: i.kind === "missing" ? [] : [i.entry.id], role, ...(reasoning !== undefined ? { reasoning } : {}), ...(hidden ? { hidden } : {}) },
    items: items as unknown as JsonValue[],
  });
  const blobs = i.kind === "missing" ? [] : takeBlobs(env.blobs, w, i.entry, KINDS);
  switch (i.kind) {
    case "user":
      return one("user", [{ type: "message", role: "user", content: i.entry.content.text }]);
    case "assistant": {
      const e = i.entry;
      const { items, reasoning } = assistantItems(w, e, blobs);
      if (reasoning === 0 && e.content.reasoning !== undefined) w.merged("reasoning-omitted", e.id, "visible reasoning has no encrypted reasoning item to go back as; left out");
      return one("assistant", items, reasoning > 0, blobs.filter((b) => b.kind !== RESPONSE_KIND).length);
    }
    case "result":
      return one("tool", [{ type: "function_call_output", call_id: i.call.call.id, output: i.entry.content.text }]);
    case "missing":
      return one("tool", [{ type: "function_call_output", call_id: i.call.call.id, output: MISSING_RESULT_TEXT }]);
    case "orphan":
      return one("user", [{ type: "message", role: "user", content: orphanResultText(w, i.entry) }]);
    case "config":
      return one("system", [{ type: "message", role: "system", content: configText(i.entry.content) }]);
    case "summary":
      return one("user", [{ type: "message", role: "user", content: summaryText(i.entry.content) }]);
  }
};

const RESERVED = ["model", "input", "tools", "instructions", "previous_response_id", "include", "store"];

export const openaiResponses: JsonRenderer<undefined> = {
  id: "openai-responses",
  version: RENDERER_VERSION,
  form: "json",
  init: () => undefined,
  fork: () => undefined,
  server(env, entries, warnings) {
    if (env.ctx.options.responsesMode !== "previous_response_id") return undefined;
    // The last assistant turn whose response id may be chained on (same provider and model family).
    const quiet = createWarningSink();
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (e.kind !== "assistant") continue;
      const r = takeBlobs(env.blobs, quiet, e, KINDS).find((b) => b.kind === RESPONSE_KIND);
      if (r) return { planFrom: i, heldThrough: i, server: { previousResponseId: (r.data as JsonObject).id as string, upTo: e.id } };
    }
    warnings.push({ code: "previous-response-missing", message: "no earlier response id for this provider and model family; sent the full stateless input instead" });
    return undefined;
  },
  opening(env, _w, server) {
    const base = requestParams(env.ctx, RESERVED);
    // In previous_response_id mode the response is stored (store: true) even when nothing is chained yet,
    // or the next turn would have no id to chain on. Encrypted reasoning is asked for in both modes:
    // C/hidden must hold what a replay from scratch sends once a stored response is gone (PROVIDERS.md §2).
    const chainMode = env.ctx.options.responsesMode === "previous_response_id";
    const params: JsonObject =
      server?.previousResponseId !== undefined
        ? { ...base, model: env.ctx.model, store: true, previous_response_id: server.previousResponseId, include: ["reasoning.encrypted_content"] }
        : { ...base, model: env.ctx.model, store: chainMode, include: ["reasoning.encrypted_content"] };
    if (env.conversation !== undefined) params.prompt_cache_key = promptCacheKey(env.conversation, env.branch);
    const tools: ResponsesTool[] = env.ctx.tools.map((t) => ({
      type: "function",
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      parameters: t.parameters ?? null,
      strict: false,
    }));
    const head: HeadPart[] = [];
    if (tools.length > 0) head.push({ kind: "tools", key: "tools", value: tools as unknown as JsonValue });
    // `instructions` are not carried over by previous_response_id: always sent.
    if (env.ctx.system !== undefined) head.push({ kind: "system", key: "instructions", value: env.ctx.system });
    return { params, head, listKey: "input", staticGroups: [] };
  },
  span: (c, items) => items.map((i) => itemGroup(c.env, c.warnings, i)),
};

import { sha256Hex, toolCallArgumentsText, type AssistantEntry, type JsonObject, type JsonValue } from "@ctxsync/core";
import { hasStrings, takeBlobs } from "../hidden.js";
import { MISSING_RESULT_TEXT, type CallRef, type PlanItem } from "../plan.js";
import { argumentsObject, configText, nonEmpty, orphanResultText, renderRuns, requestParams, summaryText, type HeadPart, type JsonRenderer, type ListGroup, type RenderEnv } from "../render.js";
import type { WarningSink } from "../warnings.js";

export const RENDERER_VERSION = "anthropic/2";

export interface CacheControl {
  type: "ephemeral";
  ttl?: "5m" | "1h";
}
export type AnthropicBlock =
  | { type: "text"; text: string; cache_control?: CacheControl }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "redacted_thinking"; data: string }
  | { type: "tool_use"; id: string; name: string; input: JsonObject; cache_control?: CacheControl }
  | { type: "tool_result"; tool_use_id: string; content: string; is_error?: boolean; cache_control?: CacheControl };
export interface AnthropicMessage {
  role: "user" | "assistant";
  content: AnthropicBlock[];
}
export interface AnthropicTool {
  name: string;
  description?: string;
  input_schema: { type: "object"; [k: string]: unknown };
  cache_control?: CacheControl;
}
export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: { type: "text"; text: string; cache_control?: CacheControl }[];
  tools?: AnthropicTool[];
}

/** Blob kinds: `{thinking, signature}` and `{data}`, returned byte-exact and in their original order. */
export const THINKING_KIND = "anthropic.thinking";
export const REDACTED_KIND = "anthropic.redacted_thinking";
const KINDS = { [THINKING_KIND]: hasStrings("thinking", "signature"), [REDACTED_KIND]: hasStrings("data") };

/** Used when a request sets no max_tokens (the API requires one). */
export const DEFAULT_MAX_TOKENS = 4096;

/** `tool_use` ids must match this (the API's documented pattern). */
export const TOOL_USE_ID = /^[a-zA-Z0-9_-]+$/;

/** Whether the request turns extended thinking on (`thinking: {type: "enabled" | "adaptive"}` in params). */
export const thinkingEnabled = (env: RenderEnv): boolean => {
  const t = env.ctx.options.params?.thinking;
  return typeof t === "object" && t !== null && !Array.isArray(t) && (t.type === "enabled" || t.type === "adaptive");
};

/** The tool_use ids already sent in this request: the memoized part's set, and a layer on top for the tail. */
export interface UsedIds {
  has(id: string): boolean;
  add(id: string): void;
}
const layered = (base: UsedIds): UsedIds => {
  const local = new Set<string>();
  return { has: (id) => local.has(id) || base.has(id), add: (id) => void local.add(id) };
};

/**
 * A call id the API accepts, unique in the request: ids in another provider's format are made to
 * match `^[a-zA-Z0-9_-]+$` (other characters become `_`, plus 8 hex of the id's SHA-256 so two
 * ids never map to one), and an id used before in the request (agents reuse call ids) gets `_2`,
 * `_3`… A function of the ids before it only, so a rendered turn never changes.
 */
const mapCallId = (used: UsedIds, w: WarningSink, ref: CallRef): string => {
  const original = ref.call.id;
  const base = TOOL_USE_ID.test(original) ? original : `${original.replace(/[^a-zA-Z0-9_-]/g, "_")}_${sha256Hex(original).slice(0, 8)}`;
  let id = base;
  for (let k = 2; used.has(id); k++) id = `${base}_${k}`;
  used.add(id);
  if (id !== original)
    w.push({
      code: "tool-call-id-mapped",
      entryId: ref.assistant.id,
      callId: original,
      mappedId: id,
      reason: base !== original ? "pattern" : "duplicate",
      message: `tool call id ${JSON.stringify(original)} of ${ref.assistant.id} ${base !== original ? "does not match ^[a-zA-Z0-9_-]+$" : "is used earlier in this request"}; sent as ${id}`,
    });
  return id;
};

/** How one call goes out: under an id, or (a tool loop closed as text) as text. */
type CallForm = { readonly id: string } | { readonly text: true };
const callKey = (ref: CallRef) => `${ref.assistant.id}\u0000${ref.index}`;

const toolCallText = (tc: { id: string; name: string }, args: string) => `<tool_call id=${JSON.stringify(tc.id)} name=${JSON.stringify(tc.name)}>${args}</tool_call>`;
const toolResultText = (id: string, text: string, error: boolean | undefined) => `<tool_result id=${JSON.stringify(id)}${error ? ' error="true"' : ""}>${text}</tool_result>`;

interface SpanState {
  readonly used: UsedIds;
  readonly calls: Map<string, CallForm>;
  readonly thinking: boolean;
}

const assistantBlocks = (env: RenderEnv, s: SpanState, w: WarningSink, e: AssistantEntry, final: boolean): { parts: AnthropicBlock[]; hidden: number } => {
  const blobs = takeBlobs(env.blobs, w, e, KINDS);
  // Thinking blocks first, exactly as received: a modified or reordered block is a 400.
  let blocks: AnthropicBlock[] = blobs.map((b) => {
    const d = b.data as JsonObject;
    return b.kind === THINKING_KIND ? { type: "thinking", thinking: d.thinking as string, signature: d.signature as string } : { type: "redacted_thinking", data: d.data as string };
  });
  if (blocks.length > 0 && final && !s.thinking) {
    w.push({ code: "thinking-dropped", entryId: e.id, message: `thinking is off: the final assistant message (${e.id}) may not carry its thinking blocks; left out` });
    blocks = [];
  }
  if (blocks.length === 0 && e.content.reasoning !== undefined)
    w.merged("reasoning-omitted", e.id, "visible reasoning without a thinking signature cannot go back to Anthropic; left out");
  const thinking = blocks.length;
  // A final assistant message may not end in whitespace; trimmed in every turn so the prefix holds.
  const text = e.content.text.replace(/\s+$/, "");
  if (text !== e.content.text) w.merged("trailing-whitespace-trimmed", e.id, "Anthropic refuses a final assistant message ending in whitespace; trailing whitespace of assistant text is left out in every turn");
  const calls = e.content.toolCalls ?? [];
  if (s.thinking && thinking === 0 && calls.length > 0) {
    // With thinking on, a tool loop's last assistant message must start with a thinking block; a
    // turn that has none (another provider's, or thinking was off) is closed as plain text.
    w.merged("tool-loop-as-text", e.id, "thinking is on and these tool-call turns have no thinking block (another provider's, or thinking was off): their calls and results are sent as text");
    calls.forEach((_, index) => s.calls.set(callKey({ assistant: e, index, call: calls[index]! }), { text: true }));
    const body = [text, ...calls.map((tc) => toolCallText(tc, toolCallArgumentsText(tc)))].filter((t) => t !== "").join("\n\n");
    return { parts: [{ type: "text", text: body }], hidden: 0 };
  }
  if (text !== "") blocks.push({ type: "text", text });
  calls.forEach((tc, index) => {
    const ref = { assistant: e, index, call: tc };
    const id = mapCallId(s.used, w, ref);
    s.calls.set(callKey(ref), { id });
    blocks.push({ type: "tool_use", id, name: tc.name, input: argumentsObject(tc, e.id, w) });
  });
  if (blocks.length === thinking) blocks.push({ type: "text", text: nonEmpty(w, e.id, e.content.text, true) });
  return { parts: blocks, hidden: thinking };
};

const itemBlocks = (env: RenderEnv, s: SpanState, w: WarningSink, i: PlanItem, final: boolean): { parts: AnthropicBlock[]; hidden: number } => {
  if (i.kind !== "missing" && i.kind !== "assistant") takeBlobs(env.blobs, w, i.entry, {});
  const text = (t: string): { parts: AnthropicBlock[]; hidden: number } => ({ parts: [{ type: "text", text: t }], hidden: 0 });
  switch (i.kind) {
    case "assistant":
      return assistantBlocks(env, s, w, i.entry, final);
    case "user":
      return text(nonEmpty(w, i.entry.id, i.entry.content.text, true));
    case "config":
      return text(configText(i.entry.content));
    case "summary":
      return text(summaryText(i.entry.content));
    case "orphan":
      return text(orphanResultText(w, i.entry));
    case "result":
    case "missing": {
      const form = s.calls.get(callKey(i.call)) ?? { text: true as const };
      const isError = i.kind === "missing" || i.entry.content.isError === true;
      const content = i.kind === "missing" ? MISSING_RESULT_TEXT : i.entry.content.text;
      if ("text" in form) return text(toolResultText(i.call.call.id, content, isError));
      // `is_error` results may not be empty.
      const c = isError && i.kind === "result" ? nonEmpty(w, i.entry.id, content, true) : content;
      return { parts: [{ type: "tool_result", tool_use_id: form.id, content: c, ...(isError ? { is_error: true } : {}) }], hidden: 0 };
    }
  }
};

const withCache = <T extends object>(block: T, cc: CacheControl): T => ({ ...block, cache_control: cc });
const cacheControl = (env: RenderEnv): CacheControl => (env.ctx.options.cacheTtl === "1h" ? { type: "ephemeral", ttl: "1h" } : { type: "ephemeral" });

/** The message with a breakpoint on its last block that may carry one (thinking blocks may not). */
const markLast = (msg: AnthropicMessage, cc: CacheControl): AnthropicMessage => {
  for (let i = msg.content.length - 1; i >= 0; i--) {
    const b = msg.content[i]!;
    if (b.type === "thinking" || b.type === "redacted_thinking") continue;
    const content = [...msg.content];
    content[i] = withCache(b, cc);
    return { ...msg, content };
  }
  return msg;
};

/**
 * Tools → system → messages, consecutive user-side items merged into one message (tool results
 * first: the plan puts them right after their call). Up to three `cache_control` breakpoints,
 * each where the prefix is stable: the end of the static part (last system block, else last
 * tool), the end of the previous turn (the message before the newest assistant message: where the
 * previous request ended, so its cache write is read back exactly), and the newest point (the last
 * message). The fourth slot is left free for the caller.
 */
export const anthropic: JsonRenderer<UsedIds> = {
  id: "anthropic",
  version: RENDERER_VERSION,
  form: "json",
  init: () => new Set<string>(),
  fork: layered,
  opening(env) {
    const params = requestParams(env.ctx, ["model", "messages", "tools", "system"]);
    const tools: AnthropicTool[] = env.ctx.tools.map((t) => ({
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      input_schema: { type: "object", ...(t.parameters ?? {}) },
    }));
    // An empty system prompt is no system prompt (the API refuses empty text blocks).
    const system = env.ctx.system ? [{ type: "text" as const, text: env.ctx.system }] : undefined;
    const cc = cacheControl(env);
    const headOf = (withMarks: boolean): HeadPart[] => {
      const head: HeadPart[] = [];
      if (tools.length > 0) {
        const ts = withMarks && !system ? tools.map((t, i) => (i === tools.length - 1 ? withCache(t, cc) : t)) : tools;
        head.push({ kind: "tools", key: "tools", value: ts as unknown as JsonValue });
      }
      if (system) head.push({ kind: "system", key: "system", value: (withMarks ? [withCache(system[0]!, cc)] : system) as unknown as JsonValue });
      return head;
    };
    return {
      params: { max_tokens: DEFAULT_MAX_TOKENS, ...params, model: env.ctx.model },
      head: headOf(false),
      listKey: "messages",
      staticGroups: [],
      marked: { head: headOf(true), staticGroups: [] },
      staticBreakpoint: true,
    };
  },
  span(c, items) {
    const s: SpanState = { used: c.state, calls: new Map(), thinking: thinkingEnabled(c.env) };
    const lastAt = items.length - 1;
    let k = 0;
    return renderRuns(items, (i) => itemBlocks(c.env, s, c.warnings, i, c.last && k++ === lastAt)).map((run): ListGroup => {
      const role = run.assistant ? "assistant" : "user";
      return {
        draft: {
          kind: "entry",
          entryIds: run.items.flatMap((i) => (i.kind === "missing" ? [] : [i.entry.id])),
          role,
          ...(run.assistant ? { reasoning: run.hidden > 0 } : {}),
          ...(run.hidden ? { hidden: run.hidden } : {}),
        },
        items: [{ role, content: [...run.parts] } as unknown as JsonValue],
      };
    });
  },
  mark(env) {
    const cc = cacheControl(env);
    return (item) => markLast(item as unknown as AnthropicMessage, cc) as unknown as JsonValue;
  },
};


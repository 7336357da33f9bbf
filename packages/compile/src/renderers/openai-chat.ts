import { sha256Hex, toolCallArgumentsText, type JsonObject, type JsonValue } from "@ctxsync/core";
import { takeBlobs } from "../hidden.js";
import { MISSING_RESULT_TEXT, type PlanItem } from "../plan.js";
import { configText, orphanResultText, requestParams, summaryText, type HeadPart, type JsonOpening, type JsonRenderer, type ListGroup, type RenderEnv, type SpanContext } from "../render.js";
import type { WarningSink } from "../warnings.js";

export const RENDERER_VERSION = "openai-chat/2";

export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}
/** A text content part; `prompt_cache_breakpoint` marks the end of a reusable prefix (gpt-5.6+). */
export interface ChatTextPart {
  type: "text";
  text: string;
  prompt_cache_breakpoint?: { mode: "explicit" };
}
export type ChatMessage =
  | { role: "system"; content: string | ChatTextPart[] }
  | { role: "user"; content: string | ChatTextPart[] }
  | { role: "assistant"; content: string | ChatTextPart[] | null; tool_calls?: ChatToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string | ChatTextPart[] };
export interface ChatTool {
  type: "function";
  function: { name: string; description?: string; parameters?: JsonObject };
}
/** An OpenAI Chat Completions request (request params from the render context are merged in as given). */
export interface OpenAIChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ChatTool[];
  prompt_cache_key?: string;
}

/**
 * `prompt_cache_key` from conversation and branch: requests of one branch route to the same
 * cache machines. Short and opaque (the ids never leave as plain text).
 */
export const promptCacheKey = (conversation: string, branch = "main"): string =>
  `ctxsync-${sha256Hex(`${conversation}\u0000${branch}`).slice(0, 32)}`;

export const chatTools = (env: RenderEnv): ChatTool[] =>
  env.ctx.tools.map((t) => ({
    type: "function",
    function: {
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      ...(t.parameters !== undefined ? { parameters: t.parameters } : {}),
    },
  }));

/** How assistant reasoning travels in an OpenAI-compatible chat API. */
export type ChatReasoning = "omit" | "reasoning_content";

/** Message content as a plain string, or as text parts (which can carry explicit cache breakpoints). */
export type ChatContentForm = "string" | "parts";

export interface ChatStyle {
  readonly reasoning: ChatReasoning;
  /** Why reasoning is left out (the `reasoning-omitted` warning). */
  readonly omitWhy: string;
  readonly form: ChatContentForm;
}

const contentOf = (form: ChatContentForm, text: string): JsonValue => (form === "parts" ? [{ type: "text", text }] : text);

/** The system message, as the static start of the message list. */
export const chatSystemGroups = (env: RenderEnv, form: ChatContentForm): ListGroup[] =>
  env.ctx.system !== undefined ? [{ draft: { kind: "system", role: "system" }, items: [{ role: "system", content: contentOf(form, env.ctx.system) }] }] : [];

/** One message per plan item. Shared with the DeepSeek renderer. */
export const chatGroups = (c: SpanContext<unknown>, items: readonly PlanItem[], style: ChatStyle): ListGroup[] =>
  items.map((i) => {
    // Chat Completions has no field for any provider blob: each one is reported and left out.
    if (i.kind !== "missing") takeBlobs(c.env.blobs, c.warnings, i.entry, {});
    return chatGroup(c.warnings, i, style);
  });

const chatGroup = (w: WarningSink, i: PlanItem, style: ChatStyle): ListGroup => {
  const content = (text: string) => contentOf(style.form, text);
  const one = (role: string, msg: JsonObject, withReasoning?: boolean): ListGroup => ({
    draft: { kind: "entry", entryIds: i.kind === "missing" ? [] : [i.entry.id], role, ...(withReasoning !== undefined ? { reasoning: withReasoning } : {}) },
    items: [msg],
  });
  switch (i.kind) {
    case "user":
      return one("user", { role: "user", content: content(i.entry.content.text) });
    case "assistant": {
      const e = i.entry;
      const calls = e.content.toolCalls;
      // An empty text part is refused; a tool-call turn without text has no content.
      const text = style.form === "parts" && e.content.text === "" && calls && calls.length > 0 ? null : content(e.content.text);
      const msg: JsonObject = { role: "assistant", content: text };
      if (calls && calls.length > 0)
        msg.tool_calls = calls.map((tc) => ({ id: tc.id, type: "function", function: { name: tc.name, arguments: toolCallArgumentsText(tc) } }));
      const r = e.content.reasoning;
      if (r !== undefined && style.reasoning === "reasoning_content") msg.reasoning_content = r;
      else if (r !== undefined) w.merged("reasoning-omitted", e.id, style.omitWhy);
      return one("assistant", msg, r !== undefined && style.reasoning === "reasoning_content");
    }
    case "result":
      return one("tool", { role: "tool", tool_call_id: i.call.call.id, content: content(i.entry.content.text) });
    case "missing":
      return one("tool", { role: "tool", tool_call_id: i.call.call.id, content: content(MISSING_RESULT_TEXT) });
    case "orphan":
      return one("user", { role: "user", content: content(orphanResultText(w, i.entry)) });
    case "config":
      return one("system", { role: "system", content: content(configText(i.entry.content)) });
    case "summary":
      return one("user", { role: "user", content: content(summaryText(i.entry.content)) });
  }
};

/** The static part shared by OpenAI-compatible chat renderers: params, tools, the system message. */
export const chatOpening = (env: RenderEnv, extraParams: JsonObject, form: ChatContentForm): JsonOpening => {
  const tools = chatTools(env);
  const head: HeadPart[] = tools.length > 0 ? [{ kind: "tools", key: "tools", value: tools as unknown as JsonValue }] : [];
  const params = { ...requestParams(env.ctx, ["model", "messages", "tools", "prompt_cache_key"]), ...extraParams, model: env.ctx.model };
  return { params, head, listKey: "messages", staticGroups: chatSystemGroups(env, form) };
};

/** The message with an explicit breakpoint on its last text part (string content cannot carry one). */
const markLastPart = (msg: JsonValue): JsonValue => {
  const m = msg as JsonObject;
  const parts = m.content;
  if (!Array.isArray(parts) || parts.length === 0) return msg;
  return { ...m, content: [...parts.slice(0, -1), { ...(parts[parts.length - 1] as JsonObject), prompt_cache_breakpoint: { mode: "explicit" } }] };
};

const stateless = { init: () => undefined, fork: () => undefined };

/**
 * Chat Completions. With `options.explicitBreakpoints` (gpt-5.6+) every content is a text-part
 * list and `prompt_cache_breakpoint` marks the end of the system message, the end of the previous
 * turn and the newest point — the same places as Anthropic's breakpoints, under the same rule:
 * the manifest indexes the request without the markers.
 */
export const openaiChat: JsonRenderer<undefined> = {
  id: "openai-chat",
  version: RENDERER_VERSION,
  form: "json",
  ...stateless,
  opening(env) {
    const key: JsonObject = env.conversation !== undefined ? { prompt_cache_key: promptCacheKey(env.conversation, env.branch) } : {};
    const explicit = env.ctx.options.explicitBreakpoints === true;
    const o = chatOpening(env, key, explicit ? "parts" : "string");
    if (!explicit) return o;
    return { ...o, marked: { head: o.head, staticGroups: o.staticGroups.map((g) => ({ ...g, items: g.items.map(markLastPart) })) }, staticBreakpoint: o.staticGroups.length > 0 };
  },
  span: (c, items) =>
    chatGroups(c, items, {
      reasoning: "omit",
      omitWhy: "Chat Completions takes no reasoning back; visible reasoning is left out of every turn",
      form: c.env.ctx.options.explicitBreakpoints ? "parts" : "string",
    }),
  mark: (env) => (env.ctx.options.explicitBreakpoints ? markLastPart : undefined),
};

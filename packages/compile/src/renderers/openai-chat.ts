import { sha256Hex, toolCallArgumentsText, type Entry, type EntryId, type JsonObject, type JsonValue } from "@ctxsync/core";
import { takeBlobs } from "../hidden.js";
import { breakpointMessages, renderLayout, renderMarked, type HeadPart, type JsonLayout, type ListGroup } from "../json-layout.js";
import { configText, orphanResultText, requestParams, summaryText, toolNames, type RenderEnv, type Renderer } from "../render.js";

export const RENDERER_VERSION = "openai-chat/1";

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

/** One message per entry, system first. Shared with the DeepSeek renderer. */
export const chatGroups = (env: RenderEnv, reasoning: ChatReasoning, omitWhy: string, form: ChatContentForm = "string"): ListGroup[] => {
  const content = (text: string): JsonValue => (form === "parts" ? [{ type: "text", text }] : text);
  const names = toolNames(env.entries);
  const groups: ListGroup[] = [];
  if (env.ctx.system !== undefined)
    groups.push({ draft: { kind: "system", role: "system" }, items: [{ role: "system", content: content(env.ctx.system) }] });
  for (const e of env.entries) {
    // Chat Completions has no field for any provider blob: each one is reported and left out.
    takeBlobs(env.blobs, e, {});
    groups.push(chatGroup(env, e, reasoning, omitWhy, content, names));
  }
  return groups;
};

const chatGroup = (env: RenderEnv, e: Entry, reasoning: ChatReasoning, omitWhy: string, content: (text: string) => JsonValue, names: Map<EntryId, string>): ListGroup => {
  const one = (role: string, msg: JsonObject, withReasoning?: boolean): ListGroup => ({
    draft: { kind: "entry", entryIds: [e.id], role, ...(withReasoning !== undefined ? { reasoning: withReasoning } : {}) },
    items: [msg],
  });
  switch (e.kind) {
    case "user":
      return one("user", { role: "user", content: content(e.content.text) });
    case "assistant": {
      const calls = e.content.toolCalls;
      // An empty text part is refused; a tool-call turn without text has no content.
      const text = typeof content("") !== "string" && e.content.text === "" && calls && calls.length > 0 ? null : content(e.content.text);
      const msg: JsonObject = { role: "assistant", content: text };
      if (calls && calls.length > 0)
        msg.tool_calls = calls.map((tc) => ({ id: tc.id, type: "function", function: { name: tc.name, arguments: toolCallArgumentsText(tc) } }));
      const r = e.content.reasoning;
      if (r !== undefined && reasoning === "reasoning_content") msg.reasoning_content = r;
      else if (r !== undefined) env.warnings.reasoning("reasoning-omitted", e.id, omitWhy);
      return one("assistant", msg, r !== undefined && reasoning === "reasoning_content");
    }
    case "tool_result":
      if (!names.has(e.id)) return one("user", { role: "user", content: content(orphanResultText(env, e)) });
      return one("tool", { role: "tool", tool_call_id: e.content.callId, content: content(e.content.text) });
    case "config":
      return one("system", { role: "system", content: content(configText(e.content)) });
    case "summary":
      return one("user", { role: "user", content: content(summaryText(e.content)) });
  }
};

/** The layout shared by OpenAI-compatible chat renderers. */
export const chatLayout = (env: RenderEnv, extraParams: JsonObject, groups: ListGroup[]): JsonLayout => {
  const tools = chatTools(env);
  const head: HeadPart[] = tools.length > 0 ? [{ kind: "tools", key: "tools", value: tools as unknown as JsonValue }] : [];
  const params = { ...requestParams(env.ctx, ["model", "messages", "tools", "prompt_cache_key"]), ...extraParams, model: env.ctx.model };
  return { params, head, listKey: "messages", list: groups };
};

/** The message with an explicit breakpoint on its last text part (string content cannot carry one). */
const markLastPart = (msg: JsonValue): JsonValue => {
  const m = msg as JsonObject;
  const parts = m.content;
  if (!Array.isArray(parts) || parts.length === 0) return msg;
  return { ...m, content: [...parts.slice(0, -1), { ...(parts[parts.length - 1] as JsonObject), prompt_cache_breakpoint: { mode: "explicit" } }] };
};

/**
 * Chat Completions. With `options.explicitBreakpoints` (gpt-5.6+) every content is a text-part
 * list and `prompt_cache_breakpoint` marks the end of the system message, the end of the previous
 * turn and the newest point — the same places as Anthropic's breakpoints, under the same rule:
 * the manifest indexes the request without the markers.
 */
export const openaiChat: Renderer<OpenAIChatRequest> = {
  id: "openai-chat",
  version: RENDERER_VERSION,
  render(env) {
    const key: JsonObject = env.conversation !== undefined ? { prompt_cache_key: promptCacheKey(env.conversation, env.branch) } : {};
    const why = "Chat Completions takes no reasoning back; visible reasoning is left out of every turn";
    if (!env.ctx.options.explicitBreakpoints) return renderLayout<OpenAIChatRequest>(chatLayout(env, key, chatGroups(env, "omit", why)));
    const groups = chatGroups(env, "omit", why, "parts");
    const entryGroups = groups.filter((g) => g.draft.kind === "entry");
    const marked = breakpointMessages(entryGroups.map((g) => g.draft.role === "assistant"));
    const layoutOf = (withMarks: boolean): JsonLayout => {
      let entry = -1;
      const list = groups.map((g) => {
        if (g.draft.kind === "entry") entry++;
        const mark = withMarks && (g.draft.kind === "system" || marked.has(entry));
        return mark ? { ...g, items: g.items.map(markLastPart) } : g;
      });
      return chatLayout(env, key, list);
    };
    return renderMarked<OpenAIChatRequest>(layoutOf, env.ctx.system !== undefined, marked);
  },
};

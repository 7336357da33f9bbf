import { sha256Hex, toolCallArgumentsText, type Entry, type JsonObject, type JsonValue } from "@ctxsync/core";
import { takeBlobs } from "../hidden.js";
import { layoutObject, writeLayout, type HeadPart, type JsonLayout, type ListGroup } from "../json-layout.js";
import { configText, requestParams, summaryText, type RenderEnv, type Rendered, type Renderer } from "../render.js";

export const RENDERER_VERSION = "openai-chat/1";

export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}
export type ChatMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; tool_calls?: ChatToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };
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

/** One message per entry, system first. Shared with the DeepSeek renderer. */
export const chatGroups = (env: RenderEnv, reasoning: ChatReasoning, omitWhy: string): ListGroup[] => {
  const groups: ListGroup[] = [];
  if (env.ctx.system !== undefined)
    groups.push({ draft: { kind: "system", role: "system" }, items: [{ role: "system", content: env.ctx.system }] });
  for (const e of env.entries) {
    // Chat Completions has no field for any provider blob: each one is reported and left out.
    takeBlobs(env.blobs, e.id, {});
    groups.push(chatGroup(env, e, reasoning, omitWhy));
  }
  return groups;
};

const chatGroup = (env: RenderEnv, e: Entry, reasoning: ChatReasoning, omitWhy: string): ListGroup => {
  const one = (role: string, msg: JsonObject, withReasoning?: boolean): ListGroup => ({
    draft: { kind: "entry", entryIds: [e.id], role, ...(withReasoning !== undefined ? { reasoning: withReasoning } : {}) },
    items: [msg],
  });
  switch (e.kind) {
    case "user":
      return one("user", { role: "user", content: e.content.text });
    case "assistant": {
      const msg: JsonObject = { role: "assistant", content: e.content.text };
      const calls = e.content.toolCalls;
      if (calls && calls.length > 0)
        msg.tool_calls = calls.map((tc) => ({ id: tc.id, type: "function", function: { name: tc.name, arguments: toolCallArgumentsText(tc) } }));
      const r = e.content.reasoning;
      if (r !== undefined && reasoning === "reasoning_content") msg.reasoning_content = r;
      else if (r !== undefined) env.warnings.reasoning("reasoning-omitted", e.id, omitWhy);
      return one("assistant", msg, r !== undefined && reasoning === "reasoning_content");
    }
    case "tool_result":
      return one("tool", { role: "tool", tool_call_id: e.content.callId, content: e.content.text });
    case "config":
      return one("system", { role: "system", content: configText(e.content) });
    case "summary":
      return one("user", { role: "user", content: summaryText(e.content) });
  }
};

/** The layout shared by OpenAI-compatible chat renderers. */
export const chatLayout = (env: RenderEnv, extraParams: JsonObject, groups: ListGroup[]): JsonLayout => {
  const tools = chatTools(env);
  const head: HeadPart[] = tools.length > 0 ? [{ kind: "tools", key: "tools", value: tools as unknown as JsonValue }] : [];
  const params = { ...requestParams(env.ctx, ["model", "messages", "tools", "prompt_cache_key"]), ...extraParams, model: env.ctx.model };
  return { params, head, listKey: "messages", list: groups };
};

export const renderLayout = <R>(layout: JsonLayout): Rendered<R> => {
  const { writer, stableEnd } = writeLayout(layout);
  const body = writer.text();
  return { request: layoutObject(layout) as unknown as R, body, prefix: body, segments: writer.segments, bytes: writer.bytes(), stableEnd };
};

export const openaiChat: Renderer<OpenAIChatRequest> = {
  id: "openai-chat",
  version: RENDERER_VERSION,
  render(env) {
    const key: JsonObject = env.conversation !== undefined ? { prompt_cache_key: promptCacheKey(env.conversation, env.branch) } : {};
    const groups = chatGroups(env, "omit", "Chat Completions takes no reasoning back; visible reasoning is left out of every turn");
    return renderLayout<OpenAIChatRequest>(chatLayout(env, key, groups));
  },
};

import type { Entry, EntryId, JsonObject, JsonValue } from "@ctxsync/core";
import { hasStrings, takeBlobs } from "../hidden.js";
import { breakpointMessages, renderMarked, type HeadPart, type JsonLayout, type ListGroup } from "../json-layout.js";
import { argumentsObject, configText, nonEmpty, orphanResultText, renderRuns, requestParams, summaryText, toolNames, type RenderEnv, type Renderer } from "../render.js";

export const RENDERER_VERSION = "anthropic/1";

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

const entryBlocks = (env: RenderEnv, e: Entry, names: Map<EntryId, string>): { parts: AnthropicBlock[]; hidden: number } => {
  const blobs = takeBlobs(env.blobs, e, KINDS);
  switch (e.kind) {
    case "user":
      return { parts: [{ type: "text", text: nonEmpty(env, e.id, e.content.text) }], hidden: 0 };
    case "tool_result": {
      const { callId, text, isError } = e.content;
      if (!names.has(e.id)) return { parts: [{ type: "text", text: orphanResultText(env, e) }], hidden: 0 };
      return { parts: [{ type: "tool_result", tool_use_id: callId, content: text, ...(isError ? { is_error: true } : {}) }], hidden: 0 };
    }
    case "config":
      return { parts: [{ type: "text", text: configText(e.content) }], hidden: 0 };
    case "summary":
      return { parts: [{ type: "text", text: summaryText(e.content) }], hidden: 0 };
    case "assistant": {
      // Thinking blocks first, exactly as received: a modified or reordered block is a 400.
      const blocks: AnthropicBlock[] = blobs.map((b) => {
        const d = b.data as JsonObject;
        return b.kind === THINKING_KIND
          ? { type: "thinking", thinking: d.thinking as string, signature: d.signature as string }
          : { type: "redacted_thinking", data: d.data as string };
      });
      if (blocks.length === 0 && e.content.reasoning !== undefined)
        env.warnings.reasoning("reasoning-omitted", e.id, "visible reasoning without a thinking signature cannot go back to Anthropic; left out");
      const thinking = blocks.length;
      if (e.content.text !== "") blocks.push({ type: "text", text: e.content.text });
      for (const tc of e.content.toolCalls ?? []) blocks.push({ type: "tool_use", id: tc.id, name: tc.name, input: argumentsObject(tc, e.id, env.warnings) });
      if (blocks.length === thinking) blocks.push({ type: "text", text: nonEmpty(env, e.id, "") });
      return { parts: blocks, hidden: thinking };
    }
  }
};

const withCache = <T extends object>(block: T, cc: CacheControl): T => ({ ...block, cache_control: cc });

/**
 * Tools → system → messages, consecutive user-side entries merged into one message. Up to three
 * `cache_control` breakpoints, each where the prefix is stable: the end of the static part (last
 * system block, else last tool), the end of the previous turn (the message before the newest
 * assistant message: where the previous request ended, so its cache write is read back exactly),
 * and the newest point (the last message). The fourth slot is left free for the caller.
 */
export const anthropic: Renderer<AnthropicRequest> = {
  id: "anthropic",
  version: RENDERER_VERSION,
  render(env) {
    const params = requestParams(env.ctx, ["model", "messages", "tools", "system"]);
    const names = toolNames(env.entries);
    const messages = renderRuns(env.entries, (e) => entryBlocks(env, e, names)).map((run) => {
      const role = run.assistant ? ("assistant" as const) : ("user" as const);
      const draft: ListGroup["draft"] = {
        kind: "entry",
        entryIds: run.entries.map((e) => e.id),
        role,
        ...(run.assistant ? { reasoning: run.hidden > 0 } : {}),
        ...(run.hidden ? { hidden: run.hidden } : {}),
      };
      return { msg: { role, content: [...run.parts] } as AnthropicMessage, draft };
    });
    const tools: AnthropicTool[] = env.ctx.tools.map((t) => ({
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      input_schema: { type: "object", ...(t.parameters ?? {}) },
    }));
    // An empty system prompt is no system prompt (the API refuses empty text blocks).
    const system = env.ctx.system ? [{ type: "text" as const, text: env.ctx.system }] : undefined;

    const cc: CacheControl = env.ctx.options.cacheTtl === "1h" ? { type: "ephemeral", ttl: "1h" } : { type: "ephemeral" };
    const marked = breakpointMessages(messages.map((m) => m.msg.role === "assistant"));
    const layoutOf = (withMarks: boolean): JsonLayout => {
      const head: HeadPart[] = [];
      if (tools.length > 0) {
        const ts = withMarks && !system ? tools.map((t, i) => (i === tools.length - 1 ? withCache(t, cc) : t)) : tools;
        head.push({ kind: "tools", key: "tools", value: ts as unknown as JsonValue });
      }
      if (system) head.push({ kind: "system", key: "system", value: (withMarks ? [withCache(system[0]!, cc)] : system) as unknown as JsonValue });
      const list: ListGroup[] = messages.map((m, i) => {
        const msg = withMarks && marked.has(i) ? markLast(m.msg, cc) : m.msg;
        return { draft: m.draft, items: [msg as unknown as JsonValue] };
      });
      return { params: { max_tokens: DEFAULT_MAX_TOKENS, ...params, model: env.ctx.model }, head, listKey: "messages", list };
    };
    return renderMarked<AnthropicRequest>(layoutOf, true, marked);
  },
};

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

import { toolCallArgumentsText, type Entry, type EntryId, type HiddenBlob, type JsonObject, type JsonValue } from "@ctxsync/core";
import { hasStrings, takeBlobs, type BlobEnv } from "../hidden.js";
import { renderLayout, type HeadPart, type ListGroup } from "../json-layout.js";
import { configText, orphanResultText, requestParams, summaryText, toolNames, type RenderEnv, type Renderer } from "../render.js";
import { createWarningSink } from "../warnings.js";
import { promptCacheKey } from "./openai-chat.js";

export const RENDERER_VERSION = "openai-responses/1";

export type ResponsesInputItem =
  | { type: "message"; role: "user" | "assistant" | "system"; content: string }
  | { type: "function_call"; call_id: string; name: string; arguments: string }
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

/** Blob kinds: a reasoning item `{id, encrypted_content, summary?}` and the response id `{id}` of the turn. */
export const REASONING_KIND = "openai.reasoning";
export const RESPONSE_KIND = "openai.response";
const KINDS = { [REASONING_KIND]: hasStrings("id", "encrypted_content"), [RESPONSE_KIND]: hasStrings("id") };

const summaryOf = (data: JsonValue): { type: "summary_text"; text: string }[] => {
  const s = (data as JsonObject).summary;
  if (!Array.isArray(s)) return [];
  return s.flatMap((x) => (typeof x === "object" && x !== null && !Array.isArray(x) && typeof x.text === "string" ? [{ type: "summary_text" as const, text: x.text }] : []));
};

const entryItems = (env: RenderEnv, e: Entry, blobs: readonly HiddenBlob[], names: Map<EntryId, string>): ListGroup => {
  const one = (role: string, items: ResponsesInputItem[], reasoning?: boolean, hidden = 0): ListGroup => ({
    draft: { kind: "entry", entryIds: [e.id], role, ...(reasoning !== undefined ? { reasoning } : {}), ...(hidden ? { hidden } : {}) },
    items: items as unknown as JsonValue[],
  });
  switch (e.kind) {
    case "user":
      return one("user", [{ type: "message", role: "user", content: e.content.text }]);
    case "assistant": {
      // Reasoning items go back verbatim, in their original order, before the turn's output.
      const reasoning: ResponsesInputItem[] = blobs
        .filter((b) => b.kind === REASONING_KIND)
        .map((b) => {
          const d = b.data as JsonObject;
          return { type: "reasoning", id: d.id as string, summary: summaryOf(d), encrypted_content: d.encrypted_content as string };
        });
      if (reasoning.length === 0 && e.content.reasoning !== undefined)
        env.warnings.reasoning("reasoning-omitted", e.id, "visible reasoning has no encrypted reasoning item to go back as; left out");
      const items: ResponsesInputItem[] = [...reasoning];
      const calls = e.content.toolCalls ?? [];
      if (e.content.text !== "" || calls.length === 0) items.push({ type: "message", role: "assistant", content: e.content.text });
      for (const tc of calls) items.push({ type: "function_call", call_id: tc.id, name: tc.name, arguments: toolCallArgumentsText(tc) });
      return one("assistant", items, reasoning.length > 0, reasoning.length);
    }
    case "tool_result":
      if (!names.has(e.id)) return one("user", [{ type: "message", role: "user", content: orphanResultText(env, e) }]);
      return one("tool", [{ type: "function_call_output", call_id: e.content.callId, output: e.content.text }]);
    case "config":
      return one("system", [{ type: "message", role: "system", content: configText(e.content) }]);
    case "summary":
      return one("user", [{ type: "message", role: "user", content: summaryText(e.content) }]);
  }
};

/** The last assistant turn whose response id may be chained on (same provider and model family). */
const lastResponse = (env: RenderEnv): { index: number; id: string } | undefined => {
  const quiet: BlobEnv = { ...env.blobs, warnings: createWarningSink() };
  for (let i = env.entries.length - 1; i >= 0; i--) {
    const e = env.entries[i]!;
    if (e.kind !== "assistant") continue;
    const r = takeBlobs(quiet, e, KINDS).find((b) => b.kind === RESPONSE_KIND);
    if (r) return { index: i, id: (r.data as JsonObject).id as string };
  }
  return undefined;
};

export const openaiResponses: Renderer<OpenAIResponsesRequest> = {
  id: "openai-responses",
  version: RENDERER_VERSION,
  render(env) {
    const reserved = ["model", "input", "tools", "instructions", "previous_response_id", "include", "store"];
    const base = requestParams(env.ctx, reserved);
    let from = 0;
    let chained: { index: number; id: string } | undefined;
    if (env.ctx.options.responsesMode === "previous_response_id") {
      chained = lastResponse(env);
      if (chained) from = chained.index + 1;
      else
        env.warnings.push({
          code: "previous-response-missing",
          message: "no earlier response id for this provider and model family; sent the full stateless input instead",
        });
    }
    // In previous_response_id mode the response is stored (store: true) even when nothing is chained yet,
    // or the next turn would have no id to chain on; the full input still carries the encrypted reasoning.
    const chainMode = env.ctx.options.responsesMode === "previous_response_id";
    // Encrypted reasoning is asked for in both modes: C/hidden must hold what a replay from scratch sends
    // once a stored response is gone (PROVIDERS.md §2).
    const params: JsonObject = chained
      ? { ...base, model: env.ctx.model, store: true, previous_response_id: chained.id, include: ["reasoning.encrypted_content"] }
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
    const names = toolNames(env.entries);
    const list = env.entries.slice(from).map((e) => entryItems(env, e, takeBlobs(env.blobs, e, KINDS), names));
    const out = renderLayout<OpenAIResponsesRequest>({ params, head, listKey: "input", list });
    return chained ? { ...out, server: { previousResponseId: chained.id, upTo: env.entries[chained.index]!.id } } : out;
  },
};

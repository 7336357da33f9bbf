import { canonicalJson, isJsonObject, toolCallArguments, type ConfigContent, type Entry, type EntryId, type JsonObject, type SummaryContent, type ToolCall, type ToolResultEntry } from "@ctxsync/core";
import type { NormalizedContext, RendererId } from "./context.js";
import { compileError } from "./errors.js";
import type { BlobEnv } from "./hidden.js";
import type { WrittenPrefix } from "./manifest.js";
import type { WarningSink } from "./warnings.js";

/** An explicit provider cache (Gemini `cachedContents/…`) holding the prefix up to an entry. */
export interface CacheHandle {
  /** The provider's name for it, e.g. `cachedContents/abc`. */
  readonly name: string;
  /** The last entry inside the cache; null when it holds only the static part (system, tools). */
  readonly upTo: EntryId | null;
  /** The render context the cache was created with; a different one makes the handle unusable. */
  readonly renderContextHash?: string;
  readonly model?: string;
}

export interface RenderEnv {
  readonly entries: readonly Entry[];
  readonly ctx: NormalizedContext;
  readonly renderContextHash: string;
  readonly blobs: BlobEnv;
  readonly warnings: WarningSink;
  readonly conversation?: string;
  readonly branch?: string;
  readonly cacheHandle?: CacheHandle;
}

/** What a renderer hands back: the request, the bytes to send, the prefix stream and its segments. */
export interface Rendered<R> extends WrittenPrefix {
  readonly request: R;
  /** The exact bytes to send (JSON body, or the JSON of a completion request for templates). */
  readonly body: string;
  /** The byte stream the manifest indexes (equal to `body` except for Anthropic markers and templates). */
  readonly prefix: string;
}

export interface Renderer<R> {
  readonly id: RendererId;
  /** Bumped whenever the renderer's output bytes change: part of every checkpoint key. */
  readonly version: string;
  render(env: RenderEnv): Rendered<R>;
}

/** A config entry as text: a bare system-prompt change is its text, anything else tagged canonical JSON. */
export const configText = (c: ConfigContent): string => {
  const keys = Object.keys(c.changes);
  const system = c.changes.system;
  return keys.length === 1 && typeof system === "string" ? system : `<config>${canonicalJson(c.changes)}</config>`;
};

/** A summary entry as text (it stands for a range of earlier entries on a compacted branch). */
export const summaryText = (s: SummaryContent): string => `<summary>\n${s.text}\n</summary>`;

/**
 * The tool name each tool result answers: the most recent call with its id *before* it (agents
 * reuse call ids, and a later call must not rename an earlier result). Results with no earlier
 * call are absent (orphans).
 */
export const toolNames = (entries: readonly Entry[]): Map<EntryId, string> => {
  const calls = new Map<string, string>();
  const out = new Map<EntryId, string>();
  for (const e of entries) {
    if (e.kind === "assistant") for (const tc of e.content.toolCalls ?? []) calls.set(tc.id, tc.name);
    else if (e.kind === "tool_result") {
      const name = calls.get(e.content.callId);
      if (name !== undefined) out.set(e.id, name);
    }
  }
  return out;
};

/**
 * A tool result no earlier call in the transcript asked for: the APIs refuse it as a tool result
 * (it must answer a call), so it goes as user text, with an `orphan-tool-result` warning.
 */
export const orphanResultText = (env: RenderEnv, e: ToolResultEntry): string => {
  const { callId, text } = e.content;
  env.warnings.push({ code: "orphan-tool-result", entryId: e.id, callId, message: `tool result ${callId} answers no earlier tool call in this transcript; sent as text` });
  return `[tool result ${callId}]\n${text}`;
};

/** A tool call's arguments as an object (Anthropic, Gemini); anything else is warned about and sent as {}. */
export const argumentsObject = (tc: ToolCall, entryId: EntryId, warnings: WarningSink): JsonObject => {
  const args = toolCallArguments(tc);
  if (isJsonObject(args)) return args;
  warnings.push({
    code: "tool-arguments-not-json",
    entryId,
    callId: tc.id,
    message: `tool call ${tc.id}: arguments are not a JSON object; sent as {}`,
  });
  return {};
};

/** What an empty text is sent as where a provider refuses empty text (Anthropic blocks, Gemini parts). */
export const EMPTY_TEXT = "(empty)";

/** The text, or the placeholder with an `empty-content` warning; the same bytes every time, so the prefix holds. */
export const nonEmpty = (env: RenderEnv, entryId: EntryId, text: string): string => {
  if (text !== "") return text;
  env.warnings.push({ code: "empty-content", entryId, message: `entry ${entryId} has no content; sent as ${JSON.stringify(EMPTY_TEXT)}` });
  return EMPTY_TEXT;
};

/** Request params from the render context, refusing keys the renderer writes itself. */
export const requestParams = (ctx: NormalizedContext, reserved: readonly string[]): JsonObject => {
  const params = ctx.options.params ?? {};
  const clash = Object.keys(params).find((k) => reserved.includes(k));
  if (clash) throw compileError("invalid-context", `options.params may not set ${JSON.stringify(clash)}: the ${ctx.provider} renderer writes it`);
  return params;
};

/** Entries as provider messages: consecutive user-side entries (user, tool results, config, summary) share one. */
export interface Run<P> {
  readonly entries: readonly Entry[];
  readonly assistant: boolean;
  readonly parts: readonly P[];
  /** Hidden blobs rendered into the run. */
  readonly hidden: number;
}

/**
 * Assistant turns never merge (not even consecutive ones), so a request that ends after a turn is
 * never re-rendered differently by the next request: user-side runs end where an assistant turn
 * begins, which is where every request for a new turn ends.
 */
export const renderRuns = <P>(entries: readonly Entry[], render: (e: Entry) => { parts: readonly P[]; hidden: number }): Run<P>[] => {
  const out: Run<P>[] = [];
  let current: { entries: Entry[]; assistant: boolean; parts: P[]; hidden: number } | undefined;
  for (const e of entries) {
    const assistant = e.kind === "assistant";
    if (!current || assistant || current.assistant) {
      current = { entries: [], assistant, parts: [], hidden: 0 };
      out.push(current);
    }
    const r = render(e);
    current.entries.push(e);
    current.parts.push(...r.parts);
    current.hidden += r.hidden;
  }
  return out;
};

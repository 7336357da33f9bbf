import { canonicalJson, isJsonObject, toolCallArguments, type ConfigContent, type Entry, type EntryId, type JsonObject, type JsonValue, type SummaryContent, type ToolCall, type ToolResultEntry } from "@ctxsync/core";
import type { NormalizedContext, RendererId } from "./context.js";
import { compileError } from "./errors.js";
import type { BlobEnv } from "./hidden.js";
import type { ServerState } from "./manifest.js";
import type { PlanItem } from "./plan.js";
import type { WarningSink } from "./warnings.js";
import type { SegmentDraft } from "./writer.js";

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

/** What every span of one request is rendered with. */
export interface RenderEnv {
  readonly ctx: NormalizedContext;
  readonly renderContextHash: string;
  readonly blobs: BlobEnv;
  readonly conversation?: string;
  readonly branch?: string;
  readonly cacheHandle?: CacheHandle;
}

/** A static member of a JSON request (tools, system): written after the params, before the growing list. */
export interface HeadPart {
  readonly kind: "tools" | "system";
  readonly key: string;
  readonly value: JsonValue;
}

/** One segment of a JSON request's growing list: the list items rendered from one entry (or one merged message). */
export interface ListGroup {
  readonly draft: SegmentDraft;
  readonly items: readonly JsonValue[];
}

/** One segment of a prompt. */
export interface PromptPiece {
  readonly draft: SegmentDraft;
  readonly text: string;
}

/**
 * The static part of a JSON request, in prefix order. The serialization (docs/compile.md §2):
 *
 *   { <params, canonical, keys sorted> [, <head parts>], "<listKey>": [ <static groups>, <groups from the log> ] }
 *
 * Only the list grows from turn to turn and it comes last.
 */
export interface JsonOpening {
  readonly params: JsonObject;
  readonly head: readonly HeadPart[];
  readonly listKey: string;
  /** List items that belong to the static part (the system message of chat APIs). */
  readonly staticGroups: readonly ListGroup[];
  /** Renderers with cache breakpoints: the static part with its breakpoint marker (what `body` carries). */
  readonly marked?: { readonly head: readonly HeadPart[]; readonly staticGroups: readonly ListGroup[] };
  /** The end of the static part is a breakpoint (it is marked in `marked`). */
  readonly staticBreakpoint?: boolean;
}

export interface PromptOpening {
  /** Request params besides `model` and `prompt`. */
  readonly params: JsonObject;
  /** Raw text before the first segment (`<|begin_of_text|>`). */
  readonly lead: string;
  readonly segments: readonly PromptPiece[];
}

/** What a span renders with. Spans start where no tool loop is open (before an assistant turn, or at 0). */
export interface SpanContext<S> {
  readonly env: RenderEnv;
  readonly state: S;
  readonly warnings: WarningSink;
  /** The span ends the request (the tail); otherwise it is memoized and never rendered differently. */
  readonly last: boolean;
}

/** Where a request relying on provider-held state starts. */
export interface ServerStart {
  /** The entry index planning starts from (a point with no open tool loop). */
  readonly planFrom: number;
  /** Items emitted by entries up to this index are held by the provider. */
  readonly heldThrough: number;
  readonly server: ServerState;
}

interface RendererBase<S> {
  readonly id: RendererId;
  /** Bumped whenever the renderer's output bytes change: part of every checkpoint key and render-cache key. */
  readonly version: string;
  init(env: RenderEnv): S;
  /** A copy of the state for rendering the tail (the memoized state must not change). */
  fork(state: S): S;
  /**
   * The memoized part may not grow past this entry index (stock Qwen3: the turns after the last
   * user query are rendered again when a new query arrives).
   */
  frontierLimit?(env: RenderEnv, entries: readonly Entry[], from: number, state: S): number | undefined;
}

export interface JsonRenderer<S = unknown> extends RendererBase<S> {
  readonly form: "json";
  opening(env: RenderEnv, warnings: WarningSink, server?: ServerState): JsonOpening;
  span(c: SpanContext<S>, items: readonly PlanItem[], next: PlanItem | undefined): ListGroup[];
  /** A list item with a cache breakpoint marker (Anthropic `cache_control`, OpenAI `prompt_cache_breakpoint`). */
  mark?(env: RenderEnv): ((item: JsonValue) => JsonValue) | undefined;
  /** Provider-held state this request relies on instead of sending a prefix, if any. */
  server?(env: RenderEnv, entries: readonly Entry[], warnings: WarningSink): ServerStart | undefined;
}

export interface PromptRenderer<S = unknown> extends RendererBase<S> {
  readonly form: "prompt";
  opening(env: RenderEnv, warnings: WarningSink): PromptOpening;
  span(c: SpanContext<S>, items: readonly PlanItem[], next: PlanItem | undefined): PromptPiece[];
  /** The generation prompt that ends every prompt. */
  closing(env: RenderEnv): PromptPiece;
}

export type Renderer = JsonRenderer<any> | PromptRenderer<any>;

/** A config entry as text: a bare system-prompt change is its text, anything else tagged canonical JSON. */
export const configText = (c: ConfigContent): string => {
  const keys = Object.keys(c.changes);
  const system = c.changes.system;
  return keys.length === 1 && typeof system === "string" ? system : `<config>${canonicalJson(c.changes)}</config>`;
};

/** A summary entry as text (it stands for a range of earlier entries on a compacted branch). */
export const summaryText = (s: SummaryContent): string => `<summary>\n${s.text}\n</summary>`;

/**
 * A tool result that answers no open call: the APIs refuse it as a tool result (it must answer
 * a call of the turn before), so it goes as user text, with an `orphan-tool-result` warning.
 */
export const orphanResultText = (w: WarningSink, e: ToolResultEntry): string => {
  const { callId, text } = e.content;
  w.push({ code: "orphan-tool-result", entryId: e.id, callId, message: `tool result ${callId} answers no open tool call in this transcript; sent as text` });
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

/**
 * The text, or the placeholder with an `empty-content` warning when it is empty (or, with
 * `whitespace`, has nothing but whitespace); the same bytes every time, so the prefix holds.
 */
export const nonEmpty = (w: WarningSink, entryId: EntryId, text: string, whitespace = false): string => {
  if (whitespace ? text.trim() !== "" : text !== "") return text;
  w.push({ code: "empty-content", entryId, message: `entry ${entryId} has no ${whitespace && text !== "" ? "non-whitespace " : ""}content; sent as ${JSON.stringify(EMPTY_TEXT)}` });
  return EMPTY_TEXT;
};

/** Request params from the render context, refusing keys the renderer writes itself. */
export const requestParams = (ctx: NormalizedContext, reserved: readonly string[]): JsonObject => {
  const params = ctx.options.params ?? {};
  const clash = Object.keys(params).find((k) => reserved.includes(k));
  if (clash) throw compileError("invalid-context", `options.params may not set ${JSON.stringify(clash)}: the ${ctx.provider} renderer writes it`);
  return params;
};

/** Items as provider messages: consecutive user-side items (user, results, config, summary) share one. */
export interface Run<P> {
  readonly items: readonly PlanItem[];
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
export const renderRuns = <P>(items: readonly PlanItem[], render: (i: PlanItem) => { parts: readonly P[]; hidden: number }): Run<P>[] => {
  const out: Run<P>[] = [];
  let current: { items: PlanItem[]; assistant: boolean; parts: P[]; hidden: number } | undefined;
  for (const i of items) {
    const assistant = i.kind === "assistant";
    if (!current || assistant || current.assistant) {
      current = { items: [], assistant, parts: [], hidden: 0 };
      out.push(current);
    }
    const r = render(i);
    current.items.push(i);
    current.parts.push(...r.parts);
    current.hidden += r.hidden;
  }
  return out;
};

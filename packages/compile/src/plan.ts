import type { AssistantEntry, ConfigEntry, Entry, EntryId, SummaryEntry, ToolCall, ToolResultEntry, UserEntry } from "@ctxsync/core";
import type { WarningSink } from "./warnings.js";

/** One tool call of an assistant turn. */
export interface CallRef {
  readonly assistant: AssistantEntry;
  /** Position among the turn's tool calls. */
  readonly index: number;
  readonly call: ToolCall;
}

/**
 * The conversation as every renderer renders it: the log's entries, in an order every provider
 * accepts. Each item carries `at`, the index of the entry whose arrival emitted it.
 */
export type PlanItem =
  | { readonly kind: "user"; readonly entry: UserEntry; readonly at: number; readonly moved: boolean }
  | { readonly kind: "config"; readonly entry: ConfigEntry; readonly at: number; readonly moved: boolean }
  | { readonly kind: "summary"; readonly entry: SummaryEntry; readonly at: number; readonly moved: boolean }
  | { readonly kind: "assistant"; readonly entry: AssistantEntry; readonly at: number }
  /** A tool result answering a call of the open tool loop. */
  | { readonly kind: "result"; readonly entry: ToolResultEntry; readonly call: CallRef; readonly at: number }
  /** A tool result answering no open call (no such call, a call answered already, a late result): sent as text. */
  | { readonly kind: "orphan"; readonly entry: ToolResultEntry; readonly at: number; readonly moved: boolean }
  /** A call never answered before the next assistant turn: an error result in its place. */
  | { readonly kind: "missing"; readonly call: CallRef; readonly at: number };

export type PlanItemKind = PlanItem["kind"];

/** The text of the result sent for a call that has none. */
export const MISSING_RESULT_TEXT = "(no result: the tool call was not completed)";

/** User-side items that answer a tool call (rendered as tool results by the chat templates). */
export const isToolItem = (i: PlanItem): i is Extract<PlanItem, { kind: "result" | "orphan" | "missing" }> =>
  i.kind === "result" || i.kind === "orphan" || i.kind === "missing";

/** The entry an item stands for (none for a synthesized missing result). */
export const itemEntry = (i: PlanItem): Entry | undefined => (i.kind === "missing" ? undefined : i.entry);

/** The id an item's manifest segment names (a missing result names no entry). */
export const itemIds = (i: PlanItem): EntryId[] => (i.kind === "missing" ? [] : [i.entry.id]);

interface Loop {
  readonly assistant: AssistantEntry;
  readonly pending: CallRef[];
  readonly deferred: PlanItem[];
  lastResult: EntryId;
}

const asDeferred = (e: Entry, at: number): PlanItem => {
  switch (e.kind) {
    case "user":
      return { kind: "user", entry: e, at, moved: true };
    case "config":
      return { kind: "config", entry: e, at, moved: true };
    case "summary":
      return { kind: "summary", entry: e, at, moved: true };
    case "tool_result":
      return { kind: "orphan", entry: e, at, moved: true };
    case "assistant":
      throw new Error("an assistant entry closes a tool loop; it is never deferred");
  }
};

/**
 * Plan `entries[from..to)`. `from` and `to` must be points where no tool loop is open: 0, the end,
 * or the index of an assistant entry (an assistant turn closes any loop before it), so planning a
 * transcript in ranges gives the items of planning it whole.
 *
 * Tool loops: an assistant turn with tool calls opens a loop; the loop's results follow it
 * directly. Anything else logged before the last result (a user message typed on another device,
 * a config change, a result answering no open call) is *deferred* to right after the last result,
 * in its logged order (`entries-moved`). A loop the next assistant turn closes with calls still
 * unanswered gets an error result for each (`missing-tool-result`). The order is a function of the
 * entries up to the loop's last result, so once a loop is complete its rendering never changes —
 * a request compiled then is a prefix of every later one. A transcript that ends inside a loop (a
 * tool that crashed without a result, or results still to come) gets an error result for each call
 * still open, then the deferred entries (`tool-results-pending`): the request is one providers
 * accept, and its tail is rendered again when the real results arrive.
 */
export const planEntries = (entries: readonly Entry[], from: number, to: number, warnings: WarningSink): PlanItem[] => {
  const out: PlanItem[] = [];
  let loop: Loop | undefined;
  const close = (at: number, end: boolean): void => {
    if (!loop) return;
    if (end && loop.pending.length > 0)
      warnings.push({
        code: "tool-results-pending",
        entryId: loop.assistant.id,
        callIds: loop.pending.map((p) => p.call.id),
        message: `the transcript ends inside the tool loop of ${loop.assistant.id}: calls ${loop.pending.map((p) => p.call.id).join(", ")} have no result yet; sent as error results (a later result replaces them)`,
      });
    for (const p of loop.pending) {
      out.push({ kind: "missing", call: p, at });
      if (!end)
        warnings.push({
          code: "missing-tool-result",
          entryId: loop.assistant.id,
          callId: p.call.id,
          message: `tool call ${p.call.id} of ${loop.assistant.id} has no result before the next assistant turn; sent as an error result`,
        });
    }
    if (loop.deferred.length > 0) {
      const ids = loop.deferred.flatMap(itemIds);
      warnings.push({
        code: "entries-moved",
        entryIds: ids,
        after: loop.lastResult,
        message: `entries ${ids.join(", ")} were logged inside the tool loop of ${loop.assistant.id}; sent after its results`,
      });
      out.push(...loop.deferred);
    }
    loop = undefined;
  };
  for (let at = from; at < to; at++) {
    const e = entries[at]!;
    if (e.kind === "assistant") {
      close(at, false);
      out.push({ kind: "assistant", entry: e, at });
      const calls = e.content.toolCalls ?? [];
      if (calls.length > 0) loop = { assistant: e, pending: calls.map((call, index) => ({ assistant: e, index, call })), deferred: [], lastResult: e.id };
      continue;
    }
    if (!loop) {
      out.push(e.kind === "tool_result" ? { kind: "orphan", entry: e, at, moved: false } : { ...(asDeferred(e, at) as Extract<PlanItem, { moved: boolean }>), moved: false });
      continue;
    }
    const i = e.kind === "tool_result" ? loop.pending.findIndex((p) => p.call.id === e.content.callId) : -1;
    if (e.kind !== "tool_result" || i < 0) {
      loop.deferred.push(asDeferred(e, at));
      continue;
    }
    const [call] = loop.pending.splice(i, 1);
    out.push({ kind: "result", entry: e as ToolResultEntry, call: call!, at });
    loop.lastResult = e.id;
    if (loop.pending.length === 0) close(at, false);
  }
  // A range ends at the end of the transcript, or before an assistant entry, which closes the loop.
  close(to, to === entries.length);
  return out;
};

import type { EntryId } from "@ctxsync/core";

/** Why a hidden blob was left out of a request. */
export type HiddenDropReason = "other-provider" | "other-model-family" | "unsupported-kind" | "bad-data";

/** Warnings that name many entries: one warning per code lists them all (one per request, not one per entry). */
export type MergedWarningCode =
  | "reasoning-omitted"
  | "reasoning-dropped-by-template"
  | "tool-loop-as-text"
  | "thought-signature-placeholder"
  | "trailing-whitespace-trimmed"
  | "content-dropped-by-template"
  | "lone-surrogate";

/**
 * Problems the compiler worked around. A request is still produced; each warning says what
 * was changed or left out and where, so a caller (or the inspector) can show it.
 */
export type CompileWarning =
  | {
      readonly code: "hidden-dropped";
      readonly entryId: EntryId;
      readonly blobKind: string;
      readonly blobProvider: string;
      readonly blobModel: string;
      readonly reason: HiddenDropReason;
      readonly message: string;
    }
  | {
      /**
       * Merged per request, listing every entry concerned:
       * - `reasoning-omitted`: visible reasoning the target cannot take back (always left out, so the prefix stays stable);
       * - `reasoning-dropped-by-template`: the stock Qwen3 template dropped reasoning of earlier turns (the prefix will break);
       * - `tool-loop-as-text`: Anthropic with thinking on: tool calls of a turn without a thinking block (another
       *   provider's, or thinking was off) and their results are sent as text, so no tool loop lacks its thinking block;
       * - `thought-signature-placeholder`: Gemini 3: a function-call turn with no signature of its own (another
       *   provider's) carries Google's documented placeholder signature;
       * - `trailing-whitespace-trimmed`: Anthropic refuses a final assistant turn ending in whitespace; every assistant
       *   text is sent without its trailing whitespace (every turn, so the prefix stays stable);
       * - `content-dropped-by-template`: the Llama 3.1 template writes only the tool call of a turn that calls a tool;
       * - `lone-surrogate`: a prompt text had unpaired UTF-16 surrogates, written as U+FFFD (what UTF-8 would send anyway).
       */
      readonly code: MergedWarningCode;
      readonly entryIds: readonly EntryId[];
      readonly message: string;
    }
  | { readonly code: "tool-arguments-not-json"; readonly entryId: EntryId; readonly callId: string; readonly message: string }
  | { readonly code: "orphan-tool-result"; readonly entryId: EntryId; readonly callId: string; readonly message: string }
  | { readonly code: "empty-content"; readonly entryId: EntryId; readonly message: string }
  | {
      /** Entries logged inside a tool loop (between a call and its results) are sent after the results. */
      readonly code: "entries-moved";
      readonly entryIds: readonly EntryId[];
      /** The entry they now follow (the last result of the loop, or the assistant turn when it has none). */
      readonly after: EntryId;
      readonly message: string;
    }
  | {
      /** A tool call never answered before the next assistant turn: an error result is sent in its place. */
      readonly code: "missing-tool-result";
      readonly entryId: EntryId;
      readonly callId: string;
      readonly message: string;
    }
  | {
      /** The transcript ends inside a tool loop: error results stand in for the calls still open (the real ones replace them later). */
      readonly code: "tool-results-pending";
      readonly entryId: EntryId;
      readonly callIds: readonly string[];
      readonly message: string;
    }
  | {
      /** A tool call id the provider refuses (pattern) or one already used in this request, sent under another id. */
      readonly code: "tool-call-id-mapped";
      readonly entryId: EntryId;
      readonly callId: string;
      readonly mappedId: string;
      readonly reason: "pattern" | "duplicate";
      readonly message: string;
    }
  | {
      /** Anthropic, thinking off: thinking blocks of an assistant message in the final position are left out. */
      readonly code: "thinking-dropped";
      readonly entryId: EntryId;
      readonly message: string;
    }
  | {
      /**
       * OpenAI Responses, stateless: a reasoning item is followed by an item without its `msg_`/`fc_` id (a log
       * written before `openai.output_item` blobs existed); the API may refuse it ("…without its required following item").
       */
      readonly code: "reasoning-item-unpaired";
      readonly entryId: EntryId;
      readonly message: string;
    }
  | {
      readonly code: "volatile-timestamp" | "volatile-date" | "volatile-uuid" | "volatile-random-id";
      /** Where in the static part: the system prompt or the tool list (canonical JSON of the sorted tools). */
      readonly where: "system" | "tools";
      readonly text: string;
      /** UTF-16 offset of the match in the system prompt / canonical tool JSON. */
      readonly offset: number;
      readonly message: string;
    }
  | { readonly code: "static-lone-surrogate"; readonly where: "system" | "tools"; readonly message: string }
  | { readonly code: "cache-handle-unusable"; readonly reason: "render-context-changed" | "not-in-transcript" | "other-model"; readonly message: string }
  | { readonly code: "previous-response-missing"; readonly message: string };

export type CompileWarningCode = CompileWarning["code"];

/** What a renderer reports, in order; merged codes are folded into one warning when the list is read. */
export type WarningEvent = CompileWarning | { readonly merge: MergedWarningCode; readonly entryId: EntryId; readonly message: string };

/** Collects the warnings of one render (or one memoized span of it). */
export interface WarningSink {
  push(w: CompileWarning): void;
  /** Record an entry under a merged code: one warning per code lists them all. */
  merged(code: MergedWarningCode, entryId: EntryId, why: string): void;
}

/** A sink appending to `events` (kept by the render cache for the spans it memoizes). */
export const recordTo = (events: WarningEvent[]): WarningSink => ({
  push: (w) => void events.push(w),
  merged: (merge, entryId, message) => void events.push({ merge, entryId, message }),
});

/** The warnings of a list of event runs, in order, merged codes folded at their first occurrence. */
export const foldWarnings = (runs: readonly (readonly WarningEvent[])[]): CompileWarning[] => {
  const out: CompileWarning[] = [];
  const merged = new Map<MergedWarningCode, EntryId[]>();
  for (const run of runs)
    for (const ev of run) {
      if (!("merge" in ev)) {
        out.push(ev);
        continue;
      }
      let ids = merged.get(ev.merge);
      if (!ids) {
        ids = [];
        merged.set(ev.merge, ids);
        out.push({ code: ev.merge, entryIds: ids, message: ev.message });
      }
      ids.push(ev.entryId);
    }
  return out;
};

/** A standalone sink with its list (for code outside a compile). */
export const createWarningSink = (): WarningSink & { readonly list: CompileWarning[]; readonly events: WarningEvent[] } => {
  const events: WarningEvent[] = [];
  return {
    ...recordTo(events),
    events,
    get list() {
      return foldWarnings([events]);
    },
  };
};

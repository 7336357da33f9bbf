import type { EntryId } from "@ctxsync/core";

/** Why a hidden blob was left out of a request. */
export type HiddenDropReason = "other-provider" | "other-model-family" | "unsupported-kind" | "bad-data";

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
      /** Visible reasoning the target cannot take back (no field for it, or no signature). Always left out, so the prefix stays stable. */
      readonly code: "reasoning-omitted";
      readonly entryIds: readonly EntryId[];
      readonly message: string;
    }
  | {
      /** The template drops reasoning of earlier turns (stock Qwen3 behaviour): the prefix will break. */
      readonly code: "reasoning-dropped-by-template";
      readonly entryIds: readonly EntryId[];
      readonly message: string;
    }
  | { readonly code: "tool-arguments-not-json"; readonly entryId: EntryId; readonly callId: string; readonly message: string }
  | { readonly code: "orphan-tool-result"; readonly entryId: EntryId; readonly callId: string; readonly message: string }
  | { readonly code: "empty-content"; readonly entryId: EntryId; readonly message: string }
  | {
      readonly code: "volatile-timestamp" | "volatile-date" | "volatile-uuid" | "volatile-random-id";
      /** Where in the static part: the system prompt or the tool list (canonical JSON of the sorted tools). */
      readonly where: "system" | "tools";
      readonly text: string;
      /** UTF-16 offset of the match in the system prompt / canonical tool JSON. */
      readonly offset: number;
      readonly message: string;
    }
  | { readonly code: "cache-handle-unusable"; readonly reason: "render-context-changed" | "not-in-transcript" | "other-model"; readonly message: string }
  | { readonly code: "previous-response-missing"; readonly message: string };

export type CompileWarningCode = CompileWarning["code"];

/** Collects warnings during one compile; repeated reasoning warnings are merged into one per code. */
export interface WarningSink {
  readonly list: CompileWarning[];
  push(w: CompileWarning): void;
  /** Record an entry whose reasoning was omitted / dropped; one warning per code lists them all. */
  reasoning(code: "reasoning-omitted" | "reasoning-dropped-by-template", entryId: EntryId, why: string): void;
}

export const createWarningSink = (): WarningSink => {
  const list: CompileWarning[] = [];
  const merged = new Map<string, EntryId[]>();
  return {
    list,
    push: (w) => void list.push(w),
    reasoning(code, entryId, why) {
      let ids = merged.get(code);
      if (!ids) {
        ids = [];
        merged.set(code, ids);
        list.push({ code, entryIds: ids, message: why });
      }
      ids.push(entryId);
    },
  };
};

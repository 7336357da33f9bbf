import { coreError } from "./errors.js";
import { isConversationId, type ConversationId } from "./ids.js";

/** The three documents of a conversation `C`: the canonical log, derived cache state, hidden provider blobs. */
export type DocKind = "log" | "cache" | "hidden";

export interface DocNames {
  readonly log: string;
  readonly cache: string;
  readonly hidden: string;
}

export const docNames = (c: ConversationId): DocNames => ({ log: c, cache: `${c}/cache`, hidden: `${c}/hidden` });

/** Parse a synced document name (`C`, `C/cache`, `C/hidden`) into its conversation and kind. */
export const parseDocName = (name: string): { conversation: ConversationId; kind: DocKind } => {
  const slash = name.indexOf("/");
  const conversation = slash < 0 ? name : name.slice(0, slash);
  const suffix = slash < 0 ? "" : name.slice(slash + 1);
  if (!isConversationId(conversation)) throw coreError("invalid-branch", `invalid conversation id in ${JSON.stringify(name)}`);
  // Exactly `C`, `C/cache` or `C/hidden`: `C/` (or `C%2F` decoded) is not another name for `C`.
  const kind: DocKind | undefined = slash < 0 ? "log" : suffix === "cache" ? "cache" : suffix === "hidden" ? "hidden" : undefined;
  if (kind === undefined) throw coreError("invalid-branch", `unknown document ${JSON.stringify(name)}: expected C, C/cache or C/hidden`);
  return { conversation: conversation as ConversationId, kind };
};

/** Names of the shared types inside each document. Nothing else may exist at the root. */
export const LOG_ROOTS = { entries: "entries", branches: "branches", notes: "notes", info: "info" } as const;
export const CACHE_ROOTS = { handles: "handles", usage: "usage" } as const;
export const HIDDEN_ROOTS = { blobs: "blobs" } as const;

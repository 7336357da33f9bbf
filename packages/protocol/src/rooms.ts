import { isConversationId, type ConversationId, type DocKind } from "@ctxsync/core";
import { syncError } from "./errors.js";

/**
 * Room names: a conversation `C` is three documents synced in three rooms, `C` (the canonical
 * log), `C/cache` (derived cache state) and `C/hidden` (provider blobs). A client connects to
 * `<base>/sync/<room>`; the room is everything after `/sync/` (the stock client appends
 * `/${room}` without encoding it).
 */
export interface DocNames {
  readonly log: string;
  readonly cache: string;
  readonly hidden: string;
}

/** The path under which the server takes WebSocket upgrades: `ws(s)://HOST/sync/<room>`. */
export const SYNC_PATH = "/sync";

export const docNames = (c: ConversationId): DocNames => ({ log: c, cache: `${c}/cache`, hidden: `${c}/hidden` });

/** Parse a room name (`C`, `C/cache`, `C/hidden`) into its conversation and document kind; throws SyncError bad-request. */
export const parseDocName = (name: string): { conversation: ConversationId; kind: DocKind } => {
  const slash = name.indexOf("/");
  const conversation = slash < 0 ? name : name.slice(0, slash);
  const suffix = slash < 0 ? "" : name.slice(slash + 1);
  if (!isConversationId(conversation)) throw syncError("bad-request", `invalid conversation id in ${JSON.stringify(name)}`);
  // Exactly `C`, `C/cache` or `C/hidden`: `C/` (or `C%2F` decoded) is not another name for `C`.
  const kind: DocKind | undefined = slash < 0 ? "log" : suffix === "cache" ? "cache" : suffix === "hidden" ? "hidden" : undefined;
  if (kind === undefined) throw syncError("bad-request", `unknown document ${JSON.stringify(name)}: expected C, C/cache or C/hidden`);
  return { conversation, kind };
};

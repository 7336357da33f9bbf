import { errorFamily, type FamilyError } from "@ctxsync/core";

/** The one error type of the protocol/server/client family; `code` says what went wrong. */
export type SyncErrorCode =
  | "unauthorized"
  | "token-expired"
  | "forbidden"
  | "bad-request"
  | "not-found"
  | "conflict"
  | "append-only-violation"
  | "malformed-message"
  | "message-too-large"
  | "document-too-large"
  | "rate-limited"
  | "shutting-down"
  | "storage-unavailable"
  | "internal";

export type SyncError = FamilyError<"SyncError", SyncErrorCode>;

const family = errorFamily<"SyncError", SyncErrorCode>("SyncError");

export const syncError = family.make;
export const isSyncError = family.is;
export const toSyncError = (e: unknown, code: SyncErrorCode = "internal"): SyncError => family.from(e, code);

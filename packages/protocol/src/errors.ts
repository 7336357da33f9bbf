import { errorFamily, isCoreError, type CoreErrorCode, type FamilyError } from "@ctxsync/core";

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

/** What each of core's error codes means on the wire (HTTP status, close code): one table for server and client. */
export const CORE_TO_SYNC: Readonly<Record<CoreErrorCode, SyncErrorCode>> = {
  "invalid-entry": "bad-request",
  "unknown-entry": "not-found",
  "unknown-branch": "not-found",
  "invalid-branch": "bad-request",
  "branch-exists": "conflict",
  "invalid-json": "bad-request",
  "invalid-transcript": "bad-request",
  "meta-immutable": "conflict",
  "not-canonical": "bad-request",
  internal: "internal",
};

/**
 * Convert anything thrown at a package boundary into a SyncError: SyncErrors stay as they are,
 * core's errors keep their message and get the code of `CORE_TO_SYNC` (core's code is kept as
 * `details.coreCode`), anything else becomes `fallback`.
 */
export const asSyncError = (e: unknown, fallback: SyncErrorCode = "internal"): SyncError => {
  if (isSyncError(e)) return e;
  if (isCoreError(e)) return syncError(CORE_TO_SYNC[e.code], e.message, { coreCode: e.code, ...(e.details ?? {}) });
  return syncError(fallback, e instanceof Error ? e.message : String(e), { cause: e });
};

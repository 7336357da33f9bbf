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

export interface SyncError extends Error {
  readonly name: "SyncError";
  readonly code: SyncErrorCode;
  readonly details?: Record<string, unknown>;
}

export const syncError = (code: SyncErrorCode, message: string, details?: Record<string, unknown>): SyncError => {
  const err = new Error(message) as Error & { code: SyncErrorCode; details?: Record<string, unknown> };
  err.name = "SyncError";
  err.code = code;
  if (details !== undefined) err.details = details;
  return err as SyncError;
};

export const isSyncError = (e: unknown): e is SyncError =>
  e instanceof Error && e.name === "SyncError" && typeof (e as { code?: unknown }).code === "string";

export const toSyncError = (e: unknown, code: SyncErrorCode = "internal"): SyncError =>
  isSyncError(e) ? e : syncError(code, e instanceof Error ? e.message : String(e), { cause: e });

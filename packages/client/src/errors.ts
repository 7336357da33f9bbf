import { isCoreError } from "@ctxsync/core";
import { isSyncError, syncError, type SyncError, type SyncErrorCode } from "@ctxsync/protocol";

const FROM_CORE: Readonly<Record<string, SyncErrorCode>> = {
  "unknown-entry": "not-found",
  "unknown-branch": "not-found",
  "branch-exists": "conflict",
  "meta-immutable": "conflict",
  internal: "internal",
};

/** Everything the client throws is a SyncError; core's errors keep their message and code (as `details.coreCode`). */
export const toClientError = (e: unknown): SyncError => {
  if (isSyncError(e)) return e;
  if (isCoreError(e)) return syncError(FROM_CORE[e.code] ?? "bad-request", e.message, { coreCode: e.code, ...(e.details ?? {}) });
  return syncError("internal", e instanceof Error ? e.message : String(e), { cause: e });
};

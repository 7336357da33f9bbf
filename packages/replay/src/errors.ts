import { errorFamily, type FamilyError } from "@ctxsync/core";

/** The one error type of the replay package; `code` says what went wrong. */
export type ReplayErrorCode =
  | "bad-request" // invalid options or input (no render context for a rebuild, a gap that is not a number...)
  | "no-handle" // nothing is known about this prefix: no checkpoint handle to rebuild
  | "lease-unavailable" // the rebuild lease could not be asked for (no server reachable): no rebuild without it
  | "lease-expired" // the holder's own deadline passed before it could send: it does not rebuild
  | "state-gone" // provider-held state is gone and replay from scratch failed too
  | "rebuild-failed" // the rebuild request failed (the provider's error is the cause)
  | "internal";

export type ReplayError = FamilyError<"ReplayError", ReplayErrorCode>;

const family = errorFamily<"ReplayError", ReplayErrorCode>("ReplayError");

export const replayError = family.make;
export const isReplayError = family.is;
/** Convert anything thrown into a ReplayError (used at the package boundary). */
export const toReplayError = (e: unknown, code: ReplayErrorCode = "internal"): ReplayError => family.from(e, code);

import { canWrite, asSyncError, syncError, type Scope, type SyncError } from "@ctxsync/protocol";

export type DocKindWritten = "log" | "cache" | "hidden";

/**
 * Guarded writes: every write checks that the session is open and not stopped by a refusal, that
 * the token's scopes allow the document, runs, converts what it throws into a SyncError, and
 * resolves only once the write is durable in local storage.
 */
export interface WriteGuard {
  assertOpen(): void;
  assertCanWrite(kind: DocKindWritten): void;
  write<T>(kind: DocKindWritten, fn: () => T): Promise<T>;
}

export interface WriteGuardOptions {
  readonly scopes: readonly Scope[];
  readonly hasHidden: boolean;
  readonly closed: () => boolean;
  /** The refusal that stopped the session's sync, if any: writes are refused with it until `connect()`. */
  readonly fatal: () => SyncError | undefined;
  readonly flush: () => Promise<void>;
}

export const createWriteGuard = (o: WriteGuardOptions): WriteGuard => {
  const assertOpen = () => {
    if (o.closed()) throw syncError("bad-request", "the session is closed");
    const fatal = o.fatal();
    if (fatal) throw fatal;
  };
  const assertCanWrite = (kind: DocKindWritten) => {
    assertOpen();
    if (kind === "hidden" && !o.hasHidden) throw syncError("forbidden", "this session has no access to hidden blobs (the token lacks the `hidden` scope)");
    if (!canWrite(o.scopes, kind)) {
      const what = kind === "log" ? "the conversation" : `C/${kind}`;
      throw syncError("forbidden", `the token does not allow writing ${what} (needs the ${kind === "hidden" ? "hidden and append scopes" : "append scope"})`);
    }
  };
  return {
    assertOpen,
    assertCanWrite,
    async write(kind, fn) {
      assertCanWrite(kind);
      let out;
      try {
        out = fn();
      } catch (e) {
        throw asSyncError(e);
      }
      await o.flush();
      return out;
    },
  };
};

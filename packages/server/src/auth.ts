import type { DocKind } from "@ctxsync/core";
import { canRead, canWrite, SCOPES, syncError, tokenCovers, verifyToken, type Scope } from "@ctxsync/protocol";

/** What a request may do: the conversation its token names ("*" for all) and its scopes. */
export interface Access {
  readonly conversation: string;
  readonly scopes: readonly Scope[];
  /** True when the server runs without a secret (every request has every scope). */
  readonly open: boolean;
  readonly subject?: string;
  /** Token expiry, seconds since the epoch (absent when open). */
  readonly expiresAt?: number;
}

export interface Authenticator {
  readonly open: boolean;
  /** Throws SyncError unauthorized / token-expired. */
  verify(token: string | null | undefined): Access;
  /** May `access` receive document `kind` of `conversation`? Throws SyncError forbidden; returns whether it may write. */
  room(access: Access, conversation: string, kind: DocKind): { writable: boolean };
  /** Require `scope` on `conversation` ("*" means a token for all conversations). Throws SyncError forbidden. */
  require(access: Access, conversation: string, scope: Scope): void;
}

const OPEN: Access = { conversation: "*", scopes: SCOPES, open: true };

export const createAuthenticator = (secret: string | undefined): Authenticator => {
  const covers = (a: Access, conversation: string) =>
    a.open || (conversation === "*" ? a.conversation === "*" : tokenCovers({ conv: a.conversation, scopes: a.scopes, exp: 0, iat: 0 }, conversation));
  return {
    open: secret === undefined,
    verify(token) {
      if (secret === undefined) return OPEN;
      const c = verifyToken(secret, token);
      return { conversation: c.conv, scopes: c.scopes, open: false, expiresAt: c.exp, ...(c.sub !== undefined ? { subject: c.sub } : {}) };
    },
    room(access, conversation, kind) {
      if (!covers(access, conversation))
        throw syncError("forbidden", `token is for conversation ${JSON.stringify(access.conversation)}, not ${JSON.stringify(conversation)}`);
      if (!canRead(access.scopes, kind))
        throw syncError("forbidden", kind === "hidden" ? "the hidden scope is needed for C/hidden" : "the read scope is needed");
      return { writable: canWrite(access.scopes, kind) };
    },
    require(access, conversation, scope) {
      if (!covers(access, conversation))
        throw syncError(
          "forbidden",
          conversation === "*" ? "a token for all conversations (conv \"*\") is needed" : `token does not cover conversation ${JSON.stringify(conversation)}`,
        );
      const ok = scope === "read" ? canRead(access.scopes, "log") : access.scopes.includes(scope);
      if (!ok) throw syncError("forbidden", `the ${scope} scope is needed`);
    },
  };
};

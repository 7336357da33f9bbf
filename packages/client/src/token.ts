import { isScope, type Scope } from "@ctxsync/protocol";

/**
 * The scopes a token claims, read without verifying it (only the server can). Used to decide
 * which documents to open (C/hidden needs `hidden`) and to refuse writes early; the server
 * still enforces everything. Undefined when the token cannot be read.
 */
export const tokenScopes = (token: string): Scope[] | undefined => {
  const part = token.split(".")[1];
  if (!part) return undefined;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (part.length % 4)) % 4));
    const claims = JSON.parse(json) as { scopes?: unknown };
    return Array.isArray(claims.scopes) ? claims.scopes.filter(isScope) : undefined;
  } catch {
    return undefined;
  }
};

import type { DocKind } from "@ctxsync/core";

/** `read` receives C and C/cache; `append` writes them; `hidden` reads and writes C/hidden; `admin` forks, imports, deletes over REST. */
export type Scope = "read" | "append" | "hidden" | "admin";
export const SCOPES: readonly Scope[] = ["read", "append", "hidden", "admin"];

export const isScope = (s: unknown): s is Scope => typeof s === "string" && (SCOPES as readonly string[]).includes(s);

/** May a holder of `scopes` receive document `kind`? */
export const canRead = (scopes: readonly Scope[], kind: DocKind): boolean =>
  kind === "hidden" ? scopes.includes("hidden") : scopes.includes("read") || scopes.includes("append") || scopes.includes("admin");

/** May a holder of `scopes` write document `kind`? */
export const canWrite = (scopes: readonly Scope[], kind: DocKind): boolean =>
  kind === "hidden" ? scopes.includes("hidden") && scopes.includes("append") : scopes.includes("append");

export const parseScopes = (csv: string): Scope[] => {
  const out = csv.split(",").map((s) => s.trim()).filter(Boolean);
  const bad = out.find((s) => !isScope(s));
  if (bad !== undefined) throw new Error(`unknown scope ${JSON.stringify(bad)} (expected read, append, hidden, admin)`);
  return out as Scope[];
};

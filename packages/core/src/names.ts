/** The three documents of a conversation `C`: the canonical log, derived cache state, hidden provider blobs. */
export type DocKind = "log" | "cache" | "hidden";

/** Names of the shared types inside each document. Nothing else may exist at the root. */
export const LOG_ROOTS = { entries: "entries", branches: "branches", notes: "notes", info: "info" } as const;
export const CACHE_ROOTS = { handles: "handles", usage: "usage", leases: "leases" } as const;
export const HIDDEN_ROOTS = { blobs: "blobs" } as const;

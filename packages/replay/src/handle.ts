import { checkpointKey, type CheckpointHandle, type HandleCause, type HandleOrigin, type PrefixHash } from "@ctxsync/core";

/**
 * Checkpoint-handle state, as pure transitions (DESIGN.md §1.2):
 *
 *   (none) ──observe──▶ warm ──lapse(expired|evicted|state-gone)──▶ expired / evicted
 *                        ▲                                               │
 *                        └──────warmed / restored◀── rebuilding ◀────────┘ (the lease holder)
 *
 * `tokens` counts in the provider's own units: the prompt tokens it reported for the request that
 * left this prefix cached, so that detection compares like with like. Handles live in `C/cache`,
 * last writer wins per key; the rebuild lease is the server's (core's rebuild-lease.ts), `lease` here
 * only mirrors it for readers such as the inspector.
 */

/** The identity fields of a handle: core's checkpoint key plus the entry the prefix ends at. */
export type HandleIdentity = Pick<CheckpointHandle, "provider" | "model" | "rendererVersion" | "renderContextHash" | "entry" | "prefixHash">;

export interface WarmFacts {
  readonly now: number;
  /** Expected lifetime from now (ms); Infinity: no TTL (self-hosted LRU). */
  readonly ttlMs: number;
  readonly tokens: number;
  readonly route?: string;
  readonly saved?: CheckpointHandle["saved"];
}

const expiry = (now: number, ttlMs: number): number | null => (Number.isFinite(ttlMs) ? now + ttlMs : null);

export const observedHandle = (id: HandleIdentity, f: WarmFacts, prev?: CheckpointHandle): CheckpointHandle => ({
  ...id,
  tokens: f.tokens,
  createdAt: prev && prev.status === "warm" ? prev.createdAt : f.now,
  lastUsedAt: f.now,
  expiresAt: expiry(f.now, f.ttlMs),
  status: "warm",
  origin: prev && prev.status === "warm" ? prev.origin : "observed",
  ...(f.route !== undefined ? { route: f.route } : prev?.route !== undefined ? { route: prev.route } : {}),
  ...(f.saved ? { saved: f.saved } : prev?.saved ? { saved: prev.saved } : {}),
});

/** A hit or a keep-warm ping: the prefix was used, its TTL restarts (where hits refresh). */
export const touched = (h: CheckpointHandle, now: number, ttlMs: number, refreshOnHit: boolean): CheckpointHandle => ({
  ...h,
  lastUsedAt: now,
  expiresAt: refreshOnHit ? expiry(now, ttlMs) : h.expiresAt,
});

export const lapsed = (h: CheckpointHandle, cause: { reason: HandleCause; at: number; expected?: number; got?: number; message?: string }): CheckpointHandle => {
  const { lease: _lease, ...rest } = h;
  return { ...rest, status: cause.reason === "expired" ? "expired" : "evicted", cause: { ...cause } };
};

export const rebuilding = (h: CheckpointHandle, holder: string, until: number): CheckpointHandle => ({ ...h, status: "rebuilding", lease: { holder, until } });

export const rebuilt = (h: CheckpointHandle, origin: Exclude<HandleOrigin, "observed">, f: WarmFacts): CheckpointHandle => {
  const { lease: _lease, cause: _cause, ...rest } = h;
  return {
    ...rest,
    tokens: f.tokens,
    createdAt: f.now,
    lastUsedAt: f.now,
    expiresAt: expiry(f.now, f.ttlMs),
    status: "warm",
    origin,
    ...(f.route !== undefined ? { route: f.route } : {}),
    ...(f.saved ? { saved: f.saved } : {}),
  };
};

/** Whether the handle is still warm by its own prediction (expiry not passed). */
export const isLive = (h: CheckpointHandle, now: number): boolean => h.status === "warm" && (h.expiresAt === null || h.expiresAt > now);

/**
 * The handle a request over `path` extends: among the handles of the same provider, model, renderer
 * version and render context whose prefix ends on the path (`prefixHashes`: h(E) of every entry of
 * the transcript, root first), the one ending furthest along. Handles of other branches that share the
 * prefix count too: a fork shares its base's cache.
 */
export const handleOnPath = (
  handles: Iterable<CheckpointHandle>,
  ctx: Pick<CheckpointHandle, "provider" | "model" | "rendererVersion" | "renderContextHash">,
  prefixHashes: readonly PrefixHash[],
  filter: (h: CheckpointHandle) => boolean = () => true,
): CheckpointHandle | undefined => {
  const depth = new Map<string, number>();
  prefixHashes.forEach((p, i) => depth.set(p, i));
  let best: CheckpointHandle | undefined;
  let bestDepth = -1;
  for (const h of handles) {
    if (h.provider !== ctx.provider || h.model !== ctx.model || h.rendererVersion !== ctx.rendererVersion || h.renderContextHash !== ctx.renderContextHash) continue;
    const d = depth.get(h.prefixHash);
    if (d === undefined || d <= bestDepth || !filter(h)) continue;
    best = h;
    bestDepth = d;
  }
  return best;
};

/** Handles made redundant by `h`: same cache context, prefix strictly inside `h`'s path (the provider holds them as part of it). */
export const supersededBy = (
  handles: Iterable<CheckpointHandle>,
  h: CheckpointHandle,
  prefixHashes: readonly PrefixHash[],
): string[] => {
  const inside = new Set<string>(prefixHashes);
  inside.delete(h.prefixHash);
  const out: string[] = [];
  for (const o of handles) {
    if (o.provider !== h.provider || o.model !== h.model || o.rendererVersion !== h.rendererVersion || o.renderContextHash !== h.renderContextHash) continue;
    if (inside.has(o.prefixHash)) out.push(checkpointKey(o));
  }
  return out;
};

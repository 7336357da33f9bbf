import * as Y from "yjs";
import type { PrefixHash } from "./hash.js";
import { randomId, type EntryId } from "./ids.js";
import { isJsonObject } from "./json.js";
import { appendTo, LOCAL_ORIGIN } from "./log.js";
import { CACHE_ROOTS } from "./names.js";
import { decideLease, type LeaseAnswer, type LeaseRequest, type RebuildLease } from "./rebuild-lease.js";

export type HandleStatus = "warm" | "expired" | "evicted" | "rebuilding";
export type HandleOrigin = "observed" | "warmed" | "restored";
/** Why a handle stopped being warm (replay's detection). */
export type HandleCause = "evicted" | "expired" | "prefix-changed" | "state-gone";
/** What a model request was for: a user/agent turn, or replay keeping a cache in step. */
export type UsagePurpose = "turn" | "warmup" | "rebuild" | "prewarm";
export const USAGE_PURPOSES: readonly UsagePurpose[] = ["turn", "warmup", "rebuild", "prewarm"];

/** Provider P, model M, under render context R, holds the KV state of the prefix ending at entry E. */
export interface CheckpointHandle {
  readonly provider: string;
  readonly model: string;
  readonly rendererVersion: string;
  readonly renderContextHash: string;
  readonly entry: EntryId;
  readonly prefixHash: PrefixHash;
  readonly tokens: number;
  /** Route, slot or cache id (Gemini cache name, llama.cpp slot file, prompt_cache_key...). */
  readonly route?: string;
  readonly createdAt: number;
  readonly lastUsedAt: number;
  /** Expected expiry (a guess for every provider but explicit caches); null when unknown. */
  readonly expiresAt: number | null;
  readonly status: HandleStatus;
  readonly origin: HandleOrigin;
  /** While `rebuilding`: who rebuilds, until when (informative; the lease itself is the server's, root `leases`). */
  readonly lease?: { readonly holder: string; readonly until: number };
  /** For `evicted`/`expired`: what replay saw (expected vs reported cached tokens) and when. */
  readonly cause?: {
    readonly reason: HandleCause;
    readonly at: number;
    readonly expected?: number;
    readonly got?: number;
    readonly message?: string;
  };
  /** A saved KV state of this prefix (self-hosted engines): restoring it is the cheap rebuild. */
  readonly saved?: {
    readonly name: string;
    readonly tokens: number;
    readonly at: number;
    /** The engine's hash of the saved tokens (packages/local-engine): a slot holding exactly them shows it. */
    readonly hash?: string;
  };
}

/** One model request: what it cost and how much of it the cache served. */
export interface UsageRecord {
  readonly id: string;
  readonly time: number;
  readonly device: string;
  readonly provider: string;
  readonly model: string;
  readonly entry?: EntryId;
  readonly branch?: string;
  readonly promptTokens: number;
  readonly cachedTokens: number;
  readonly expectedCachedTokens: number;
  readonly cacheWriteTokens: number;
  readonly outputTokens: number;
  readonly ttftMs?: number;
  readonly totalMs?: number;
  readonly renderContextHash: string;
  /** For a miss: the first segment that differed and why. */
  readonly miss?: { readonly segment: string; readonly reason: string };
  /** True for requests made by replay to rebuild a cache (older records; `purpose` says it for new ones). */
  readonly rebuild?: boolean;
  /** What the request was for (absent in older records: a turn, or a rebuild when `rebuild` is set). */
  readonly purpose?: UsagePurpose;
  /** Money the request cost, in USD at the provider's published prices, when known. */
  readonly costUsd?: number;
}

/** The purpose of a usage record, also for records written before `purpose` existed. */
export const usagePurpose = (r: Pick<UsageRecord, "purpose" | "rebuild">): UsagePurpose => r.purpose ?? (r.rebuild ? "rebuild" : "turn");

/** The key of a checkpoint: (provider, model, renderer version, render-context hash, h(E)). */
export const checkpointKey = (
  h: Pick<CheckpointHandle, "provider" | "model" | "rendererVersion" | "renderContextHash" | "prefixHash">,
): string => [h.provider, h.model, h.rendererVersion, h.renderContextHash, h.prefixHash].join("|");

const STATUSES: readonly string[] = ["warm", "expired", "evicted", "rebuilding"];
const ORIGINS: readonly string[] = ["observed", "warmed", "restored"];
const CAUSES: readonly string[] = ["evicted", "expired", "prefix-changed", "state-gone"];
const num = (v: unknown) => typeof v === "number" && Number.isFinite(v);
const str = (v: unknown) => typeof v === "string";

export const handleProblem = (key: string, v: unknown): string | undefined => {
  if (!isJsonObject(v)) return "handle must be an object";
  for (const k of ["provider", "model", "rendererVersion", "renderContextHash", "entry", "prefixHash"] as const)
    if (!str(v[k])) return `handle ${k} must be a string`;
  for (const k of ["tokens", "createdAt", "lastUsedAt"] as const) if (!num(v[k])) return `handle ${k} must be a number`;
  if (v.expiresAt !== null && !num(v.expiresAt)) return "handle expiresAt must be a number or null";
  if (!STATUSES.includes(v.status as string)) return "handle status is invalid";
  if (!ORIGINS.includes(v.origin as string)) return "handle origin is invalid";
  if (checkpointKey(v as unknown as CheckpointHandle) !== key) return "handle stored under the wrong key";
  if (v.route !== undefined && !str(v.route)) return "handle route must be a string";
  if (v.lease !== undefined && (!isJsonObject(v.lease) || !str(v.lease.holder) || !num(v.lease.until))) return "handle lease must be {holder, until}";
  if (v.cause !== undefined) {
    const c = v.cause;
    if (!isJsonObject(c) || !CAUSES.includes(c.reason as string) || !num(c.at)) return "handle cause must be {reason, at, ...}";
    if ((c.expected !== undefined && !num(c.expected)) || (c.got !== undefined && !num(c.got))) return "handle cause expected/got must be numbers";
    if (c.message !== undefined && !str(c.message)) return "handle cause message must be a string";
  }
  if (v.saved !== undefined && (!isJsonObject(v.saved) || !str(v.saved.name) || !num(v.saved.tokens) || !num(v.saved.at) || (v.saved.hash !== undefined && !str(v.saved.hash))))
    return "handle saved must be {name, tokens, at, hash?}";
  return undefined;
};

export const usageProblem = (v: unknown): string | undefined => {
  if (!isJsonObject(v)) return "usage record must be an object";
  for (const k of ["id", "device", "provider", "model", "renderContextHash"] as const)
    if (!str(v[k])) return `usage ${k} must be a string`;
  for (const k of ["time", "promptTokens", "cachedTokens", "expectedCachedTokens", "cacheWriteTokens", "outputTokens"] as const)
    if (!num(v[k])) return `usage ${k} must be a number`;
  if (v.purpose !== undefined && !(USAGE_PURPOSES as readonly unknown[]).includes(v.purpose)) return `usage purpose must be one of ${USAGE_PURPOSES.join(", ")}`;
  if (v.rebuild !== undefined && typeof v.rebuild !== "boolean") return "usage rebuild must be a boolean";
  if (v.costUsd !== undefined && !num(v.costUsd)) return "usage costUsd must be a number";
  return undefined;
};

/** Typed access to `C/cache`: checkpoint handles (last writer wins per handle) and usage records. */
export interface CacheState {
  readonly doc: Y.Doc;
  handles(): CheckpointHandle[];
  handle(key: string): CheckpointHandle | undefined;
  /** Handles for one prefix hash (any provider). */
  handlesFor(prefixHash: PrefixHash): CheckpointHandle[];
  putHandle(h: CheckpointHandle): string;
  removeHandle(key: string): void;
  /**
   * Take the rebuild lease on a handle: succeeds (returns true) only if no other holder has a live lease.
   * Devices that see the same eviction call this; one pays for the rebuild.
   */
  tryLease(key: string, holder: string, now: number, ttlMs: number): boolean;
  /** The server-kept rebuild lease of a checkpoint key (root `leases`), as last synced. */
  rebuildLease(key: string): RebuildLease | undefined;
  /**
   * Apply a lease request to this document's `leases` (compare-and-set, see rebuild-lease.ts). Only the
   * sync server calls this, inside the document's write queue: that is what makes the decision single.
   */
  decideRebuildLease(req: LeaseRequest, now: number, graceMs: number): LeaseAnswer;
  recordUsage(r: Omit<UsageRecord, "id"> & { id?: string }): UsageRecord;
  usage(): UsageRecord[];
  /** Delete everything (derived state: replay rebuilds it). The log is not touched. */
  clear(): void;
  onChange(listener: () => void): () => void;
}

export const openCache = (doc: Y.Doc): CacheState => {
  const yHandles = doc.getMap<CheckpointHandle>(CACHE_ROOTS.handles);
  const yUsage = doc.getArray<UsageRecord>(CACHE_ROOTS.usage);
  const yLeases = doc.getMap<RebuildLease>(CACHE_ROOTS.leases);
  const tx = (fn: () => void) => doc.transact(fn, LOCAL_ORIGIN);
  return {
    doc,
    handles: () => [...yHandles.values()],
    handle: (key) => yHandles.get(key),
    handlesFor: (h) => [...yHandles.values()].filter((x) => x.prefixHash === h),
    putHandle(h) {
      const key = checkpointKey(h);
      tx(() => yHandles.set(key, h));
      return key;
    },
    removeHandle: (key) => tx(() => yHandles.delete(key)),
    tryLease(key, holder, now, ttlMs) {
      const h = yHandles.get(key);
      if (!h) return false;
      if (h.status === "rebuilding" && h.lease && h.lease.holder !== holder && h.lease.until > now) return false;
      tx(() => yHandles.set(key, { ...h, status: "rebuilding", lease: { holder, until: now + ttlMs } }));
      return true;
    },
    rebuildLease: (key) => yLeases.get(key),
    decideRebuildLease(req, now, graceMs) {
      const { answer, next } = decideLease(yLeases.get(req.key), req, now, graceMs);
      if (next) tx(() => yLeases.set(req.key, next));
      return answer;
    },
    recordUsage(r) {
      const rec: UsageRecord = { ...r, id: r.id ?? `u${randomId(15)}` };
      tx(() => appendTo(yUsage, [rec]));
      return rec;
    },
    usage: () => yUsage.toArray(),
    clear: () =>
      tx(() => {
        for (const k of [...yHandles.keys()]) yHandles.delete(k);
        yUsage.delete(0, yUsage.length);
      }),
    onChange(listener) {
      const l = () => listener();
      doc.on("update", l);
      return () => doc.off("update", l);
    },
  };
};

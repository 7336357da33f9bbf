import * as Y from "yjs";
import type { PrefixHash } from "./hash.js";
import { randomId, type EntryId } from "./ids.js";
import { isJsonObject } from "./json.js";
import { appendTo, LOCAL_ORIGIN } from "./log.js";
import { CACHE_ROOTS } from "./names.js";

export type HandleStatus = "warm" | "expired" | "evicted" | "rebuilding";
export type HandleOrigin = "observed" | "warmed" | "restored";

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
  /** While `rebuilding`: who rebuilds, until when (other devices wait instead of paying twice). */
  readonly lease?: { readonly holder: string; readonly until: number };
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
  /** True for requests made by replay to rebuild a cache. */
  readonly rebuild?: boolean;
}

/** The key of a checkpoint: (provider, model, renderer version, render-context hash, h(E)). */
export const checkpointKey = (
  h: Pick<CheckpointHandle, "provider" | "model" | "rendererVersion" | "renderContextHash" | "prefixHash">,
): string => [h.provider, h.model, h.rendererVersion, h.renderContextHash, h.prefixHash].join("|");

const STATUSES: readonly string[] = ["warm", "expired", "evicted", "rebuilding"];
const ORIGINS: readonly string[] = ["observed", "warmed", "restored"];
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
  return undefined;
};

export const usageProblem = (v: unknown): string | undefined => {
  if (!isJsonObject(v)) return "usage record must be an object";
  for (const k of ["id", "device", "provider", "model", "renderContextHash"] as const)
    if (!str(v[k])) return `usage ${k} must be a string`;
  for (const k of ["time", "promptTokens", "cachedTokens", "expectedCachedTokens", "cacheWriteTokens", "outputTokens"] as const)
    if (!num(v[k])) return `usage ${k} must be a number`;
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
  recordUsage(r: Omit<UsageRecord, "id"> & { id?: string }): UsageRecord;
  usage(): UsageRecord[];
  /** Delete everything (derived state: replay rebuilds it). The log is not touched. */
  clear(): void;
  onChange(listener: () => void): () => void;
}

export const openCache = (doc: Y.Doc): CacheState => {
  const yHandles = doc.getMap<CheckpointHandle>(CACHE_ROOTS.handles);
  const yUsage = doc.getArray<UsageRecord>(CACHE_ROOTS.usage);
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

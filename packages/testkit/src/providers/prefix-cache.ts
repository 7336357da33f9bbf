import { hash53 } from "./hash.js";
import { countTokens } from "./tokenizer.js";

/**
 * The prompt of a request as the simulators see it: a list of segments (a tool, the system
 * prompt, one message or content block...) in the order the provider builds its prefix. A
 * segment's key is its bytes without cache markers (`cache_control`, `prompt_cache_breakpoint`
 * move forward every turn; what they mark does not). Cache entries sit at segment ends: a hit is
 * counted up to the last cached segment end, never inside a segment.
 */
export interface Segment {
  readonly key: string;
  readonly tokens: number;
}

export interface Chain {
  /** hashes[i]: the prefix ending after segment i (scoped: model, account...). */
  readonly hashes: readonly string[];
  /** cum[i]: tokens through segment i. */
  readonly cum: readonly number[];
  readonly total: number;
}

export interface CacheEntry {
  readonly tokens: number;
  readonly writtenAt: number;
  lastHitAt: number;
  expiresAt: number;
  readonly ttlMs: number;
  readonly refreshOnHit: boolean;
}

export interface PrefixCache {
  /** The segments' chain under a scope (entries of another scope never match). */
  chain(scope: string, segments: readonly Segment[]): Chain;
  /** Index of the deepest live entry among hashes[from..to] (inclusive, searching down from `to`), or -1. */
  deepest(chain: Chain, now: number, to?: number, from?: number): number;
  /** Write (or extend the life of) the entry at hashes[i]. */
  write(chain: Chain, i: number, now: number, ttlMs: number, opts?: { refreshOnHit?: boolean }): void;
  /** A hit at hashes[i]: refresh entries 0..i that refresh on hit. */
  hit(chain: Chain, i: number, now: number): void;
  get(hash: string, now: number): CacheEntry | undefined;
  readonly size: number;
  clear(): void;
}

const memo = new Map<string, { h: number; tokens: number }>();
const MEMO_LIMIT = 200_000;

/** Tokens and hash of a segment key, memoized (the same messages come back every turn). */
export const segment = (key: string): Segment => {
  let m = memo.get(key);
  if (!m) {
    if (memo.size > MEMO_LIMIT) memo.clear();
    m = { h: hash53(key), tokens: countTokens(key) };
    memo.set(key, m);
  }
  return { key, tokens: m.tokens };
};

export const createPrefixCache = (): PrefixCache => {
  const entries = new Map<string, CacheEntry>();
  const live = (e: CacheEntry | undefined, now: number): e is CacheEntry => e !== undefined && now < e.expiresAt;
  let sweepAt = 50_000;
  const sweep = (now: number) => {
    if (entries.size < sweepAt) return;
    for (const [k, e] of entries) if (!live(e, now)) entries.delete(k);
    sweepAt = Math.max(50_000, entries.size * 2);
  };
  return {
    chain(scope, segments) {
      const hashes: string[] = [];
      const cum: number[] = [];
      let h = hash53(scope).toString(36);
      let total = 0;
      for (const s of segments) {
        const m = memo.get(s.key) ?? { h: hash53(s.key), tokens: s.tokens };
        h = hash53(`${h}:${m.h}`, 7).toString(36);
        total += s.tokens;
        hashes.push(h);
        cum.push(total);
      }
      return { hashes, cum, total };
    },
    deepest(chain, now, to = chain.hashes.length - 1, from = 0) {
      for (let i = Math.min(to, chain.hashes.length - 1); i >= Math.max(0, from); i--) if (live(entries.get(chain.hashes[i]!), now)) return i;
      return -1;
    },
    write(chain, i, now, ttlMs, opts = {}) {
      const hash = chain.hashes[i];
      if (hash === undefined) return;
      sweep(now);
      const old = entries.get(hash);
      if (live(old, now)) {
        old.expiresAt = Math.max(old.expiresAt, now + ttlMs);
        old.lastHitAt = now;
        return;
      }
      entries.set(hash, { tokens: chain.cum[i]!, writtenAt: now, lastHitAt: now, expiresAt: now + ttlMs, ttlMs, refreshOnHit: opts.refreshOnHit ?? true });
    },
    hit(chain, i, now) {
      for (let j = i; j >= 0; j--) {
        const e = entries.get(chain.hashes[j]!);
        if (!live(e, now)) continue;
        e.lastHitAt = now;
        if (e.refreshOnHit) e.expiresAt = Math.max(e.expiresAt, now + e.ttlMs);
      }
    },
    get(hash, now) {
      const e = entries.get(hash);
      return live(e, now) ? e : undefined;
    },
    get size() {
      return entries.size;
    },
    clear: () => entries.clear(),
  };
};

/** Cached tokens as the provider counts them: 0 below the minimum, then in `granularity` steps (OpenAI: 1024 + 128·k). */
export const quantize = (hit: number, min: number, granularity: number): number => (hit < min ? 0 : min + Math.floor((hit - min) / granularity) * granularity);

export interface AutoCacheResult {
  /** Tokens served from cache (quantized). */
  readonly cached: number;
  /** Tokens newly written (0 when the prompt is below the minimum). */
  readonly written: number;
  readonly hitIndex: number;
}

/**
 * Automatic prefix caching (OpenAI, DeepSeek, Gemini implicit): the longest live cached prefix is
 * read, then every segment end of this prompt at or above the minimum is written.
 */
export const autoCache = (
  cache: PrefixCache,
  chain: Chain,
  now: number,
  o: { readonly min: number; readonly granularity: number; readonly ttlMs: number; readonly refreshOnHit: boolean },
): AutoCacheResult => {
  const hitIndex = cache.deepest(chain, now);
  const cached = hitIndex >= 0 ? quantize(chain.cum[hitIndex]!, o.min, o.granularity) : 0;
  if (hitIndex >= 0) cache.hit(chain, hitIndex, now);
  if (chain.total < o.min) return { cached, written: 0, hitIndex };
  const opts = { refreshOnHit: o.refreshOnHit };
  for (let i = Math.max(0, hitIndex + 1); i < chain.hashes.length; i++) if (chain.cum[i]! >= o.min) cache.write(chain, i, now, o.ttlMs, opts);
  return { cached, written: chain.total - cached, hitIndex };
};

import type { CheckpointHandle, HandleCause } from "@ctxsync/core";

/**
 * Detect: after each response, compare the cached tokens the provider reported with what the live
 * handle promised (DESIGN.md §4). Pure: the caller supplies the handle, the usage and, when it has
 * one, compile's explanation of how this request's prefix relates to the previous one.
 */

/** What a provider's cache counts look like (from providers' facts). */
export interface CacheGranularity {
  /** Below this many prompt tokens nothing is cached. */
  readonly minCacheableTokens: number;
  /** Cached counts come in multiples of this (OpenAI 128). */
  readonly granularity: number;
}

export interface DetectInput {
  /** The warm handle whose prefix this request extends (undefined: nothing was promised). */
  readonly handle: CheckpointHandle | undefined;
  readonly promptTokens: number;
  readonly cachedTokens: number;
  readonly now: number;
  readonly cache: CacheGranularity;
  /**
   * Compile's explanation against the request that made the handle (`explain(prev, next).reason`);
   * anything but extends / identical / params-changed / server-state means the prefix itself changed.
   */
  readonly explanation?: { readonly reason: string; readonly message?: string };
}

export type Detection =
  | { readonly outcome: "cold"; readonly expected: 0; readonly got: number }
  | { readonly outcome: "hit"; readonly expected: number; readonly got: number }
  | { readonly outcome: "miss"; readonly cause: HandleCause; readonly expected: number; readonly got: number; readonly message: string };

const SAME_PREFIX = new Set(["extends", "identical", "params-changed", "server-state"]);

/** Cached tokens a provider should report for a request over a prefix of `prefixTokens` of its `promptTokens`. */
export const expectedCached = (prefixTokens: number, promptTokens: number, c: CacheGranularity): number => {
  const n = Math.min(prefixTokens, promptTokens);
  if (n < c.minCacheableTokens) return 0;
  const g = Math.max(1, c.granularity);
  return Math.floor(n / g) * g;
};

/**
 * How far below the promise a report may fall and still be a hit: one granularity step, plus 2 % of
 * the promise — a JSON request's last bytes before the breakpoint may tokenize differently once the
 * next turn follows them, and a template engine may re-evaluate the last token.
 */
export const tolerance = (expected: number, c: CacheGranularity): number => Math.max(c.granularity, 32) + Math.ceil(expected * 0.02);

export const detect = (i: DetectInput): Detection => {
  const h = i.handle;
  if (!h || h.status !== "warm") return { outcome: "cold", expected: 0, got: i.cachedTokens };
  const expected = expectedCached(h.tokens, i.promptTokens, i.cache);
  if (expected === 0 || i.cachedTokens >= expected - tolerance(expected, i.cache)) return { outcome: "hit", expected, got: i.cachedTokens };
  const got = i.cachedTokens;
  if (i.explanation && !SAME_PREFIX.has(i.explanation.reason))
    return {
      outcome: "miss",
      cause: "prefix-changed",
      expected,
      got,
      message: i.explanation.message ?? `the prefix changed (${i.explanation.reason})`,
    };
  if (h.expiresAt !== null && i.now >= h.expiresAt)
    return { outcome: "miss", cause: "expired", expected, got, message: `expected ${expected} cached tokens, got ${got}: the cache expired (TTL passed ${Math.round((i.now - h.expiresAt) / 1000)} s before)` };
  return { outcome: "miss", cause: "evicted", expected, got, message: `expected ${expected} cached tokens, got ${got}: the provider evicted the prefix before its expected expiry` };
};

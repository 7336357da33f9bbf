import type { WarmEconomics } from "./keep-warm.js";

/**
 * Prices and cache rules as providers' `facts.ts` states them (structurally: `ModelFacts` fits),
 * turned into the numbers the keep-warm decision needs.
 */
export interface PriceFacts {
  /** USD per million tokens. */
  readonly input: number;
  readonly cachedRead: number;
  readonly cacheWrite5m: number;
  readonly cacheWrite1h: number;
  readonly output: number;
  /** Explicit cache storage, USD per million tokens per hour. */
  readonly storagePerHour?: number;
}

export interface CacheRuleFacts {
  readonly ttlMs: { readonly default: number } & Readonly<Record<string, number>>;
  readonly refreshOnHit: boolean;
  readonly minCacheableTokens: number;
  readonly granularity: number;
  readonly warmOutputTokens: number;
  readonly explicitCache?: boolean;
}

export interface ProviderFacts {
  readonly prices: PriceFacts;
  readonly cache: CacheRuleFacts;
}

const M = 1_000_000;

/** The TTL of a cache class (e.g. Anthropic "1h"); the default class when unnamed or unknown. */
export const ttlOf = (f: ProviderFacts, ttlClass?: string): number => (ttlClass !== undefined ? f.cache.ttlMs[ttlClass] : undefined) ?? f.cache.ttlMs.default;

/** Per-token price a cold prefix pays: its cache write (equal to the input price where writes cost nothing extra). */
export const missPrice = (p: PriceFacts, ttlClass?: string): number => Math.max(p.input, ttlClass === "1h" ? p.cacheWrite1h : p.cacheWrite5m);

/**
 * A keep-alive ping: the last request again with the smallest output allowed, read from cache.
 * `uncachedTail`: tokens of the ping past the cached prefix (e.g. below OpenAI's 128-token step).
 */
export const pingEconomics = (f: ProviderFacts, tokens: number, opts: { ttlClass?: string; uncachedTail?: number } = {}): WarmEconomics => {
  const p = f.prices;
  return {
    benefit: (tokens * (missPrice(p, opts.ttlClass) - p.cachedRead)) / M,
    keepCost: (tokens * p.cachedRead + (opts.uncachedTail ?? 0) * p.input + f.cache.warmOutputTokens * p.output) / M,
    windowMs: f.cache.refreshOnHit ? ttlOf(f, opts.ttlClass) : 0,
  };
};

/**
 * An explicit cache (Gemini cachedContents): keeping it is paying storage for one more window
 * (`windowMs`), and a cold prefix pays full input again.
 */
export const extendEconomics = (f: ProviderFacts, tokens: number, windowMs: number): WarmEconomics => {
  const p = f.prices;
  return {
    benefit: (tokens * (p.input - p.cachedRead)) / M,
    keepCost: (tokens * (p.storagePerHour ?? 0) * (windowMs / 3_600_000)) / M,
    windowMs,
  };
};

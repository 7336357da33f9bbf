import type { NormalizedUsage, ProviderId } from "./types.js";

/**
 * One table of provider facts — cache TTLs, minimum cacheable lengths, hit granularity, the
 * smallest output a warm call may ask for, and prices — read by the replay policy and by the
 * simulators alike. Every value names its source (PROVIDERS.md section, and the page it cites).
 * Prices change month to month: they are a snapshot, in USD per million tokens.
 */

export type ProviderFamily = "openai" | "anthropic" | "gemini" | "deepseek" | "local";

/** How sure a value is: [SDK]/[doc] as PROVIDERS.md's key, `3p` third-party, `unconfirmed`, `inference`. */
export type Confidence = "sdk" | "doc" | "3p" | "unconfirmed" | "inference";
export interface Source {
  readonly ref: string;
  readonly confidence: Confidence;
}

export interface Prices {
  /** Uncached input. */
  readonly input: number;
  /** Input served from cache (and Anthropic refreshes). */
  readonly cachedRead: number;
  /** Input written to cache, per token written (the whole price, not the surcharge). */
  readonly cacheWrite5m: number;
  /** Written with the 1 h TTL (Anthropic); the same as `cacheWrite5m` where there is one tier. */
  readonly cacheWrite1h: number;
  readonly output: number;
  /** Explicit cache storage per million tokens per hour (Gemini). */
  readonly storagePerHour?: number;
}

export interface CacheFacts {
  /** TTL classes in ms; `default` is the class used when a request names none. */
  readonly ttlMs: { readonly default: number } & Readonly<Record<string, number>>;
  /** A hit restarts the TTL. */
  readonly refreshOnHit: boolean;
  /** The latest an unused prefix is evicted, where the provider gives a range (`ttlMs.default` is the earliest): OpenAI in-memory 5–10 min, always within 1 h of last use. */
  readonly idleMaxMs?: number;
  /** Below this many prompt tokens nothing is cached (and no error is returned). */
  readonly minCacheableTokens: number;
  /** Cached counts come in multiples of this above the minimum (OpenAI: 128). */
  readonly granularity: number;
  /** The smallest output limit a warm/rebuild call may set. */
  readonly warmOutputTokens: number;
  /** Anthropic: at most this many `cache_control` breakpoints, each looking back this many blocks. */
  readonly maxBreakpoints?: number;
  readonly lookbackBlocks?: number;
  /** Explicit cache resources exist (Gemini cachedContents). */
  readonly explicitCache?: boolean;
}

export interface ModelFacts {
  readonly family: ProviderFamily;
  /** The model ids this row covers (first matching row wins; the last row of a family is its default). */
  readonly models: RegExp;
  readonly label: string;
  readonly prices: Prices;
  readonly cache: CacheFacts;
  readonly sources: Readonly<Record<string, Source>>;
}

const MIN = 60_000;
const HOUR = 60 * MIN;

const P = (input: number, cachedRead: number, cacheWrite5m: number, cacheWrite1h: number, output: number, storagePerHour?: number): Prices => ({
  input,
  cachedRead,
  cacheWrite5m,
  cacheWrite1h,
  output,
  ...(storagePerHour !== undefined ? { storagePerHour } : {}),
});

const OPENAI_CACHE: CacheFacts = {
  // "usually cleared within 5–10 minutes of inactivity and always within 1 hour of last use": 5 min is the safe lower bound.
  ttlMs: { default: 5 * MIN, in_memory: 5 * MIN, "24h": 24 * HOUR },
  refreshOnHit: true,
  idleMaxMs: HOUR,
  minCacheableTokens: 1024,
  granularity: 128,
  warmOutputTokens: 1,
};
const OPENAI_SOURCES: Record<string, Source> = {
  ttl: { ref: "PROVIDERS.md §1: learn.microsoft.com/azure/foundry/openai/how-to/prompt-caching (cleared after 5–10 min idle, always within 1 h of last use)", confidence: "doc" },
  minCacheableTokens: { ref: "PROVIDERS.md §1: developers.openai.com/docs/guides/prompt-caching (≥1024)", confidence: "doc" },
  granularity: { ref: "PROVIDERS.md §1: openai-cookbook Prompt_Caching_201 (128-token increments, models before gpt-5.6)", confidence: "doc" },
  warmOutputTokens: { ref: "PROVIDERS.md §1: max_completion_tokens: 1 (inference)", confidence: "inference" },
  responsesWarmOutputTokens: { ref: "PROVIDERS.md §8: Responses minimum max_output_tokens 16", confidence: "unconfirmed" },
  cacheWrite: { ref: "PROVIDERS.md §1: writes cost nothing extra before gpt-5.6; 1.25× input from gpt-5.6", confidence: "doc" },
};
const ANTHROPIC_CACHE = (minCacheableTokens: number): CacheFacts => ({
  ttlMs: { default: 5 * MIN, "5m": 5 * MIN, "1h": HOUR },
  refreshOnHit: true,
  minCacheableTokens,
  granularity: 1,
  warmOutputTokens: 1,
  maxBreakpoints: 4,
  lookbackBlocks: 20,
});
const ANTHROPIC_SOURCES: Record<string, Source> = {
  ttl: { ref: "PROVIDERS.md §0/§3.1: 5 min default or 1 h, refreshed on every hit ([SDK] CacheControlEphemeral)", confidence: "sdk" },
  prices: { ref: "PROVIDERS.md §3.4: write 5m 1.25×, 1h 2×, read 0.1× input; docs.anthropic.com/en/docs/about-claude/pricing", confidence: "doc" },
  minCacheableTokens: { ref: "PROVIDERS.md §3.2 (anthropic-sdk-python #1194 quoting the docs; Opus 5 from whats-new-opus-5)", confidence: "3p" },
  breakpoints: { ref: "PROVIDERS.md §3.1: ≤4 breakpoints, ~20-block lookback", confidence: "3p" },
  warmOutputTokens: { ref: "PROVIDERS.md §3.6: max_tokens 1–8 warm calls; not with thinking enabled (budget ≥1024 < max_tokens)", confidence: "3p" },
};
const GEMINI_CACHE = (minCacheableTokens: number): CacheFacts => ({
  // Explicit caches live until their expireTime (default 1 h on Vertex; only caches.update moves it);
  // implicit caching's lifetime is unspecified: modelled like OpenAI's automatic cache, idle time refreshed on use.
  ttlMs: { default: HOUR, explicit: HOUR, implicit: 5 * MIN },
  refreshOnHit: true,
  minCacheableTokens,
  granularity: 1,
  warmOutputTokens: 1,
  explicitCache: true,
});
const GEMINI_SOURCES: Record<string, Source> = {
  ttl: { ref: "PROVIDERS.md §4: explicit ttl/expireTime, Vertex default 60 min; Gemini API default 1 h UNCONFIRMED", confidence: "doc" },
  implicitTtl: { ref: "PROVIDERS.md §4: implicit caching lifetime unspecified; 5 min idle, refreshed on use, assumed (like OpenAI's automatic cache)", confidence: "inference" },
  refreshOnHit: { ref: "implicit hits refresh (inference); explicit caches expire at expireTime, hit or not (PROVIDERS.md §4)", confidence: "inference" },
  minCacheableTokens: { ref: "PROVIDERS.md §4: ai.google.dev/gemini-api/docs/caching (2.5 Flash 1024, 2.5 Pro 4096, 3 Pro 4096, 3 Flash 1024)", confidence: "doc" },
  cachedRead: { ref: "PROVIDERS.md §4: implicit hits 90% discount (Vertex overview)", confidence: "doc" },
  prices: { ref: "discuss.ai.google.dev/t/…/107349 (2.5 Pro $1.25/$10, storage $4.50/MTok·h); deploybase.ai gemini-2.5-pricing (2.5 Flash $0.30/$2.50); hivebook.wiki (Flash storage $1.00/MTok·h)", confidence: "3p" },
};

/** The table. Within a family the first row whose `models` matches wins; the last row is the default. */
export const FACTS: readonly ModelFacts[] = [
  // ---- OpenAI (Chat Completions and Responses share the cache) ----
  {
    family: "openai",
    models: /^gpt-5\.(6|[7-9])|^gpt-[6-9]/,
    label: "gpt-5.6+",
    // gpt-5.6 prices are not in the sources: gpt-5.5's, with writes at 1.25× input (PROVIDERS.md §1).
    prices: P(5, 0.5, 6.25, 6.25, 30),
    cache: { ...OPENAI_CACHE, ttlMs: { default: 30 * MIN, "30m": 30 * MIN, "24h": 24 * HOUR }, granularity: 1 },
    sources: {
      ...OPENAI_SOURCES,
      ttl: { ref: "PROVIDERS.md §1: prompt_cache_options.ttl \"30m\" minimum ([SDK] PromptCacheOptions)", confidence: "sdk" },
      granularity: { ref: "PROVIDERS.md §1: explicit breakpoints are not rounded to a token block (inference)", confidence: "inference" },
      prices: { ref: "gpt-5.5 prices (morphllm.com/openai-api-pricing, June 2026) with 1.25× writes; gpt-5.6 prices unpublished in the sources", confidence: "unconfirmed" },
    },
  },
  {
    family: "openai",
    models: /^gpt-5\.5/,
    label: "gpt-5.5",
    prices: P(5, 0.5, 5, 5, 30),
    cache: OPENAI_CACHE,
    sources: { ...OPENAI_SOURCES, prices: { ref: "morphllm.com/openai-api-pricing (June 2026): $5 / $0.50 cached / $30", confidence: "3p" } },
  },
  {
    family: "openai",
    models: /^(gpt-4o|chatgpt-4o)/,
    label: "gpt-4o",
    prices: P(2.5, 1.25, 2.5, 2.5, 10),
    cache: OPENAI_CACHE,
    sources: { ...OPENAI_SOURCES, prices: { ref: "PROVIDERS.md §1: gpt-4o cached 50% ($2.50 → $1.25); output $10 chatgptpricing-akr.pages.dev/api-pricing", confidence: "3p" } },
  },
  {
    family: "openai",
    models: /.*/,
    label: "gpt-5.x (gpt-5.4 prices)",
    prices: P(2.5, 0.25, 2.5, 2.5, 15),
    cache: OPENAI_CACHE,
    sources: { ...OPENAI_SOURCES, prices: { ref: "PROVIDERS.md §1: gpt-5.4 $2.50 → $0.25 cached; output $15 morphllm.com/openai-api-pricing", confidence: "3p" } },
  },
  // ---- Anthropic ----
  {
    family: "anthropic",
    models: /opus-5/,
    label: "Claude Opus 5",
    prices: P(5, 0.5, 6.25, 10, 25),
    cache: ANTHROPIC_CACHE(512),
    sources: { ...ANTHROPIC_SOURCES, prices: { ref: "Opus 4.5 tier prices assumed ($5/$25, deploybase.ai claude-api-pricing) with §3.4 multipliers", confidence: "unconfirmed" } },
  },
  {
    family: "anthropic",
    models: /opus-4-(5|6)|opus-4\.(5|6)/,
    label: "Claude Opus 4.5/4.6",
    prices: P(5, 0.5, 6.25, 10, 25),
    cache: ANTHROPIC_CACHE(4096),
    sources: { ...ANTHROPIC_SOURCES, prices: { ref: "deploybase.ai claude-api-pricing (Opus 4.5/4.6 $5/$25) with PROVIDERS.md §3.4 multipliers", confidence: "3p" } },
  },
  {
    family: "anthropic",
    models: /opus-4|opus-3|claude-3-opus/,
    label: "Claude Opus 4/4.1",
    prices: P(15, 1.5, 18.75, 30, 75),
    cache: ANTHROPIC_CACHE(1024),
    sources: { ...ANTHROPIC_SOURCES, prices: { ref: "docs.anthropic.com/en/docs/about-claude/pricing (Opus 4/4.1)", confidence: "doc" } },
  },
  {
    family: "anthropic",
    models: /haiku-4/,
    label: "Claude Haiku 4.5",
    prices: P(1, 0.1, 1.25, 2, 5),
    cache: ANTHROPIC_CACHE(4096),
    sources: { ...ANTHROPIC_SOURCES, prices: { ref: "deploybase.ai claude-api-pricing (Haiku 4.5 $1/$5) with PROVIDERS.md §3.4 multipliers", confidence: "3p" } },
  },
  {
    family: "anthropic",
    models: /haiku-3-5|3-5-haiku/,
    label: "Claude Haiku 3.5",
    prices: P(0.8, 0.08, 1, 1.6, 4),
    cache: ANTHROPIC_CACHE(2048),
    sources: { ...ANTHROPIC_SOURCES, prices: { ref: "docs.anthropic.com/en/docs/about-claude/pricing (Haiku 3.5)", confidence: "doc" } },
  },
  {
    family: "anthropic",
    models: /haiku/,
    label: "Claude Haiku 3",
    prices: P(0.25, 0.03, 0.3, 0.5, 1.25),
    cache: ANTHROPIC_CACHE(2048),
    sources: { ...ANTHROPIC_SOURCES, prices: { ref: "docs.anthropic.com/en/docs/about-claude/pricing (Haiku 3)", confidence: "doc" } },
  },
  {
    family: "anthropic",
    models: /.*/,
    label: "Claude Sonnet 4.x",
    prices: P(3, 0.3, 3.75, 6, 15),
    cache: ANTHROPIC_CACHE(1024),
    sources: { ...ANTHROPIC_SOURCES, prices: { ref: "PROVIDERS.md §3.4 (Sonnet 4: $3 / $3.75 / $6 / $0.30); output $15 docs.anthropic.com pricing", confidence: "doc" } },
  },
  // ---- Gemini ----
  {
    family: "gemini",
    models: /gemini-3(\.\d+)?-pro/,
    label: "Gemini 3 Pro",
    prices: P(2, 0.2, 2, 2, 12, 4.5),
    cache: GEMINI_CACHE(4096),
    sources: { ...GEMINI_SOURCES, prices: { ref: "cached $0.20 (discuss.ai.google.dev/t/…/114069 quoting the pricing page); input $2 / output $12 / storage $4.50 assumed", confidence: "unconfirmed" } },
  },
  {
    family: "gemini",
    models: /pro/,
    label: "Gemini 2.5 Pro",
    prices: P(1.25, 0.125, 1.25, 1.25, 10, 4.5),
    cache: GEMINI_CACHE(4096),
    sources: GEMINI_SOURCES,
  },
  {
    family: "gemini",
    models: /.*/,
    label: "Gemini 2.5 Flash",
    prices: P(0.3, 0.03, 0.3, 0.3, 2.5, 1),
    cache: GEMINI_CACHE(1024),
    sources: GEMINI_SOURCES,
  },
  // ---- DeepSeek ----
  {
    family: "deepseek",
    models: /.*/,
    label: "DeepSeek V3.1+ (deepseek-chat / deepseek-reasoner)",
    // Miss tokens are the write counter (PROVIDERS.md §0), billed at the miss (= input) price.
    prices: P(0.56, 0.07, 0.56, 0.56, 1.68),
    cache: { ttlMs: { default: HOUR }, refreshOnHit: true, minCacheableTokens: 64, granularity: 64, warmOutputTokens: 1 },
    sources: {
      prices: { ref: "api-docs.deepseek.com/quick_start/pricing (from 2025-09-05: hit $0.07, miss $0.56, output $1.68)", confidence: "doc" },
      ttl: { ref: "PROVIDERS.md §5: best effort, \"hours to days\" (older docs); 1 h assumed", confidence: "unconfirmed" },
      granularity: { ref: "PROVIDERS.md §5: 64-token units (older docs)", confidence: "unconfirmed" },
      units: { ref: "PROVIDERS.md §5: units persisted at the end of each request's input and output", confidence: "doc" },
    },
  },
  // ---- Self-hosted (the local engine, llama-server, vLLM) ----
  {
    family: "local",
    models: /.*/,
    label: "self-hosted engine",
    prices: P(0, 0, 0, 0, 0),
    // No TTL: LRU over slots / blocks. `max_tokens: 0` evaluates the prompt into the cache only.
    cache: { ttlMs: { default: Number.POSITIVE_INFINITY }, refreshOnHit: true, minCacheableTokens: 1, granularity: 1, warmOutputTokens: 0 },
    sources: {
      prices: { ref: "self-hosted: no per-token price (the hardware is yours)", confidence: "inference" },
      ttl: { ref: "PROVIDERS.md §6: LRU eviction, no TTL (vLLM, SGLang, llama-server)", confidence: "doc" },
      warmOutputTokens: { ref: "PROVIDERS.md §6.4: n_predict 0 evaluates the prompt into the cache; docs/local-engine.md: max_tokens 0", confidence: "doc" },
    },
  },
];

/** The family whose facts a transport's requests follow. */
export const familyOf = (provider: ProviderId | ProviderFamily): ProviderFamily => {
  switch (provider) {
    case "openai-chat":
    case "openai-responses":
    case "openai":
      return "openai";
    case "openai-compatible":
    case "local":
      return "local";
    default:
      return provider;
  }
};

/** The facts for a model of a provider (its family's default row when no row names it). */
export const factsFor = (provider: ProviderId | ProviderFamily, model: string): ModelFacts => {
  const family = familyOf(provider);
  const id = model.toLowerCase().replace(/^models\//, "");
  const row = FACTS.find((f) => f.family === family && f.models.test(id));
  if (!row) throw new Error(`no facts for ${family}`); // unreachable: every family ends with a catch-all row
  return row;
};

/** The smallest output limit a warm call to this provider and model may ask for. */
export const warmOutputTokens = (provider: ProviderId, model: string): number =>
  provider === "openai-responses" ? 16 : factsFor(provider, model).cache.warmOutputTokens;

const M = 1_000_000;

/**
 * What a request cost at these prices: uncached input at `input`, cache reads at `cachedRead`,
 * cache writes at their tier's write price, output (reasoning included) at `output`.
 */
export const costOf = (usage: Pick<NormalizedUsage, "promptTokens" | "cachedTokens" | "cacheWriteTokens" | "cacheWrite1hTokens" | "outputTokens">, prices: Prices): number => {
  const write1h = usage.cacheWrite1hTokens ?? 0;
  const write5m = Math.max(0, usage.cacheWriteTokens - write1h);
  const uncached = Math.max(0, usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens);
  return (uncached * prices.input + usage.cachedTokens * prices.cachedRead + write5m * prices.cacheWrite5m + write1h * prices.cacheWrite1h + usage.outputTokens * prices.output) / M;
};

/** Storage of an explicit cache (Gemini): tokens × hours at `storagePerHour`. */
export const storageCost = (tokens: number, hours: number, prices: Prices): number => (tokens * hours * (prices.storagePerHour ?? 0)) / M;

import { describe, expect, it } from "vitest";
import { costOf, FACTS, factsFor, storageCost, warmOutputTokens } from "./facts.js";

describe("facts", () => {
  it("finds the row of a model, and the family default for an unknown one", () => {
    expect(factsFor("anthropic", "claude-sonnet-4-5-20250929").label).toBe("Claude Sonnet 4.x");
    expect(factsFor("anthropic", "claude-opus-4-5").cache.minCacheableTokens).toBe(4096);
    expect(factsFor("anthropic", "claude-haiku-4-5").cache.minCacheableTokens).toBe(4096);
    expect(factsFor("anthropic", "claude-3-5-haiku-latest").cache.minCacheableTokens).toBe(2048);
    expect(factsFor("openai-responses", "gpt-5.6").cache.ttlMs.default).toBe(30 * 60_000);
    expect(factsFor("openai-chat", "gpt-4o-2024-08-06").prices.cachedRead).toBe(1.25);
    expect(factsFor("openai-chat", "some-new-model").cache.granularity).toBe(128);
    expect(factsFor("gemini", "models/gemini-2.5-pro").cache.minCacheableTokens).toBe(4096);
    expect(factsFor("gemini", "gemini-2.5-flash").prices.storagePerHour).toBe(1);
    expect(factsFor("openai-compatible", "anything").cache.warmOutputTokens).toBe(0);
    expect(warmOutputTokens("openai-responses", "gpt-5.4")).toBe(16);
    expect(warmOutputTokens("anthropic", "claude-sonnet-4-5")).toBe(1);
  });

  it("every row names a source for its prices and TTL, and every family ends with a catch-all", () => {
    for (const f of FACTS) {
      expect(Object.keys(f.sources).some((k) => k.startsWith("price") || k === "cachedRead"), f.label).toBe(true);
      expect(f.sources.ttl, f.label).toBeDefined();
      expect(f.prices.cachedRead).toBeLessThanOrEqual(f.prices.input);
      expect(f.prices.cacheWrite1h).toBeGreaterThanOrEqual(f.prices.cacheWrite5m);
    }
    for (const family of ["openai", "anthropic", "gemini", "deepseek", "local"] as const)
      expect(FACTS.filter((f) => f.family === family).at(-1)!.models.source).toBe(".*");
  });

  it("prices a usage record: uncached input, reads, 5m/1h writes and output", () => {
    const sonnet = factsFor("anthropic", "claude-sonnet-4").prices;
    const usage = { promptTokens: 1_000_000 + 2_000_000 + 3_000_000, cachedTokens: 2_000_000, cacheWriteTokens: 3_000_000, cacheWrite1hTokens: 1_000_000, outputTokens: 1_000_000 };
    // 1M uncached × 3 + 2M read × 0.30 + 2M 5m-write × 3.75 + 1M 1h-write × 6 + 1M out × 15
    expect(costOf(usage, sonnet)).toBeCloseTo(3 + 0.6 + 7.5 + 6 + 15, 10);
    expect(storageCost(1_000_000, 2, factsFor("gemini", "gemini-2.5-pro").prices)).toBeCloseTo(9, 10);
  });
});

import { describe, expect, it } from "vitest";
import type { CheckpointHandle } from "@ctxsync/core";
import { detect, expectedCached } from "./detect.js";

const h = (over: Partial<CheckpointHandle> = {}): CheckpointHandle => ({
  provider: "openai-chat",
  model: "m",
  rendererVersion: "1",
  renderContextHash: "r",
  entry: "e1" as never,
  prefixHash: "p" as never,
  tokens: 5000,
  createdAt: 0,
  lastUsedAt: 0,
  expiresAt: 300_000,
  status: "warm",
  origin: "observed",
  ...over,
});
const OPENAI = { minCacheableTokens: 1024, granularity: 128 };

describe("detect", () => {
  it("expects the promise rounded to the provider's granularity, nothing below its minimum", () => {
    expect(expectedCached(5000, 9000, OPENAI)).toBe(4992);
    expect(expectedCached(900, 9000, OPENAI)).toBe(0);
    expect(expectedCached(5000, 3000, { minCacheableTokens: 1, granularity: 1 })).toBe(3000);
  });

  it("a hit within tolerance, a miss below it; the cause is expired, evicted or prefix-changed", () => {
    expect(detect({ handle: h(), promptTokens: 6000, cachedTokens: 4864, now: 1000, cache: OPENAI }).outcome).toBe("hit");
    expect(detect({ handle: undefined, promptTokens: 6000, cachedTokens: 0, now: 1000, cache: OPENAI }).outcome).toBe("cold");
    expect(detect({ handle: h({ status: "evicted" }), promptTokens: 6000, cachedTokens: 0, now: 1000, cache: OPENAI }).outcome).toBe("cold");
    expect(detect({ handle: h(), promptTokens: 6000, cachedTokens: 1024, now: 1000, cache: OPENAI })).toMatchObject({ outcome: "miss", cause: "evicted", expected: 4992, got: 1024 });
    expect(detect({ handle: h(), promptTokens: 6000, cachedTokens: 0, now: 400_000, cache: OPENAI })).toMatchObject({ outcome: "miss", cause: "expired" });
    const changed = detect({ handle: h(), promptTokens: 6000, cachedTokens: 0, now: 1000, cache: OPENAI, explanation: { reason: "system-changed", message: "the system prompt changed" } });
    expect(changed).toMatchObject({ outcome: "miss", cause: "prefix-changed", message: "the system prompt changed" });
    // Provider-held state or only other params: not a change of prefix.
    expect(detect({ handle: h(), promptTokens: 6000, cachedTokens: 0, now: 1000, cache: OPENAI, explanation: { reason: "params-changed" } })).toMatchObject({ cause: "evicted" });
  });
});

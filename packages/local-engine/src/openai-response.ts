import type { CacheReport, GenerateEvent } from "./engine.js";

/** OpenAI-shaped response bodies, plus llama-server's `timings` and `id_slot` extras. */

type Done = Extract<GenerateEvent, { type: "done" }>;

export function usageOf(done: Done) {
  return {
    prompt_tokens: done.cache.promptTokens,
    completion_tokens: done.completionTokens,
    total_tokens: done.cache.promptTokens + done.completionTokens,
    prompt_tokens_details: { cached_tokens: done.cache.cachedTokens },
  };
}

/** llama-server's names: cache_n reused, prompt_n evaluated, predicted_n generated. */
export function timingsOf(done: Done) {
  return {
    cache_n: done.cache.cachedTokens,
    prompt_n: done.cache.evaluatedTokens,
    predicted_n: done.completionTokens,
    prompt_ms: done.timings.promptMs,
    predicted_ms: done.timings.predictedMs,
  };
}

/** Which slot served the request and what was evicted for it: what replay needs to see. */
export function slotReportOf(cache: CacheReport) {
  return {
    id: cache.slotId,
    route: cache.route,
    evicted: cache.evicted.map((e) => ({ id_slot: e.slotId, n_tokens: e.tokens })),
  };
}

export function extrasOf(done: Done) {
  return { id_slot: done.cache.slotId, timings: timingsOf(done), ctxsync_slot: slotReportOf(done.cache) };
}

export function newId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}

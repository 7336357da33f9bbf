import type { LlamaModel, Token } from "node-llama-cpp";
import type { CacheReport, GenerateEvent, GenerateRequest } from "./engine-types.js";
import type { Slot } from "./slots.js";
import { findStop, stableTextLength } from "./text-stream.js";

// node-llama-cpp brands token ids; this package passes plain numbers across its API.
export const asTokens = (tokens: readonly number[]): Token[] => tokens as Token[];

/**
 * Generate on a prepared slot: evaluate the suffix the slot does not hold, stream text that can
 * no longer become a stop string, stop at end-of-generation, a stop token or string, or
 * `maxTokens`. `release` unlocks the engine; it is called before the last event, since a consumer
 * may stop iterating once it has the result.
 */
export async function* generateOnSlot(
  model: LlamaModel,
  contextSize: number,
  prepared: { slot: Slot; suffix: number[]; cache: CacheReport },
  req: GenerateRequest,
  start: number,
  release: () => void,
): AsyncGenerator<GenerateEvent, void, void> {
  const { slot, suffix, cache } = prepared;
  const maxNew = Math.min(req.maxTokens, contextSize - req.prompt.length);
  if (maxNew === 0) {
    if (suffix.length > 0) await slot.seq.evaluateWithoutGeneratingNewTokens(asTokens(suffix));
    const ms = performance.now() - start;
    release();
    yield { type: "done", finishReason: "length", text: "", completionTokens: 0, cache, timings: { promptMs: ms, predictedMs: 0, ttftMs: ms } };
    return;
  }
  const stops = req.stopStrings ?? [];
  const stopTokens = new Set(req.stopTokens ?? []);
  const out: number[] = [];
  let sent = 0;
  let text = "";
  let firstAt = 0;
  let finishReason: "stop" | "length" = "stop";
  const temperature = req.temperature ?? 1;
  const iterator = slot.seq.evaluate(asTokens(suffix), {
    temperature,
    ...(req.topP !== undefined ? { topP: req.topP } : {}),
    ...(req.topK !== undefined ? { topK: req.topK } : {}),
    ...(req.seed !== undefined ? { seed: req.seed } : {}),
  });
  for await (const token of iterator) {
    if (firstAt === 0) firstAt = performance.now();
    if (model.isEogToken(token) || stopTokens.has(token)) break;
    out.push(token);
    text = model.detokenize(asTokens(out));
    const stopAt = findStop(text, stops);
    if (stopAt >= 0) {
      text = text.slice(0, stopAt);
      break;
    }
    const stable = stableTextLength(text, stops);
    if (stable > sent) {
      yield { type: "text", text: text.slice(sent, stable) };
      sent = stable;
    }
    if (out.length >= maxNew) {
      finishReason = "length";
      break;
    }
  }
  if (text.length > sent) yield { type: "text", text: text.slice(sent) };
  const end = performance.now();
  if (firstAt === 0) firstAt = end;
  release();
  yield {
    type: "done",
    finishReason,
    text,
    completionTokens: out.length,
    cache,
    timings: { promptMs: firstAt - start, predictedMs: end - firstAt, ttftMs: firstAt - start },
  };
}

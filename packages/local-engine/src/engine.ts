import os from "node:os";
import { basename, join } from "node:path";
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import { createChatRenderer, type ChatMessage, type RenderedChat } from "./chat-render.js";
import { engineError, isEngineError } from "./errors.js";
import { checkGgufHeader } from "./gguf/header.js";
import { hashFile, hashTokens } from "./hashing.js";
import { createMutex } from "./mutex.js";
import { routeRequest, slotsToEvict, type RouteReason, type SlotView } from "./slot-router.js";
import { createStateStore, type StateSidecar } from "./state-store.js";
import { findStop, stableTextLength } from "./text-stream.js";

/**
 * The engine: one llama.cpp context with N sequences ("slots"), each holding the KV
 * cache of one token prefix. Every request is routed to a slot (see slot-router.ts),
 * only the suffix the slot does not already hold is evaluated, and the reported cached
 * count is exactly the number of prompt tokens that were not evaluated.
 */

export interface EngineOptions {
  modelPath: string;
  /** Number of context sequences. Default 4. */
  slots?: number;
  /** Tokens per slot. Default 8192. */
  contextSize?: number;
  /** Default `os.availableParallelism()`: more threads than cores is many times slower. */
  threads?: number;
  /** Default false: flash attention changes probabilities (~1e-3), breaking exact comparisons. */
  flashAttention?: boolean;
  /** Where slot states are saved. Default `$TMPDIR/ctxsync-engine-state`. */
  stateDir?: string;
  /** Memory budget: total tokens cached over all slots. Default slots × contextSize. */
  maxCachedTokens?: number;
  /** Shortest shared prefix worth routing to (and overwriting the rest of) a slot. Default 8. */
  minReusePrefix?: number;
  /** Prompt evaluation batch size. Default 512. */
  batchSize?: number;
  /** Model name reported by /v1/models. Default the file name without `.gguf`. */
  modelName?: string;
}

export interface SamplingOptions {
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
}

export interface RoutingOptions {
  /** Sticky routing: requests with the same key go to the same slot (OpenAI's `prompt_cache_key`). */
  cacheKey?: string | undefined;
  /** Pin to a slot (llama.cpp's `id_slot`). */
  slotId?: number | undefined;
  /** false: evaluate the whole prompt, reusing nothing (llama-server's `cache_prompt: false`). */
  cachePrompt?: boolean | undefined;
}

export interface GenerateRequest extends SamplingOptions, RoutingOptions {
  prompt: number[];
  /** 0 = only evaluate the prompt into the cache (a warm-up / rebuild call). */
  maxTokens: number;
  stopStrings?: readonly string[];
  stopTokens?: readonly number[];
}

export interface CacheReport {
  slotId: number;
  route: RouteReason;
  promptTokens: number;
  /** Prompt tokens served from the KV cache, i.e. not evaluated. */
  cachedTokens: number;
  /** Prompt tokens evaluated by this request. */
  evaluatedTokens: number;
  /** Slots whose whole cache was dropped to serve this request, and how many tokens each held. */
  evicted: Array<{ slotId: number; tokens: number }>;
}

export type GenerateEvent =
  | { type: "text"; text: string }
  | {
      type: "done";
      finishReason: "stop" | "length";
      text: string;
      completionTokens: number;
      cache: CacheReport;
      timings: { promptMs: number; predictedMs: number; ttftMs: number };
    };

export interface SlotInfo {
  id: number;
  tokens: number;
  prefixHash: string;
  cacheKey: string | null;
  lastUsed: number;
  evictions: number;
  /**
   * Tokens this slot has run through llama_decode so far, from node-llama-cpp's token meter
   * (its input + output counts: tokens whose logits were read count as output). An
   * independent check that `cachedTokens` really were skipped.
   */
  decodedTokens: number;
}

export interface SaveResult {
  id_slot: number;
  filename: string;
  prefix_hash: string;
  n_saved: number;
  n_written: number;
  timings: { save_ms: number };
}

export interface RestoreResult {
  id_slot: number;
  filename: string;
  prefix_hash: string;
  n_restored: number;
  n_read: number;
  timings: { restore_ms: number };
}

export interface Engine {
  readonly modelName: string;
  readonly modelPath: string;
  readonly modelSha256: string;
  readonly contextSize: number;
  readonly slotCount: number;
  readonly stateDir: string;
  readonly model: LlamaModel;
  tokenize(text: string, opts?: { addBos?: boolean; special?: boolean }): number[];
  detokenize(tokens: readonly number[]): string;
  renderChat(messages: readonly ChatMessage[]): RenderedChat;
  generate(req: GenerateRequest): AsyncGenerator<GenerateEvent, void, void>;
  /** Next-token probabilities after `prompt`, computed through the same slot routing and reuse. */
  nextTokenProbabilities(prompt: number[], routing?: RoutingOptions): Promise<{ probabilities: Map<number, number>; cache: CacheReport }>;
  listSlots(): SlotInfo[];
  saveSlot(slotId: number, opts?: { filename?: string }): Promise<SaveResult>;
  /** Restores by file name, or by prefix hash (the default name for this model); into `slotId` or the LRU slot. */
  restoreSlot(slotId: number | undefined, opts: { filename?: string; prefixHash?: string }): Promise<RestoreResult>;
  eraseSlot(slotId: number): Promise<{ id_slot: number; n_erased: number }>;
  close(): Promise<void>;
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
}

// node-llama-cpp brands token ids; this package passes plain numbers across its API.
const asTokens = (tokens: readonly number[]): Token[] => tokens as Token[];

interface Slot {
  id: number;
  seq: LlamaContextSequence;
  lastUsed: number;
  cacheKey: string | undefined;
  evictions: number;
}

export async function createEngine(options: EngineOptions): Promise<Engine> {
  const slotCount = options.slots ?? 4;
  const contextSize = options.contextSize ?? 8192;
  const threads = options.threads ?? os.availableParallelism();
  const budget = options.maxCachedTokens ?? slotCount * contextSize;
  const minReusePrefix = options.minReusePrefix ?? 8;
  if (!Number.isInteger(slotCount) || slotCount < 1) throw engineError("bad-request", "slots must be a positive integer");

  await checkGgufHeader(options.modelPath);
  const modelSha256 = await hashFile(options.modelPath).catch((cause: unknown) => {
    throw engineError("model-load-failed", `cannot read model file ${options.modelPath}: ${String(cause)}`, cause);
  });
  let llama: Llama | undefined;
  let model: LlamaModel;
  let context: LlamaContext;
  try {
    // gpu:false + build:"never": use the prebuilt CPU binary, never download or compile.
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    model = await llama.loadModel({ modelPath: options.modelPath });
    context = await model.createContext({
      sequences: slotCount,
      contextSize,
      threads,
      flashAttention: options.flashAttention ?? false,
      batchSize: options.batchSize ?? 512,
    });
  } catch (cause) {
    await llama?.dispose().catch(() => undefined); // frees a loaded model too
    throw engineError("model-load-failed", `cannot load ${options.modelPath}: ${String(cause)}`, cause);
  }
  const runtime = llama;

  const slots: Slot[] = [];
  for (let id = 0; id < slotCount; id++) {
    slots.push({ id, seq: context.getSequence(), lastUsed: 0, cacheKey: undefined, evictions: 0 });
  }
  const stateDir = options.stateDir ?? join(os.tmpdir(), "ctxsync-engine-state");
  const store = createStateStore({ dir: stateDir, modelSha256, modelPath: options.modelPath, slots: slotCount });
  const renderChat = createChatRenderer(model);
  const mutex = createMutex();
  let clock = 0;

  const view = (s: Slot): SlotView => ({ id: s.id, tokens: s.seq.contextTokens, lastUsed: s.lastUsed, cacheKey: s.cacheKey });
  const getSlot = (id: number): Slot => {
    const slot = slots[id];
    if (!slot || !Number.isInteger(id)) throw engineError("slot-not-found", `no slot ${id} (slots 0..${slotCount - 1})`);
    return slot;
  };

  async function evict(slot: Slot, report: CacheReport["evicted"]): Promise<void> {
    const tokens = slot.seq.nextTokenIndex;
    if (tokens === 0) return;
    await slot.seq.clearHistory();
    slot.evictions++;
    slot.cacheKey = undefined;
    report.push({ slotId: slot.id, tokens });
  }

  /**
   * Chooses a slot and trims its KV cache to the longest prefix it shares with the
   * prompt. Returns the slot and the tokens still to evaluate. Caller holds the lock.
   */
  async function prepare(prompt: number[], routing: RoutingOptions, maxNew: number, needLogits: boolean) {
    if (prompt.length === 0) throw engineError("bad-request", "the prompt is empty");
    if (prompt.length + (needLogits ? 1 : 0) > contextSize) {
      throw engineError("context-overflow", `prompt of ${prompt.length} tokens does not fit a slot of ${contextSize}`);
    }
    if (routing.slotId !== undefined) getSlot(routing.slotId);
    const route = routeRequest(slots.map(view), { prompt, cacheKey: routing.cacheKey, slotId: routing.slotId, minReusePrefix });
    const slot = getSlot(route.slotId);
    const evicted: CacheReport["evicted"] = [];
    if (route.reason === "lru" && route.discarded > 0) {
      // The slot's conversation is dropped (all but a trivially shared prefix such as BOS,
      // which the trim below keeps): that is an eviction, and is reported as one.
      slot.evictions++;
      slot.cacheKey = undefined;
      evicted.push({ slotId: slot.id, tokens: route.discarded });
    }
    const needed = Math.min(contextSize, prompt.length + maxNew);
    for (const id of slotsToEvict(slots.map(view), slot.id, needed, budget)) await evict(getSlot(id), evicted);
    if (routing.cacheKey !== undefined) {
      for (const other of slots) if (other.cacheKey === routing.cacheKey) other.cacheKey = undefined;
      slot.cacheKey = routing.cacheKey;
    }
    // At least one prompt token must be evaluated to get logits for the next token,
    // so a fully cached prompt re-evaluates its last token (llama-server does the same).
    const keep = routing.cachePrompt === false ? 0 : Math.min(route.commonPrefix, needLogits ? prompt.length - 1 : prompt.length);
    if (slot.seq.nextTokenIndex > keep) {
      await slot.seq.eraseContextTokenRanges([{ start: keep, end: slot.seq.nextTokenIndex }]);
    }
    // Report what the sequence really holds, not what routing predicted.
    const cached = slot.seq.nextTokenIndex;
    if (cached > keep) throw new Error(`internal: slot ${slot.id} kept ${cached} tokens, expected ≤ ${keep}`);
    slot.lastUsed = ++clock;
    const cache: CacheReport = {
      slotId: slot.id,
      route: route.reason,
      promptTokens: prompt.length,
      cachedTokens: cached,
      evaluatedTokens: prompt.length - cached,
      evicted,
    };
    return { slot, suffix: prompt.slice(cached), cache };
  }

  async function* generate(req: GenerateRequest): AsyncGenerator<GenerateEvent, void, void> {
    if (!Number.isInteger(req.maxTokens) || req.maxTokens < 0) throw engineError("bad-request", "max_tokens must be an integer ≥ 0");
    const release = once(await mutex.lock());
    try {
      const start = performance.now();
      const { slot, suffix, cache } = await prepare(req.prompt, req, req.maxTokens, req.maxTokens > 0);
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
      // Unlock before the last event: a consumer may stop iterating once it has the result.
      release();
      yield {
        type: "done",
        finishReason,
        text,
        completionTokens: out.length,
        cache,
        timings: { promptMs: firstAt - start, predictedMs: end - firstAt, ttftMs: firstAt - start },
      };
    } finally {
      release();
    }
  }

  return {
    modelName: options.modelName ?? basename(options.modelPath).replace(/\.gguf$/i, ""),
    modelPath: options.modelPath,
    modelSha256,
    contextSize,
    slotCount,
    stateDir,
    model,
    tokenize(text, opts = {}) {
      const tokens = model.tokenize(text, opts.special ?? true);
      const bos = model.tokens.bos;
      const addBos = opts.addBos ?? model.tokens.shouldPrependBosToken;
      return addBos && bos != null && tokens[0] !== bos ? [bos, ...tokens] : tokens;
    },
    detokenize: (tokens) => model.detokenize(asTokens(tokens)),
    renderChat,
    generate,
    async nextTokenProbabilities(prompt, routing = {}) {
      const release = await mutex.lock();
      try {
        const { slot, suffix, cache } = await prepare(prompt, routing, 1, true);
        const last = suffix[suffix.length - 1];
        if (last === undefined) throw new Error("internal: nothing to evaluate");
        const out = await slot.seq.controlledEvaluate([...asTokens(suffix.slice(0, -1)), [last as Token, { generateNext: { probabilities: true } }]]);
        const probabilities = out[suffix.length - 1]?.next.probabilities;
        if (!probabilities) throw new Error("internal: no probabilities returned");
        return { probabilities, cache };
      } finally {
        release();
      }
    },
    listSlots: () =>
      slots.map((s) => {
        const tokens = s.seq.contextTokens;
        return {
          id: s.id,
          tokens: tokens.length,
          prefixHash: hashTokens(tokens),
          cacheKey: s.cacheKey ?? null,
          lastUsed: s.lastUsed,
          evictions: s.evictions,
          decodedTokens: s.seq.tokenMeter.usedInputTokens + s.seq.tokenMeter.usedOutputTokens,
        };
      }),
    async saveSlot(slotId, opts = {}) {
      const release = await mutex.lock();
      try {
        const slot = getSlot(slotId);
        if (slot.seq.nextTokenIndex === 0) throw engineError("bad-request", `slot ${slotId} is empty; nothing to save`);
        const t0 = performance.now();
        const { name, sidecar } = await store.save(slot.seq, opts.filename);
        return {
          id_slot: slotId,
          filename: name,
          prefix_hash: sidecar.prefixHash,
          n_saved: sidecar.tokenCount,
          n_written: sidecar.kvBytes,
          timings: { save_ms: performance.now() - t0 },
        };
      } finally {
        release();
      }
    },
    async restoreSlot(slotId, opts) {
      const release = await mutex.lock();
      try {
        const name = opts.filename ?? (opts.prefixHash !== undefined ? store.defaultName(opts.prefixHash) : undefined);
        if (name === undefined) throw engineError("bad-request", "restore needs a filename or a prefix_hash");
        // Check the sidecar before touching any slot, so a refused state costs nothing.
        await store.readSidecar(name);
        const slot =
          slotId !== undefined ? getSlot(slotId) : (slots.find((s) => s.seq.nextTokenIndex === 0) ?? slots.reduce((a, b) => (b.lastUsed < a.lastUsed ? b : a)));
        // Whatever the slot held is replaced: count it as an eviction, like any other.
        if (slot.seq.nextTokenIndex > 0) slot.evictions++;
        const t0 = performance.now();
        let sidecar: StateSidecar;
        try {
          sidecar = await store.restore(slot.seq, name);
        } catch (err) {
          if (isEngineError(err)) throw err;
          throw engineError("bad-state-file", `state ${name}: ${String(err)}`, err);
        }
        slot.lastUsed = ++clock;
        slot.cacheKey = undefined;
        return {
          id_slot: slot.id,
          filename: name,
          prefix_hash: sidecar.prefixHash,
          n_restored: sidecar.tokenCount,
          n_read: sidecar.kvBytes,
          timings: { restore_ms: performance.now() - t0 },
        };
      } finally {
        release();
      }
    },
    async eraseSlot(slotId) {
      const release = await mutex.lock();
      try {
        const slot = getSlot(slotId);
        const n = slot.seq.nextTokenIndex;
        await slot.seq.clearHistory();
        slot.cacheKey = undefined;
        return { id_slot: slotId, n_erased: n };
      } finally {
        release();
      }
    },
    async close() {
      const release = await mutex.lock();
      try {
        await context.dispose();
        await model.dispose();
        await runtime.dispose();
      } finally {
        release();
      }
    },
  };
}

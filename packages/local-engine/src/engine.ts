import os from "node:os";
import { basename, join } from "node:path";
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel, type Token } from "node-llama-cpp";
import { createChatRenderer } from "./chat-render.js";
import type { Engine, EngineOptions, GenerateEvent, GenerateRequest } from "./engine-types.js";
import { engineError, isEngineError } from "./errors.js";
import { asTokens, generateOnSlot } from "./generate.js";
import { checkGgufHeader } from "./gguf/header.js";
import { hashFile, hashTokens } from "./hashing.js";
import { createMutex } from "./mutex.js";
import { createSlotCache } from "./slots.js";
import { createStateStore, type StateSidecar } from "./state-store.js";

export type {
  CacheReport,
  Engine,
  EngineOptions,
  GenerateEvent,
  GenerateRequest,
  RestoreResult,
  RoutingOptions,
  SamplingOptions,
  SaveResult,
  SlotInfo,
} from "./engine-types.js";

/**
 * The engine: one llama.cpp context with N sequences ("slots"), each holding the KV
 * cache of one token prefix. Every request is routed to a slot (see slot-router.ts),
 * only the suffix the slot does not already hold is evaluated, and the reported cached
 * count is exactly the number of prompt tokens that were not evaluated.
 */

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
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

  const cache = createSlotCache(
    Array.from({ length: slotCount }, () => context.getSequence()),
    { contextSize, budget, minReusePrefix },
  );
  const { slots } = cache;
  const getSlot = cache.get;
  const stateDir = options.stateDir ?? join(os.tmpdir(), "ctxsync-engine-state");
  const store = createStateStore({ dir: stateDir, modelSha256, modelPath: options.modelPath, slots: slotCount });
  const renderChat = createChatRenderer(model);
  const mutex = createMutex();

  async function* generate(req: GenerateRequest): AsyncGenerator<GenerateEvent, void, void> {
    if (!Number.isInteger(req.maxTokens) || req.maxTokens < 0) throw engineError("bad-request", "max_tokens must be an integer ≥ 0");
    const release = once(await mutex.lock());
    try {
      const start = performance.now();
      const prepared = await cache.prepare(req.prompt, req, req.maxTokens, req.maxTokens > 0);
      yield* generateOnSlot(model, contextSize, prepared, req, start, release);
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
        const { slot, suffix, cache: report } = await cache.prepare(prompt, routing, 1, true);
        const last = suffix[suffix.length - 1];
        if (last === undefined) throw new Error("internal: nothing to evaluate");
        const out = await slot.seq.controlledEvaluate([...asTokens(suffix.slice(0, -1)), [last as Token, { generateNext: { probabilities: true } }]]);
        const probabilities = out[suffix.length - 1]?.next.probabilities;
        if (!probabilities) throw new Error("internal: no probabilities returned");
        return { probabilities, cache: report };
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
        cache.touch(slot);
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

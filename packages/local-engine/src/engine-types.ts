import type { LlamaModel } from "node-llama-cpp";
import type { ChatMessage, RenderedChat } from "./chat-render.js";
import type { RouteReason } from "./slot-router.js";

/** The engine's API types (see engine.ts). */

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

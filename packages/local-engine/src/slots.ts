import type { LlamaContextSequence } from "node-llama-cpp";
import type { CacheReport, RoutingOptions } from "./engine-types.js";
import { engineError } from "./errors.js";
import { routeRequest, slotsToEvict, type SlotView } from "./slot-router.js";

/** One context sequence and what the engine knows about it. */
export interface Slot {
  id: number;
  seq: LlamaContextSequence;
  lastUsed: number;
  cacheKey: string | undefined;
  evictions: number;
}

export interface SlotCacheOptions {
  readonly contextSize: number;
  /** Total tokens cached over all slots. */
  readonly budget: number;
  readonly minReusePrefix: number;
}

export interface SlotCache {
  readonly slots: readonly Slot[];
  get(id: number): Slot;
  /**
   * Choose a slot for `prompt` and trim its KV cache to the longest prefix it shares with the
   * prompt (evicting other slots when the budget needs it). Returns the slot, the tokens still to
   * evaluate and the cache report. The caller holds the engine's lock.
   */
  prepare(prompt: number[], routing: RoutingOptions, maxNew: number, needLogits: boolean): Promise<{ slot: Slot; suffix: number[]; cache: CacheReport }>;
  /** Mark `slot` used now (LRU order). */
  touch(slot: Slot): void;
}

export const createSlotCache = (sequences: readonly LlamaContextSequence[], o: SlotCacheOptions): SlotCache => {
  const slots: Slot[] = sequences.map((seq, id) => ({ id, seq, lastUsed: 0, cacheKey: undefined, evictions: 0 }));
  let clock = 0;
  const view = (s: Slot): SlotView => ({ id: s.id, tokens: s.seq.contextTokens, lastUsed: s.lastUsed, cacheKey: s.cacheKey });
  const get = (id: number): Slot => {
    const slot = slots[id];
    if (!slot || !Number.isInteger(id)) throw engineError("slot-not-found", `no slot ${id} (slots 0..${slots.length - 1})`);
    return slot;
  };

  const evict = async (slot: Slot, report: CacheReport["evicted"]): Promise<void> => {
    const tokens = slot.seq.nextTokenIndex;
    if (tokens === 0) return;
    await slot.seq.clearHistory();
    slot.evictions++;
    slot.cacheKey = undefined;
    report.push({ slotId: slot.id, tokens });
  };

  return {
    slots,
    get,
    touch: (slot) => void (slot.lastUsed = ++clock),
    async prepare(prompt, routing, maxNew, needLogits) {
      const { contextSize } = o;
      if (prompt.length === 0) throw engineError("bad-request", "the prompt is empty");
      if (prompt.length + (needLogits ? 1 : 0) > contextSize) {
        throw engineError("context-overflow", `prompt of ${prompt.length} tokens does not fit a slot of ${contextSize}`);
      }
      if (routing.slotId !== undefined) get(routing.slotId);
      const route = routeRequest(slots.map(view), { prompt, cacheKey: routing.cacheKey, slotId: routing.slotId, minReusePrefix: o.minReusePrefix });
      const slot = get(route.slotId);
      const evicted: CacheReport["evicted"] = [];
      if (route.reason === "lru" && route.discarded > 0) {
        // The slot's conversation is dropped (all but a trivially shared prefix such as BOS,
        // which the trim below keeps): that is an eviction, and is reported as one.
        slot.evictions++;
        slot.cacheKey = undefined;
        evicted.push({ slotId: slot.id, tokens: route.discarded });
      }
      const needed = Math.min(contextSize, prompt.length + maxNew);
      for (const id of slotsToEvict(slots.map(view), slot.id, needed, o.budget)) await evict(get(id), evicted);
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
    },
  };
};

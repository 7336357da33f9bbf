import { commonPrefixLength } from "./hashing.js";

/**
 * Pure slot routing, kept apart from node-llama-cpp so the policy is testable on its own.
 * Order of preference, as in llama-server: a slot pinned by id or by cache key; else the
 * slot whose cached tokens share the longest prefix with the prompt (if long enough to be
 * worth it); else an empty slot; else the least recently used slot, whose cache is evicted.
 */

export interface SlotView {
  id: number;
  tokens: readonly number[];
  lastUsed: number;
  cacheKey: string | undefined;
}

export type RouteReason = "pinned" | "sticky" | "prefix" | "empty" | "lru";

export interface Route {
  slotId: number;
  reason: RouteReason;
  /** Tokens of the prompt already in the slot's KV cache. */
  commonPrefix: number;
  /** Cached tokens the slot drops to serve this request (what was not a shared prefix). */
  discarded: number;
}

export interface RouteRequest {
  prompt: readonly number[];
  cacheKey?: string | undefined;
  slotId?: number | undefined;
  /** A shared prefix shorter than this does not justify overwriting a slot (BOS alone is not a match). */
  minReusePrefix: number;
}

function routeTo(slot: SlotView, prompt: readonly number[], reason: RouteReason): Route {
  const commonPrefix = commonPrefixLength(slot.tokens, prompt);
  return { slotId: slot.id, reason, commonPrefix, discarded: slot.tokens.length - commonPrefix };
}

export function routeRequest(slots: readonly SlotView[], req: RouteRequest): Route {
  if (slots.length === 0) throw new Error("routeRequest: no slots");
  if (req.slotId !== undefined) {
    const pinned = slots.find((s) => s.id === req.slotId);
    if (pinned) return routeTo(pinned, req.prompt, "pinned");
  }
  if (req.cacheKey !== undefined) {
    const sticky = slots.find((s) => s.cacheKey === req.cacheKey);
    if (sticky) return routeTo(sticky, req.prompt, "sticky");
  }
  let best: { slot: SlotView; lcp: number } | undefined;
  for (const slot of slots) {
    const lcp = commonPrefixLength(slot.tokens, req.prompt);
    if (lcp > (best?.lcp ?? 0) || (best && lcp === best.lcp && lcp > 0 && slot.lastUsed > best.slot.lastUsed)) {
      best = { slot, lcp };
    }
  }
  if (best && best.lcp >= Math.min(req.minReusePrefix, req.prompt.length)) return routeTo(best.slot, req.prompt, "prefix");
  const empty = slots.find((s) => s.tokens.length === 0);
  if (empty) return routeTo(empty, req.prompt, "empty");
  const lru = slots.reduce((a, b) => (b.lastUsed < a.lastUsed ? b : a));
  return routeTo(lru, req.prompt, "lru");
}

/**
 * Slots to evict (least recently used first, never `keep`) so that the cached tokens of
 * all slots stay within `budget` once `keep` holds `needed` tokens.
 */
export function slotsToEvict(slots: readonly SlotView[], keep: number, needed: number, budget: number): number[] {
  let total = needed + slots.filter((s) => s.id !== keep).reduce((n, s) => n + s.tokens.length, 0);
  const victims: number[] = [];
  const candidates = slots.filter((s) => s.id !== keep && s.tokens.length > 0).sort((a, b) => a.lastUsed - b.lastUsed);
  for (const slot of candidates) {
    if (total <= budget) break;
    victims.push(slot.id);
    total -= slot.tokens.length;
  }
  return victims;
}

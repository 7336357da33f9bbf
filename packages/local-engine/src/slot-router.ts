import { commonPrefixLength } from "./hashing.js";

/**
 * Pure slot routing, kept apart from node-llama-cpp so the policy is testable on its own.
 * Order of preference: a slot pinned by id or by cache key; else the slot whose cached
 * tokens share the longest prefix with the prompt (if long enough to be worth it); else an
 * empty slot; else the least recently used slot, whose cache is evicted.
 *
 * One refinement over llama-server's "longest prefix wins": a slot that would have to throw
 * away more cached tokens than it reuses (its conversation diverged from this prompt long
 * ago) is passed over while an empty slot exists. Two forks of a long conversation then
 * settle in two slots instead of overwriting each other's tails on every turn, while a
 * fork that differs only in its last few tokens still reuses the shared slot. The rule
 * compares two costs in evaluated tokens: reusing loses the slot's diverged tail (to be
 * evaluated again if that conversation returns); the empty slot re-evaluates the shared
 * prefix once.
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

function lastUsedOf(slots: readonly SlotView[], id: number): number {
  return slots.find((s) => s.id === id)?.lastUsed ?? 0;
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
  const hasEmpty = slots.some((s) => s.tokens.length === 0);
  let best: Route | undefined;
  for (const slot of slots) {
    const r = routeTo(slot, req.prompt, "prefix");
    if (r.commonPrefix === 0 || r.commonPrefix < Math.min(req.minReusePrefix, req.prompt.length)) continue;
    if (hasEmpty && r.discarded > r.commonPrefix) continue;
    const better =
      !best ||
      r.commonPrefix > best.commonPrefix ||
      (r.commonPrefix === best.commonPrefix && (r.discarded < best.discarded || (r.discarded === best.discarded && slot.lastUsed > lastUsedOf(slots, best.slotId))));
    if (better) best = r;
  }
  if (best) return best;
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

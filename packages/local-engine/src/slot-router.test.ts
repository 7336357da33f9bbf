import { describe, expect, it } from "vitest";
import { routeRequest, slotsToEvict, type SlotView } from "./slot-router.js";

const slot = (id: number, tokens: number[], lastUsed: number, cacheKey?: string): SlotView => ({ id, tokens, lastUsed, cacheKey });
const req = (prompt: number[], extra: Partial<Parameters<typeof routeRequest>[1]> = {}) => ({ prompt, minReusePrefix: 2, ...extra });

describe("routeRequest", () => {
  it("prefers the longest shared prefix", () => {
    const slots = [slot(0, [1, 2, 3], 5), slot(1, [1, 2, 3, 4, 5], 1), slot(2, [], 0)];
    expect(routeRequest(slots, req([1, 2, 3, 4, 9]))).toEqual({ slotId: 1, reason: "prefix", commonPrefix: 4, discarded: 1 });
  });

  it("uses an empty slot before overwriting one whose shared prefix is too short", () => {
    const slots = [slot(0, [1, 7, 7], 5), slot(1, [], 0)];
    expect(routeRequest(slots, req([1, 2, 3]))).toMatchObject({ slotId: 1, reason: "empty" });
  });

  it("passes over a slot that would discard more than it reuses while an empty slot exists", () => {
    const forkA = [1, 2, 3, 4, 10, 11, 12, 13, 14, 15];
    const forkB = [1, 2, 3, 4, 20, 21];
    expect(routeRequest([slot(0, forkA, 1), slot(1, [], 0)], req(forkB))).toMatchObject({ slotId: 1, reason: "empty" });
    // With no empty slot left, the longest prefix still wins.
    expect(routeRequest([slot(0, forkA, 1), slot(1, [9, 9], 0)], req(forkB))).toEqual({ slotId: 0, reason: "prefix", commonPrefix: 4, discarded: 6 });
    // A fork that differs only near the end reuses the shared slot.
    expect(routeRequest([slot(0, [1, 2, 3, 4, 5, 6, 7], 1), slot(1, [], 0)], req([1, 2, 3, 4, 5, 6, 8]))).toMatchObject({ slotId: 0, reason: "prefix" });
  });

  it("evicts the least recently used slot when none is empty or matching", () => {
    const slots = [slot(0, [1, 7], 5), slot(1, [1, 8, 8], 2), slot(2, [1, 9], 9)];
    expect(routeRequest(slots, req([1, 2, 3]))).toEqual({ slotId: 1, reason: "lru", commonPrefix: 1, discarded: 2 });
  });

  it("honours a pinned slot id and a sticky cache key over prefix matching", () => {
    const slots = [slot(0, [1, 2, 3], 5), slot(1, [4], 1, "k")];
    expect(routeRequest(slots, req([1, 2, 3], { slotId: 1 }))).toMatchObject({ slotId: 1, reason: "pinned" });
    expect(routeRequest(slots, req([1, 2, 3], { cacheKey: "k" }))).toMatchObject({ slotId: 1, reason: "sticky", discarded: 1 });
    expect(routeRequest(slots, req([1, 2, 3], { cacheKey: "new" }))).toMatchObject({ slotId: 0, reason: "prefix" });
  });

  it("accepts a prompt shorter than minReusePrefix when it is mostly a slot's prefix", () => {
    expect(routeRequest([slot(0, [1, 2, 3], 1), slot(1, [], 0)], req([1, 2], { minReusePrefix: 8 }))).toMatchObject({ slotId: 0, reason: "prefix" });
    // ...but not a bare BOS that would wipe the slot's conversation while a slot is free.
    expect(routeRequest([slot(0, [1, 2, 3], 1), slot(1, [], 0)], req([1], { minReusePrefix: 8 }))).toMatchObject({ slotId: 1, reason: "empty" });
  });
});

describe("slotsToEvict", () => {
  it("evicts least recently used slots until the budget holds", () => {
    const slots = [slot(0, [1, 1, 1], 3), slot(1, [1, 1], 1), slot(2, [1, 1, 1, 1], 2), slot(3, [], 0)];
    expect(slotsToEvict(slots, 0, 4, 9)).toEqual([1]);
    expect(slotsToEvict(slots, 0, 4, 10)).toEqual([]);
    expect(slotsToEvict(slots, 0, 4, 5)).toEqual([1, 2]);
    expect(slotsToEvict(slots, 0, 4, 100)).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { openCache, usageProblem, usagePurpose } from "./cache-doc.js";
import { decideLease, parseLeaseRequest, type RebuildLease } from "./rebuild-lease.js";
import { validateDocUpdate } from "./validate.js";

const acquire = (holder: string, seenVersion: number, ttlMs = 10_000) => ({ op: "acquire" as const, key: "k", holder, seenVersion, ttlMs });

describe("decideLease (the server's compare-and-set)", () => {
  it("grants the first acquire and refuses the others that saw the same version", () => {
    const a = decideLease(undefined, acquire("a", 0), 1000, 5000);
    expect(a.answer).toMatchObject({ granted: true, remainingMs: 10_000 });
    expect(a.next).toEqual({ version: 1, state: "held", holder: "a", grantedAt: 1000, until: 11_000 });
    const b = decideLease(a.next, acquire("b", 0), 1001, 5000);
    expect(b.answer).toMatchObject({ granted: false, reason: "stale-version" });
    expect(b.next).toBeUndefined();
  });

  it("a device that saw the hold is refused while it lives, and after completion its observation is stale", () => {
    const held: RebuildLease = { version: 1, state: "held", holder: "a", grantedAt: 0, until: 10_000 };
    expect(decideLease(held, acquire("b", 1), 5000, 5000).answer.reason).toBe("held");
    expect(decideLease(held, acquire("b", 1), 14_000, 5000).answer.reason).toBe("held"); // within the grace
    const done = decideLease(held, { op: "complete", key: "k", holder: "a", version: 1 }, 6000, 5000);
    expect(done.next).toMatchObject({ version: 2, state: "done", endedAt: 6000 });
    // b saw version 1 (the hold) when it saw the eviction: the same eviction, already rebuilt.
    expect(decideLease(done.next, acquire("b", 1), 7000, 5000).answer.reason).toBe("stale-version");
    // A new eviction seen by someone who knew about the rebuild (version 2): a new grant.
    expect(decideLease(done.next, acquire("b", 2), 8000, 5000).next).toMatchObject({ version: 3, holder: "b" });
  });

  it("an expired hold is taken over only after the grace, and the old holder is fenced", () => {
    const held: RebuildLease = { version: 4, state: "held", holder: "a", grantedAt: 0, until: 10_000 };
    const taken = decideLease(held, acquire("b", 4), 15_001, 5000);
    expect(taken.next).toMatchObject({ version: 5, holder: "b", state: "held" });
    const late = decideLease(taken.next, { op: "complete", key: "k", holder: "a", version: 4 }, 15_002, 5000);
    expect(late.answer).toMatchObject({ granted: false, reason: "fenced" });
  });

  it("a holder's retried acquire returns its own hold; release ends it", () => {
    const held: RebuildLease = { version: 1, state: "held", holder: "a", grantedAt: 0, until: 10_000 };
    const again = decideLease(held, acquire("a", 1), 4000, 0);
    expect(again.answer).toMatchObject({ granted: true, remainingMs: 6000 });
    expect(again.next).toBeUndefined();
    const rel = decideLease(held, { op: "release", key: "k", holder: "a", version: 1 }, 4000, 0);
    expect(rel.next).toMatchObject({ version: 2, state: "released" });
    expect(decideLease(rel.next, acquire("b", 2), 4001, 0).answer.granted).toBe(true);
  });

  it("clamps the ttl and parses requests strictly", () => {
    expect(decideLease(undefined, acquire("a", 0, 10), 0, 0).next?.until).toBe(1000);
    expect(parseLeaseRequest({ op: "acquire", key: "k", holder: "a", seenVersion: 0, ttlMs: 5 })).toMatchObject({ op: "acquire" });
    expect(parseLeaseRequest({ op: "acquire", key: "k", holder: "a", seenVersion: -1, ttlMs: 5 })).toMatch(/seenVersion/);
    expect(parseLeaseRequest({ op: "complete", key: "k", holder: "a", version: 0 })).toMatch(/version/);
    expect(parseLeaseRequest({ op: "steal", key: "k", holder: "a" })).toMatch(/op must be/);
    expect(parseLeaseRequest([])).toMatch(/object/);
  });
});

describe("C/cache leases and usage purpose", () => {
  it("decideRebuildLease writes the record; another replica's update carrying it validates", () => {
    const server = new Y.Doc();
    const cache = openCache(server);
    const updates: Uint8Array[] = [];
    server.on("update", (u: Uint8Array) => updates.push(u));
    expect(cache.decideRebuildLease(acquire("a", 0), 100, 0).granted).toBe(true);
    expect(cache.rebuildLease("k")).toMatchObject({ version: 1, holder: "a" });
    const replica = new Y.Doc();
    for (const u of updates) expect(validateDocUpdate("cache", { doc: replica }, u).ok).toBe(true);
    // A malformed lease value is refused like any other bad value.
    const bad = new Y.Doc();
    bad.getMap("leases").set("k", { version: 0, state: "mine" });
    const r = validateDocUpdate("cache", { doc: new Y.Doc() }, Y.encodeStateAsUpdate(bad));
    expect(r.ok).toBe(false);
  });

  it("usage records take an optional purpose; old records read as turns or rebuilds", () => {
    const base = { id: "u1", device: "d", provider: "p", model: "m", renderContextHash: "h", time: 1, promptTokens: 1, cachedTokens: 0, expectedCachedTokens: 0, cacheWriteTokens: 0, outputTokens: 1 };
    expect(usageProblem(base)).toBeUndefined();
    expect(usageProblem({ ...base, purpose: "warmup", costUsd: 0.01 })).toBeUndefined();
    expect(usageProblem({ ...base, purpose: "ping" })).toMatch(/purpose/);
    expect(usageProblem({ ...base, costUsd: "1" })).toMatch(/costUsd/);
    expect(usagePurpose({})).toBe("turn");
    expect(usagePurpose({ rebuild: true })).toBe("rebuild");
    expect(usagePurpose({ purpose: "prewarm", rebuild: true })).toBe("prewarm");
  });
});

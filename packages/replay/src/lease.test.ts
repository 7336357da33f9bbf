import { describe, expect, it } from "vitest";
import { acquireLease, endLease, memoryLeaseService, withinDeadline } from "./lease.js";

/** A pause or a partition must not produce two rebuilds (docs/replay.md, "One rebuild per prefix"). */
describe("rebuild lease, holder side", () => {
  it("a holder paused past its deadline does not rebuild; the taker-over gets the lease only after the grace; the late holder is fenced", async () => {
    let serverNow = 0;
    let monoA = 0;
    const svc = memoryLeaseService(() => serverNow, 30_000);
    const a = await acquireLease(svc, { key: "k", holder: "a", seenVersion: 0, ttlMs: 60_000, monotonic: () => monoA, marginMs: 5_000 });
    expect(a.granted).toBe(true);
    if (!a.granted) throw new Error("unreachable");
    expect(a.lease.deadline).toBe(55_000); // measured from before it asked, minus the margin
    expect(withinDeadline(a.lease, () => monoA)).toBe(true);
    // A pauses (GC, laptop lid, partition) for 70 s: when it wakes its deadline has passed.
    monoA += 70_000;
    serverNow += 70_000;
    expect(withinDeadline(a.lease, () => monoA)).toBe(false);
    // Meanwhile b saw the same eviction (it knew version 1, the hold) — refused until until + grace.
    const early = await acquireLease(svc, { key: "k", holder: "b", seenVersion: 1, ttlMs: 60_000, monotonic: () => 0 });
    expect(early).toMatchObject({ granted: false, reason: "held" });
    serverNow = 60_000 + 30_001;
    const b = await acquireLease(svc, { key: "k", holder: "b", seenVersion: 1, ttlMs: 60_000, monotonic: () => 0 });
    expect(b.granted).toBe(true);
    // a's completion (had it sent anything) is refused: its version was taken over.
    expect(await endLease(svc, a.lease, "complete")).toMatchObject({ granted: false, reason: "fenced" });
    if (!b.granted) throw new Error("unreachable");
    expect(await endLease(svc, b.lease, "complete")).toMatchObject({ granted: true, lease: { state: "done", holder: "b" } });
  });

  it("a device that cannot reach the lease service does not rebuild", async () => {
    const down = { request: async () => Promise.reject(new Error("connect ECONNREFUSED")) };
    await expect(acquireLease(down, { key: "k", holder: "a", seenVersion: 0, ttlMs: 1000 })).rejects.toMatchObject({ name: "ReplayError", code: "lease-unavailable" });
  });
});

import { describe, expect, it } from "vitest";
import { assertConverged } from "./check.js";
import { forEachSeed, runSchedule } from "./schedule.js";
import { addCoverage, emptyCoverage } from "./stats.js";

/**
 * The same property with servers in the middle — they validate, reconcile and relay like the sync
 * server — and all three documents of a conversation: log, cache and hidden blobs. Odd seeds: one
 * server and 5 clients. Servers keep what they held (a later concurrent write is corrected: keep-held)
 * and enforce client-id ownership, as the sync server does. Even seeds: two server instances relaying to each other (as through Redis)
 * and 5 clients that land on a random instance at every reconnect. Every third seed, the first
 * server keeps deleted content (Yjs gc off).
 * A failure prints `SEED=<n>`; `SEED=<n> pnpm vitest run packages/testkit/src/convergence-star.test.ts` replays it.
 */
describe("replication property (servers + 5 clients, all three documents)", () => {
  it("400 schedules converge", () => {
    const c = emptyCoverage();
    forEachSeed({ runs: 400, firstSeed: 100_001, replay: "pnpm vitest run packages/testkit/src/convergence-star.test.ts" }, (seed) => {
      const servers = seed % 2 === 0 ? 2 : 1;
      const net = runSchedule({
        seed,
        replicas: servers + 5,
        topology: "star",
        servers,
        docs: ["log", "cache", "hidden"],
        gc: (i) => !(i === 0 && seed % 3 === 0),
      });
      try {
        addCoverage(c, net, assertConverged(net));
      } finally {
        net.destroy();
      }
    });
    if (process.env.SEED) return;
    expect(c.schedules).toBe(400);
    expect(c.maxReplicas).toBe(7);
    expect(c.dropped).toBeGreaterThan(0);
    expect(c.deferred).toBeGreaterThan(0);
    expect(c.lostOffline).toBeGreaterThan(0);
    expect(c.forksByReconciler).toBeGreaterThan(50);
    expect(c.maxAuthors).toBeGreaterThanOrEqual(5);
    expect(c.yjsPending).toBe(0);
    // Concurrent writes that reached a server later were corrected (the server kept what it held), and converged.
    expect(c.keptHeld).toBeGreaterThan(20);
  });
});

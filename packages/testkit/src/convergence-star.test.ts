import { describe, expect, it } from "vitest";
import { assertConverged } from "./check.js";
import { forEachSeed, runSchedule } from "./schedule.js";
import { addCoverage, emptyCoverage } from "./stats.js";

/**
 * The same property with a server in the middle (replica 0 validates, reconciles and relays, like
 * the sync server) and all three documents of a conversation: log, cache and hidden blobs.
 * A failure prints `SEED=<n>`; `SEED=<n> pnpm vitest run packages/testkit` replays it.
 */
describe("replication property (server + 5 clients, all three documents)", () => {
  it("400 schedules converge", () => {
    const c = emptyCoverage();
    forEachSeed({ runs: 400, firstSeed: 100_001, replay: "pnpm vitest run packages/testkit/src/convergence-star.test.ts" }, (seed) => {
      const net = runSchedule({ seed, replicas: 6, topology: "star", docs: ["log", "cache", "hidden"] });
      try {
        addCoverage(c, net, assertConverged(net));
      } finally {
        net.destroy();
      }
    });
    if (process.env.SEED) return;
    expect(c.schedules).toBe(400);
    expect(c.dropped).toBeGreaterThan(0);
    expect(c.lostOffline).toBeGreaterThan(0);
    expect(c.forksByReconciler).toBeGreaterThan(50);
    expect(c.maxAuthors).toBeGreaterThanOrEqual(5);
    expect(c.yjsPending).toBe(0);
  });
});

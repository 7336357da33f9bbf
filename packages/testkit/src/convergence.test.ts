import { describe, expect, it } from "vitest";
import { assertConverged } from "./check.js";
import { forEachSeed, runSchedule, type ScheduleOptions } from "./schedule.js";
import { addCoverage, emptyCoverage, type Coverage } from "./stats.js";

/**
 * The replication property: after any schedule of concurrent appends, forks, branch switches, notes
 * and offline periods over a lossy network, all replicas end identical, no entry is lost, every leaf
 * is a branch head, no transcript interleaves concurrent turns, and every update one replica produced
 * was accepted by the validator at every other. Seeds are fixed (CI is reproducible); a failure prints
 * `SEED=<n>`, and `SEED=<n> pnpm vitest run packages/testkit` replays it.
 */
const runMany = (runs: number, firstSeed: number, opts: Omit<ScheduleOptions, "seed">): Coverage => {
  const cov = emptyCoverage();
  forEachSeed({ runs, firstSeed, replay: "pnpm vitest run packages/testkit/src/convergence.test.ts" }, (seed) => {
    const net = runSchedule({ ...opts, seed });
    try {
      addCoverage(cov, net, assertConverged(net));
    } finally {
      net.destroy();
    }
  });
  return cov;
};

const replaying = process.env.SEED !== undefined && process.env.SEED !== "";

/** The schedules must really contain what the property is about. */
const expectExercised = (c: Coverage) => {
  if (replaying) return;
  expect(c.dropped).toBeGreaterThan(0);
  expect(c.duplicated).toBeGreaterThan(0);
  expect(c.deferred).toBeGreaterThan(0); // updates arrived before what they depend on
  expect(c.lostOffline).toBeGreaterThan(0);
  expect(c.forksByReconciler).toBeGreaterThan(c.schedules / 4); // concurrent continuations became forks
  expect(c.maxAuthors).toBeGreaterThanOrEqual(5);
  expect(c.yjsPending).toBe(0); // the validator never let through an update Yjs could not integrate
};

describe("replication property (mesh of 5 peers)", () => {
  it("600 schedules of the canonical log converge", () => {
    // Every fourth peer keeps deleted content (Yjs gc off): the same documents with other bytes.
    const c = runMany(600, 1, { replicas: 5, topology: "mesh", gc: (i) => i % 4 !== 3 });
    expect(c.schedules).toBe(replaying ? 1 : 600);
    expectExercised(c);
  });
});

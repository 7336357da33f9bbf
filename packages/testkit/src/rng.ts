// The one seeded generator lives in core (core's own tests use it); testkit re-exports it.
export { createRng, replayingSeed, seedFromEnv, seedsToRun, testSeed } from "@ctxsync/core";
export type { Rng } from "@ctxsync/core";

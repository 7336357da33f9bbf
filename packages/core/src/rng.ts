import * as prng from "lib0/prng";

/**
 * The project's one seeded pseudo-random generator (lib0's Xoroshiro128+, as Yjs's own fuzz tests
 * use), for every property test, fuzz test and generated fixture: everything random in a run —
 * ids, clients, faults, operations, generated traces — comes from one of these, so a seed replays
 * the same run. It lives in core (pure, no I/O) so that core's own tests can use it; testkit
 * re-exports it. `SEED=<n>` in the environment is the one variable that replays a run (see
 * docs/testkit.md).
 */
export interface Rng {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** A lowercase word of `min`..`max` letters. */
  word(min?: number, max?: number): string;
  /** `n` base-36 characters. */
  id(n: number): string;
  /** A generator for an independent stream (used per replica so adding one draw elsewhere does not shift it). */
  fork(): Rng;
}

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

export const createRng = (seed: number): Rng => {
  const gen = prng.create(seed);
  const rng: Rng = {
    seed,
    next: () => prng.real53(gen),
    int: (min, max) => prng.int53(gen, min, max),
    chance: (p) => prng.real53(gen) < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error("pick from an empty list");
      return items[prng.int53(gen, 0, items.length - 1)]!;
    },
    word: (min = 2, max = 9) => prng.word(gen, min, max),
    id(n) {
      let s = "";
      for (let i = 0; i < n; i++) s += ALPHABET[prng.int53(gen, 0, 35)];
      return s;
    },
    fork: () => createRng(prng.uint32(gen, 0, 0xffffffff)),
  };
  return rng;
};

type Env = Record<string, string | undefined>;
const processEnv = (): Env => (globalThis as { process?: { env?: Env } }).process?.env ?? {};

/**
 * The seed to use: `SEED=<n>` in the environment replays one run; otherwise `fallback`.
 * Accepts decimal or 0x-hex.
 */
export const seedFromEnv = (fallback: number, env: Env = processEnv()): number => {
  const raw = env.SEED;
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw.trim());
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`SEED must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
};

/** Whether `SEED` is set: a replay of one seed rather than the fixed default run. */
export const replayingSeed = (env: Env = processEnv()): boolean => env.SEED !== undefined && env.SEED.trim() !== "";

/**
 * The seed of a single-seed property test: `SEED` when set, else the fixed `fallback` (never the
 * clock: CI runs are reproducible). Printed, so that any run can be replayed.
 */
export const testSeed = (label: string, fallback: number, env: Env = processEnv()): number => {
  const seed = seedFromEnv(fallback, env);
  console.log(`${label}: SEED=${seed} (replay with SEED=${seed})`);
  return seed;
};

/** The seeds of a multi-seed property test: only `SEED` when set, else the fixed `defaults`. */
export const seedsToRun = (defaults: readonly number[], env: Env = processEnv()): number[] =>
  replayingSeed(env) ? [seedFromEnv(0, env)] : [...defaults];

import { assertConverged, type ConvergenceReport } from "./check.js";
import { createNetwork, type Network, type NetworkOptions } from "./network.js";
import { appendTurn, randomOp } from "./ops.js";
import { seedsToRun } from "./rng.js";
import { userTurn } from "./turns.js";

export interface ScheduleOptions extends Omit<NetworkOptions, "seed" | "replicas"> {
  readonly seed: number;
  readonly replicas?: number;
  /** Number of scheduler actions (device operations, network ticks, offline/online switches). */
  readonly steps?: number;
  /** Probability per action that a replica goes offline or comes back. */
  readonly churn?: number;
}

/**
 * One random schedule: devices append turns, fork, switch branches, write notes (and cache/hidden
 * state when those documents are held) while the network delivers, loses and reorders messages and
 * devices go offline; then everyone comes back and syncs. Returns the settled network (not yet checked).
 */
export const runSchedule = (opts: ScheduleOptions): Network => {
  const { seed, replicas = 5, steps = 60, churn = 0.08, ...netOpts } = opts;
  const net = createNetwork({ ...netOpts, seed, replicas });
  const rng = net.rng.fork();
  // Usually the conversation starts on one device and reaches the others before they diverge;
  // sometimes several devices start it independently (several roots).
  const starter = net.replicas[rng.int(0, replicas - 1)]!;
  appendTurn(net, starter, [userTurn(rng)]);
  net.note(`${starter.name} starts main`);
  if (rng.chance(0.85)) net.settle();
  for (let s = 0; s < steps; s++) {
    const x = rng.next();
    if (x < churn) {
      const r = rng.pick(net.replicas);
      if (r.online) net.goOffline(r.index);
      else net.goOnline(r.index);
    } else if (x < 0.55) {
      const r = rng.pick(net.replicas);
      net.note(randomOp(net, r, rng));
    } else {
      net.step();
    }
  }
  net.settle();
  return net;
};

export interface PropertyOptions {
  /** Number of schedules; `SEED=<n>` in the environment runs only schedule n. */
  readonly runs: number;
  /** First seed (default 1): schedule i uses seed `firstSeed + i` (new ranges: scripts/explore.ts). */
  readonly firstSeed?: number;
  /** The command that replays a seed, printed after `SEED=<n>` on failure (e.g. "pnpm vitest run <file>"). */
  readonly replay?: string;
}

/**
 * Run a property over many seeded schedules. On the first failure, throws with `SEED=<n>` so that
 * `SEED=<n> pnpm vitest run <file>` replays exactly that schedule.
 */
export const forEachSeed = (opts: PropertyOptions, fn: (seed: number) => void, env: Record<string, string | undefined> = process.env): number[] => {
  const base = opts.firstSeed ?? 1;
  const seeds = seedsToRun(Array.from({ length: opts.runs }, (_, i) => base + i), env);
  const range = seeds.length === 1 ? `SEED=${seeds[0]}` : `seeds ${seeds[0]}..${seeds[seeds.length - 1]}`;
  console.log(`property${opts.replay ? ` (${opts.replay})` : ""}: ${range}; replay one with SEED=<n>`);
  for (const seed of seeds) {
    try {
      fn(seed);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const how = `SEED=${seed}${opts.replay ? ` ${opts.replay}` : ""}`;
      const err = new Error(msg.includes(`SEED=${seed}`) ? `${msg}\nreplay: ${how}` : `SEED=${seed}: ${msg}\nreplay: ${how}`);
      console.error(`property failed: replay with ${how}`);
      throw err;
    }
  }
  return seeds;
};

/** Run a schedule and check convergence; throws (with the seed) when the replicas disagree. */
export const checkSchedule = (opts: ScheduleOptions): ConvergenceReport => {
  const net = runSchedule(opts);
  try {
    return assertConverged(net);
  } finally {
    net.destroy();
  }
};

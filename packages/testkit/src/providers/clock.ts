/**
 * A virtual clock: the simulators read time from it, the benchmark moves it. Hours of idle gaps
 * between turns cost nothing to replay; TTLs, stored-response expiry and cache lifetimes all follow it.
 */
export interface VirtualClock {
  /** Milliseconds (any epoch; starts at `start`). */
  now(): number;
  /** Move time forward (negative values are refused: TTLs must never run backwards). */
  advance(ms: number): void;
  /** Jump to an absolute time not before now. */
  set(ms: number): void;
}

export const createVirtualClock = (start = Date.UTC(2026, 0, 1)): VirtualClock => {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      if (!(ms >= 0)) throw new RangeError(`the virtual clock only moves forward (got ${ms} ms)`);
      t += ms;
    },
    set(ms) {
      if (!(ms >= t)) throw new RangeError(`the virtual clock only moves forward (${ms} < ${t})`);
      t = ms;
    },
  };
};

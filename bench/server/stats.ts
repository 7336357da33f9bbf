import { median, percentile } from "../lib/stats.js";

export { median, percentile };
// Percentiles and the summary line.
import type { ServerName } from "./config.js";

export const round = (x: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export interface ServerFigures {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly peakRssMb: number;
  readonly cpuS: number;
  /** Present when some (entry, receiver) pairs never arrived: the latencies cover the rest only. */
  readonly incomplete?: string;
  /** Rounds of this server that failed (the figures come from the others). */
  readonly failedRounds?: number;
}

export type ServerOutcome = ServerFigures | { readonly error: string };


const ok = (o: ServerOutcome | undefined): o is ServerFigures => o !== undefined && !("error" in o);

/** ctxsync ÷ the better peer (lower value) for one figure; null when ctxsync or both peers failed. */
export const ratioBestPeer = (
  results: Partial<Record<ServerName, ServerOutcome>>,
  figure: "p99Ms" | "peakRssMb",
): number | null => {
  const own = results.ctxsync;
  const peers = [results.ywebsocket, results.hocuspocus].filter(ok);
  if (!ok(own) || peers.length === 0) return null;
  const best = Math.min(...peers.map((p) => p[figure]));
  return best > 0 ? round(own[figure] / best, 3) : null;
};

/** One outcome from several rounds of one server: the median of each figure over the rounds that worked. */
export const combineRounds = (rounds: readonly ServerOutcome[]): ServerOutcome => {
  const good = rounds.filter(ok);
  if (good.length === 0) return rounds[0] ?? { error: "not run" };
  const failed = rounds.length - good.length;
  const incomplete = good.map((g) => g.incomplete).filter((x) => x !== undefined);
  return {
    p50Ms: round(median(good.map((g) => g.p50Ms))),
    p99Ms: round(median(good.map((g) => g.p99Ms))),
    peakRssMb: round(median(good.map((g) => g.peakRssMb)), 1),
    cpuS: round(median(good.map((g) => g.cpuS))),
    ...(incomplete.length > 0 ? { incomplete: incomplete.join("; ") } : {}),
    ...(failed > 0 ? { failedRounds: failed } : {}),
  };
};

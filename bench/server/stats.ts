// Percentiles and the summary line.
import type { ServerName } from "./config.js";

/** Nearest-rank percentile of ascending `sorted` (q in 0..1); NaN when empty. */
export const percentile = (sorted: readonly number[], q: number): number => {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
};

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

import type { ConvergenceReport } from "./check.js";
import { emptyStats, type Network, type NetworkStats } from "./network.js";

/** Totals over many schedules, so a property test can show it exercised what it claims (loss, forks, offline...). */
export interface Coverage extends NetworkStats {
  schedules: number;
  entries: number;
  forksByReconciler: number;
  maxAuthors: number;
  maxReplicas: number;
}

export const emptyCoverage = (): Coverage => ({
  ...emptyStats(),
  schedules: 0,
  entries: 0,
  forksByReconciler: 0,
  maxAuthors: 0,
  maxReplicas: 0,
});

export const addCoverage = (c: Coverage, net: Network, report: ConvergenceReport): void => {
  c.schedules++;
  for (const k of Object.keys(net.stats) as (keyof NetworkStats)[]) c[k] += net.stats[k];
  c.entries += report.summary.entries;
  c.forksByReconciler += report.summary.forksByReconciler;
  c.maxAuthors = Math.max(c.maxAuthors, report.summary.authors);
  c.maxReplicas = Math.max(c.maxReplicas, net.replicas.length);
};

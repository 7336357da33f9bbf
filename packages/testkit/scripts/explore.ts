/**
 * Explore many more schedules than CI runs, over harsher configurations, and print failing seeds.
 *   npx tsx --conditions=development packages/testkit/scripts/explore.ts [firstSeed] [runsPerConfig]
 * A failing line gives the configuration and the seed; rebuild it with runSchedule({ ...config, seed }).
 */
import { checkConvergence, runSchedule, type ScheduleOptions } from "../src/index.js";

export const CONFIGS: ReadonlyArray<readonly [string, Omit<ScheduleOptions, "seed">]> = [
  ["mesh7-long-gcmix", { replicas: 7, steps: 150, churn: 0.12, gc: (i) => i % 3 !== 0 }],
  ["mesh5-lossy", { replicas: 5, steps: 100, faults: { drop: 0.4, duplicate: 0.3, maxDelay: 10, resync: 0.05 } }],
  ["mesh3-noresync", { replicas: 3, steps: 80, faults: { drop: 0.2, resync: 0 } }],
  ["star1srv-3docs-long", { replicas: 6, topology: "star", docs: ["log", "cache", "hidden"], steps: 150 }],
  ["star2srv-3docs-nogc", { replicas: 7, topology: "star", servers: 2, docs: ["log", "cache", "hidden"], steps: 150, gc: (i) => i > 0 }],
  ["star3srv-lossy", { replicas: 8, topology: "star", servers: 3, steps: 100, churn: 0.15, faults: { drop: 0.3, duplicate: 0.2, maxDelay: 8, resync: 0.1 } }],
];

const first = Number(process.argv[2] ?? 1_000_000);
const runs = Number(process.argv[3] ?? 200);
let failed = 0;
for (const [name, config] of CONFIGS) {
  let fails = 0;
  const t0 = performance.now();
  for (let seed = first; seed < first + runs; seed++) {
    try {
      const net = runSchedule({ ...config, seed });
      const report = checkConvergence(net);
      net.destroy();
      if (report.ok) continue;
      fails++;
      if (fails <= 3) console.log(JSON.stringify({ config: name, seed, problems: report.problems.slice(0, 4) }));
    } catch (e) {
      fails++;
      if (fails <= 3) console.log(JSON.stringify({ config: name, seed, threw: String(e).slice(0, 400) }));
    }
  }
  failed += fails;
  console.log(JSON.stringify({ config: name, runs, fails, ms: Math.round(performance.now() - t0) }));
}
process.exit(failed > 0 ? 1 : 0);

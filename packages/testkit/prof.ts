import { runSchedule, checkConvergence } from "@ctxsync/testkit";
const N = Number(process.argv[2] ?? 50);
const docs = process.argv[3] ? process.argv[3].split(",") as any : undefined;
const topology = (process.argv[4] ?? "mesh") as any;
const replicas = Number(process.argv[5] ?? 5);
let tr = 0, tc = 0;
for (let seed = 1; seed <= N; seed++) {
  const t0 = performance.now();
  const net = runSchedule({ seed, docs, topology, replicas });
  const t1 = performance.now();
  const rep = checkConvergence(net);
  tc += performance.now() - t1; tr += t1 - t0;
  if (!rep.ok) console.log(seed, rep.problems);
  net.destroy();
}
console.log({ run: tr / N, check: tc / N });

// `pnpm bench server`: the same load against ctxsync, the y-websocket reference server and
// Hocuspocus, one after another. Per server: end-to-end propagation latency p50/p99 over
// every (entry, receiving client) pair, the server's peak RSS and its CPU seconds during the
// load. Prints a config line, one JSON line per server, then the summary line. See README.md.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseLoadArgs, type LoadConfig, type ServerName } from "./server/config.js";
import { sampleProcessTree } from "./server/proc-stats.js";
import { runLoad } from "./server/run-load.js";
import { serverCommand } from "./server/servers.js";
import { freePort, startServer } from "./server/spawn-server.js";
import { combineRounds, percentile, ratioBestPeer, round, type ServerOutcome } from "./server/stats.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const print = (o: object) => console.log(JSON.stringify(o));
const ctxsyncOptions = (cfg: LoadConfig) => ({ root: cfg.ctxsyncRoot, args: cfg.ctxsyncArgs });

/** One round against one server: start it, run the load, print the round's line, stop it. */
const benchOne = async (name: ServerName, cfg: LoadConfig, roundNo: number): Promise<ServerOutcome> => {
  const dataDir = mkdtempSync(join(tmpdir(), `bench-server-${name}-`));
  try {
    const port = await freePort();
    const server = await startServer(serverCommand(name, repoRoot, port, dataDir, ctxsyncOptions(cfg)), port);
    const sampler = sampleProcessTree(server.pid);
    try {
      // CPU is counted from here (server up, no client yet) until every client has its entries,
      // so the transpile-and-boot cost of `node --import tsx` is left out; it is reported apart.
      const cpuBefore = sampler.cpuSeconds();
      let cpuAfter = NaN;
      const load = await runLoad(cfg, `ws://127.0.0.1:${port}/sync`, repoRoot, () => (cpuAfter = sampler.cpuSeconds()));
      const cpuS = cpuAfter - cpuBefore;
      const validation = name === "ctxsync" ? await validatorCost(port) : undefined;
      const { peakRssMb } = sampler.stop();
      const sorted = [...load.latenciesMs].sort((a, b) => a - b);
      const delivered = sorted.length;
      const figures = {
        p50Ms: round(percentile(sorted, 0.5)),
        p99Ms: round(percentile(sorted, 0.99)),
        peakRssMb: round(peakRssMb, 1),
        cpuS: round(cpuS, 2),
      };
      print({
        bench: "server",
        server: name,
        round: roundNo,
        ...figures,
        p90Ms: round(percentile(sorted, 0.9)),
        maxMs: round(sorted[sorted.length - 1] ?? NaN),
        startupCpuS: round(cpuBefore, 2),
        idleRssMb: round(sampler.startRssMb, 1),
        delivered,
        expected: load.expected,
        completeClients: load.completeClients,
        clients: cfg.clients,
        sent: load.sent,
        connectMs: Math.round(load.connectMs),
        loadMs: Math.round(load.loadMs),
        closes: load.closes,
        clientCpuS: round(load.clientCpuS, 2),
        clientLoopDelayP99Ms: round(load.clientLoopDelayP99Ms, 1),
        ...(validation ? { validateUsPerUpdate: validation.usPerUpdate, validatedUpdates: validation.count } : {}),
        ...(load.appendErrors.length > 0 ? { appendErrors: load.appendErrors } : {}),
      });
      if (delivered === 0) return { error: `no entry delivered (sent ${load.sent}, closes ${JSON.stringify(load.closes)})` };
      return delivered < load.expected ? { ...figures, incomplete: `delivered ${delivered} of ${load.expected}` } : figures;
    } finally {
      sampler.stop();
      await server.stop();
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    print({ bench: "server", server: name, round: roundNo, error: message });
    // One line for the summary: the reason and the start of the server's own output.
    return { error: message.replace(/\s*\n\s*/g, " | ").slice(0, 300) };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
};

/** ctxsync only: mean time its server spent judging one incoming update to C (its /metrics histogram). */
const validateCosts: number[] = [];
const validatorCost = async (port: number): Promise<{ usPerUpdate: number; count: number } | undefined> => {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const read = (series: string) => Number(new RegExp(`^${series}\\{kind="log"\\} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
    const sum = read("ctxsync_validate_seconds_sum");
    const count = read("ctxsync_validate_seconds_count");
    if (!(count > 0)) return undefined;
    const usPerUpdate = round((sum / count) * 1e6, 1);
    validateCosts.push(usPerUpdate);
    return { usPerUpdate, count };
  } catch {
    return undefined;
  }
};

const main = async () => {
  const cfg = parseLoadArgs(process.argv.slice(2));
  print({
    bench: "server",
    config: {
      clients: cfg.clients,
      rooms: cfg.rooms,
      entriesPerClient: cfg.entries,
      intervalMs: cfg.intervalMs,
      jitterMs: cfg.jitterMs,
      workers: cfg.workers,
      rounds: cfg.rounds,
      servers: cfg.servers,
      ...(cfg.ctxsyncRoot !== undefined ? { ctxsyncRoot: cfg.ctxsyncRoot } : {}),
      ...(cfg.ctxsyncArgs.length > 0 ? { ctxsyncArgs: cfg.ctxsyncArgs } : {}),
    },
  });
  // Rounds are interleaved so that a burst of load from elsewhere on the machine hits one round
  // of one server, not all rounds of it; the median then drops it.
  const rounds = new Map<ServerName, ServerOutcome[]>();
  for (const name of cfg.servers) {
    try {
      serverCommand(name, repoRoot, 0, tmpdir(), ctxsyncOptions(cfg)); // is its entry point there at all?
      rounds.set(name, []);
    } catch (err) {
      rounds.set(name, [{ error: err instanceof Error ? err.message : String(err) }]);
    }
  }
  const runnable = cfg.servers.filter((n) => rounds.get(n)!.length === 0);
  for (let r = 1; r <= cfg.rounds; r++) for (const name of runnable) rounds.get(name)!.push(await benchOne(name, cfg, r));
  const results: Partial<Record<ServerName, ServerOutcome>> = {};
  for (const [name, outcomes] of rounds) {
    results[name] = combineRounds(outcomes);
    print({ bench: "server", server: name, rounds: runnable.includes(name) ? outcomes.length : 0, ...results[name] });
  }
  print({
    bench: "server",
    ctxsync: results.ctxsync ?? null,
    ywebsocket: results.ywebsocket ?? null,
    hocuspocus: results.hocuspocus ?? null,
    p99RatioBestPeer: ratioBestPeer(results, "p99Ms"),
    ctxsyncValidateUsPerUpdate: validateCosts.length > 0 ? [...validateCosts].sort((a, b) => a - b)[Math.floor(validateCosts.length / 2)] : null,
    rssRatioBestPeer: ratioBestPeer(results, "peakRssMb"),
  });
};

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

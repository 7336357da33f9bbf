// Drive one load run against a server: fork the client workers, wait until every client is
// connected and synced, start all appends at one common instant, collect the results.
import { fork, type ChildProcess } from "node:child_process";
import { setPriority } from "node:os";
import { fileURLToPath } from "node:url";
import type { LoadConfig } from "./config.js";
import type { FromWorker, LoadPlan, ToWorker, WorkerResult } from "./messages.js";

const workerPath = fileURLToPath(new URL("./worker.ts", import.meta.url));

/** The workers' results summed up (latencies concatenated), plus timings of the whole run. */
export interface LoadResult extends Omit<WorkerResult, "cpuS" | "loopDelayP99Ms"> {
  readonly connectMs: number;
  /** From the common start instant until every worker reported. */
  readonly loadMs: number;
  /** CPU seconds of all client workers during the load. */
  readonly clientCpuS: number;
  /** Worst worker's event-loop delay p99 (ms). */
  readonly clientLoopDelayP99Ms: number;
}

/** Room of client `i`: consecutive clients land in different rooms and different workers. */
export const roomOf = (cfg: LoadConfig, i: number) => `bench-${i % cfg.rooms}`;

const plans = (cfg: LoadConfig, url: string): LoadPlan[] => {
  const perWorker = Math.ceil(cfg.clients / cfg.workers);
  const out: LoadPlan[] = [];
  for (let w = 0; w < cfg.workers; w++) {
    const clients = [];
    for (let i = w * perWorker; i < Math.min(cfg.clients, (w + 1) * perWorker); i++) clients.push({ index: i, room: roomOf(cfg, i) });
    if (clients.length === 0) continue;
    out.push({
      url,
      clients,
      clientsPerRoom: cfg.clients / cfg.rooms,
      entriesPerClient: cfg.entries,
      intervalMs: cfg.intervalMs,
      jitterMs: cfg.jitterMs,
      connectTimeoutMs: cfg.connectTimeoutMs,
      deliveryTimeoutMs: cfg.deliveryTimeoutMs,
    });
  }
  return out;
};

/** Resolve with each worker's first message of `type`; reject on an error message, exit or timeout. */
const collect = <T extends FromWorker["type"]>(
  workers: readonly ChildProcess[],
  type: T,
  timeoutMs: number,
): Promise<Extract<FromWorker, { type: T }>[]> =>
  new Promise((resolve, reject) => {
    const got = new Map<ChildProcess, Extract<FromWorker, { type: T }>>();
    const cleanups: (() => void)[] = [];
    const finish = (err?: Error) => {
      clearTimeout(timer);
      cleanups.forEach((c) => c());
      if (err) reject(err);
      else resolve(workers.map((w) => got.get(w)!));
    };
    const timer = setTimeout(() => finish(new Error(`workers: no "${type}" from ${workers.length - got.size} of ${workers.length} after ${timeoutMs} ms`)), timeoutMs);
    for (const w of workers) {
      const onMessage = (m: FromWorker) => {
        if (m.type === "error") finish(new Error(`worker ${w.pid}: ${m.message}`));
        else if (m.type === type) {
          got.set(w, m as Extract<FromWorker, { type: T }>);
          if (got.size === workers.length) finish();
        }
      };
      const onExit = (code: number | null) => finish(new Error(`worker ${w.pid} exited (${code}) while waiting for "${type}"`));
      w.on("message", onMessage);
      w.on("exit", onExit);
      cleanups.push(() => {
        w.off("message", onMessage);
        w.off("exit", onExit);
      });
    }
  });

const stopWorkers = async (workers: readonly ChildProcess[]) => {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.exitCode !== null || w.signalCode !== null) return resolve();
          const timer = setTimeout(() => w.kill("SIGKILL"), 3000);
          w.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          if (w.connected) w.send({ type: "stop" } satisfies ToWorker);
          else w.kill("SIGTERM");
        }),
    ),
  );
};

/**
 * `onDelivered` runs once every worker has reported, before the clients disconnect, so the
 * server's CPU can be read without the disconnect storm.
 */
export const runLoad = async (cfg: LoadConfig, url: string, repoRoot: string, onDelivered: () => void = () => {}): Promise<LoadResult> => {
  const workerPlans = plans(cfg, url);
  const workers = workerPlans.map(() =>
    fork(workerPath, [], { cwd: repoRoot, execArgv: ["--import", "tsx", "--conditions=development"], stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  if (cfg.clientNice > 0) for (const w of workers) setPriority(w.pid!, cfg.clientNice);
  try {
    const ready = collect(workers, "ready", cfg.connectTimeoutMs + 30_000); // + worker start-up
    workers.forEach((w, i) => w.send({ type: "plan", plan: workerPlans[i]! } satisfies ToWorker));
    const connected = await ready;
    const at = performance.timeOrigin + performance.now() + 300;
    const done = collect(workers, "done", cfg.entries * (cfg.intervalMs + cfg.jitterMs) + cfg.intervalMs + cfg.deliveryTimeoutMs + 10_000);
    workers.forEach((w) => w.send({ type: "go", at } satisfies ToWorker));
    const results: WorkerResult[] = (await done).map((m) => m.result);
    onDelivered();
    const loadMs = performance.timeOrigin + performance.now() - at;
    const closes: Record<string, number> = {};
    for (const r of results) for (const [code, n] of Object.entries(r.closes)) closes[code] = (closes[code] ?? 0) + n;
    return {
      connectMs: Math.max(...connected.map((m) => m.connectMs)),
      loadMs,
      latenciesMs: results.flatMap((r) => r.latenciesMs),
      sent: results.reduce((n, r) => n + r.sent, 0),
      expected: results.reduce((n, r) => n + r.expected, 0),
      completeClients: results.reduce((n, r) => n + r.completeClients, 0),
      closes,
      appendErrors: results.flatMap((r) => r.appendErrors).slice(0, 5),
      clientCpuS: results.reduce((n, r) => n + r.cpuS, 0),
      clientLoopDelayP99Ms: Math.max(...results.map((r) => r.loopDelayP99Ms)),
    };
  } finally {
    await stopWorkers(workers);
  }
};

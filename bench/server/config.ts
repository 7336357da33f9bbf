// The load of issue 4 and its command-line overrides (for quick runs while developing).
import { resolve } from "node:path";
import { parseArgs } from "node:util";

export const SERVER_NAMES = ["ctxsync", "ywebsocket", "hocuspocus"] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

export interface LoadConfig {
  readonly clients: number;
  readonly rooms: number;
  readonly entries: number;
  readonly intervalMs: number;
  readonly jitterMs: number;
  readonly workers: number;
  /**
   * Niceness of the client worker processes. The clients stand in for users on other machines;
   * on a small shared host they would otherwise starve the server under test and the latency
   * would measure the scheduler's queue. 10 lets the server take the CPU first.
   */
  readonly clientNice: number;
  readonly connectTimeoutMs: number;
  readonly deliveryTimeoutMs: number;
  /** Rounds of all servers, interleaved (A B C A B C …); each figure is the median over rounds. */
  readonly rounds: number;
  /** Checkout whose `apps/cli/src/main.ts` is the ctxsync server; default: this repository. */
  readonly ctxsyncRoot: string | undefined;
  /** Extra arguments for `ctxsync serve` (e.g. `--sqlite-sync normal`), split on whitespace. */
  readonly ctxsyncArgs: readonly string[];
  /** Which servers to run, in order. */
  readonly servers: readonly ServerName[];
}

/** 200 clients over 50 rooms, each appending 20 entries ~100 ms apart, in 4 client processes. */
export const DEFAULT_LOAD: LoadConfig = {
  clients: 200,
  rooms: 50,
  entries: 20,
  intervalMs: 100,
  jitterMs: 30,
  workers: 4,
  clientNice: 10,
  connectTimeoutMs: 20_000,
  deliveryTimeoutMs: 15_000,
  rounds: 5,
  ctxsyncRoot: undefined,
  ctxsyncArgs: [],
  servers: SERVER_NAMES,
};

const USAGE = `usage: pnpm bench server [--clients N] [--rooms N] [--entries N] [--interval MS] [--jitter MS]
       [--workers N] [--client-nice N] [--delivery-timeout MS] [--rounds N] [--ctxsync-root DIR] [--ctxsync-args="--sqlite-sync normal"] [--only ctxsync,ywebsocket,hocuspocus]`;

const parseArgsOrExplain: typeof parseArgs = (config) => {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`, { cause: err });
  }
};

export const parseLoadArgs = (argv: readonly string[]): LoadConfig => {
  const { values } = parseArgsOrExplain({
    args: [...argv],
    options: {
      clients: { type: "string" },
      rooms: { type: "string" },
      entries: { type: "string" },
      interval: { type: "string" },
      jitter: { type: "string" },
      workers: { type: "string" },
      "client-nice": { type: "string" },
      "delivery-timeout": { type: "string" },
      rounds: { type: "string" },
      "ctxsync-root": { type: "string" },
      "ctxsync-args": { type: "string" },
      only: { type: "string" },
    },
  });
  const num = (v: string | undefined, fallback: number, name: string, min: number): number => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}\n${USAGE}`);
    return n;
  };
  const d = DEFAULT_LOAD;
  const servers = values.only === undefined ? d.servers : values.only.split(",").map((s) => s.trim());
  for (const s of servers)
    if (!(SERVER_NAMES as readonly string[]).includes(s)) throw new Error(`--only: unknown server ${JSON.stringify(s)}\n${USAGE}`);
  const cfg: LoadConfig = {
    ...d,
    clients: num(values.clients, d.clients, "clients", 2),
    rooms: num(values.rooms, d.rooms, "rooms", 1),
    entries: num(values.entries, d.entries, "entries", 1),
    intervalMs: num(values.interval, d.intervalMs, "interval", 1),
    jitterMs: num(values.jitter, d.jitterMs, "jitter", 0),
    workers: num(values.workers, d.workers, "workers", 1),
    clientNice: num(values["client-nice"], d.clientNice, "client-nice", 0),
    deliveryTimeoutMs: num(values["delivery-timeout"], d.deliveryTimeoutMs, "delivery-timeout", 1),
    rounds: num(values.rounds, d.rounds, "rounds", 1),
    ctxsyncRoot: values["ctxsync-root"] === undefined ? undefined : resolve(values["ctxsync-root"]),
    ctxsyncArgs: (values["ctxsync-args"] ?? "").split(/\s+/).filter((a) => a !== ""),
    servers: servers as ServerName[],
  };
  if (cfg.clients % cfg.rooms !== 0 || cfg.clients / cfg.rooms < 2)
    throw new Error(`--clients must be a multiple of --rooms with at least 2 clients per room\n${USAGE}`);
  if (cfg.jitterMs >= cfg.intervalMs) throw new Error(`--jitter must be below --interval\n${USAGE}`);
  return cfg;
};

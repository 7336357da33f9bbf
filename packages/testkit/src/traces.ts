import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createRng, messageToEntry, SYSTEM_PROMPT_INFO, type EntryId, type EntryInput, type TranscriptMessage } from "@ctxsync/core";
import type { Network, Replica } from "./network.js";
import { appendTurn } from "./ops.js";
import type { Rng } from "./rng.js";
import { generateCorpus, toJsonl } from "./trace-generator.js";
import { sentence } from "./turns.js";

/**
 * The shared agent traces live next to the repository, at `<repo root>/../shared/traces` (never copied
 * in). Node only. The repository root is the nearest ancestor of `from` with a pnpm-workspace.yaml.
 */
export const tracesDir = (from: string = process.cwd()): string | undefined => {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) {
      const traces = resolve(dir, "..", "shared", "traces");
      return existsSync(traces) ? traces : undefined;
    }
    if (dirname(dir) === dir) return undefined;
  }
};

/** Every `*.jsonl` trace under the traces directory, sorted; empty when the directory is absent. */
export const traceFiles = (from?: string): string[] => {
  const dir = tracesDir(from);
  if (!dir) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(join(dir, d.name))
        .filter((f) => f.endsWith(".jsonl"))
        .map((f) => join(dir, d.name, f)),
    )
    .sort();
};

/**
 * Tests over the trace corpus. A clone with nothing beside it has no `../shared/traces`: tests
 * that need the real corpus itself skip with a one-line reason, and everything else runs on traces
 * the project generates. `CTXSYNC_REQUIRE_TRACES=1` (set by `.ci/run`) makes the real corpus
 * mandatory: its absence is then an error, never a skip.
 */
export const REQUIRE_TRACES = "CTXSYNC_REQUIRE_TRACES";

/** Why the shared corpus cannot be used (undefined when it can); throws under CTXSYNC_REQUIRE_TRACES=1. */
export const sharedTracesMissing = (from?: string, env: Record<string, string | undefined> = process.env): string | undefined => {
  if (traceFiles(from).length > 0) return undefined;
  const why = "../shared/traces (the shared agent-trace corpus) is not beside the repository";
  if (env[REQUIRE_TRACES] === "1") throw new Error(`${REQUIRE_TRACES}=1 but ${why}`);
  if (!toldMissing) console.log(`skipping the tests that need the real trace corpus: ${why}`);
  toldMissing = true;
  return why;
};

let toldMissing = false;

export interface TraceCorpus {
  /** `shared`: the real corpus; `generated`: seeded traces written to a temporary directory. */
  readonly source: "shared" | "generated";
  readonly dir: string;
  /** Absolute paths of the `.jsonl` files, sorted (`<dir>/<folder>/<name>.jsonl`). */
  readonly files: readonly string[];
}

/**
 * The traces a test or an example runs on: the shared corpus when it is there, else `generated`
 * traces from `seed` (default 24 traces, seed 1), written once per process under the OS temporary
 * directory in the corpus's layout. Says which on stdout.
 */
export const traceCorpus = (opts: { from?: string; generated?: number; seed?: number; quiet?: boolean } = {}): TraceCorpus => {
  const shared = sharedTracesMissing(opts.from) === undefined ? traceFiles(opts.from) : [];
  if (shared.length > 0) return { source: "shared", dir: tracesDir(opts.from)!, files: shared };
  const count = opts.generated ?? 24;
  const seed = opts.seed ?? 1;
  const key = `${seed}:${count}`;
  let dir = written.get(key);
  if (dir === undefined) {
    dir = mkdtempSync(join(tmpdir(), "ctxsync-traces-"));
    const made = dir;
    process.once("exit", () => rmSync(made, { recursive: true, force: true }));
    for (const t of generateCorpus(createRng(seed), count)) {
      const file = join(dir, `${t.name}.jsonl`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, toJsonl(t.messages));
    }
    written.set(key, dir);
    if (!opts.quiet) console.log(`traces: ${count} generated traces (seed ${seed}) in ${dir}: ../shared/traces is absent`);
  }
  const root = dir;
  const files = readdirSync(root, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".jsonl"))
    .map((f) => join(root, f))
    .sort();
  return { source: "generated", dir: root, files };
};
const written = new Map<string, string>();

/**
 * Split a transcript into the turns a device appends at once: a user message, or an assistant
 * message with the tool results that answer it. A leading system message is not a turn.
 */
export const transcriptTurns = (messages: readonly TranscriptMessage[]): EntryInput[][] => {
  const rest = messages[0]?.role === "system" ? messages.slice(1) : messages;
  const turns: EntryInput[][] = [];
  for (const m of rest) {
    const entry = messageToEntry(m);
    const last = turns[turns.length - 1];
    if (m.role === "tool" && last) last.push(entry);
    else turns.push([entry]);
  }
  return turns;
};

export interface ReplayOptions {
  /** Network ticks between turns (messages fly, get lost and reordered meanwhile). */
  readonly ticksBetweenTurns?: number;
  /** Probability per turn that some other device goes offline or comes back. */
  readonly churn?: number;
  /** Probability per turn that some device writes a debugging note. */
  readonly notes?: number;
}

/**
 * Replay a transcript on branch `main`, each turn appended by a randomly chosen device. Before its
 * turn, a device waits (ticks of the lossy network, then a reconnect and resync if needed) until it
 * has the previous turn, like a user who picks up the conversation on another device. Other devices
 * go offline and come back and write notes meanwhile. Returns the ids of the appended entries.
 */
export const replayTranscript = (net: Network, messages: readonly TranscriptMessage[], rng: Rng, opts: ReplayOptions = {}): EntryId[] => {
  const { ticksBetweenTurns = 2, churn = 0.1, notes = 0.05 } = opts;
  const ids: EntryId[] = [];
  let previous: EntryId | undefined;
  const system = messages[0]?.role === "system" ? messages[0].content : undefined;
  if (system !== undefined) rng.pick(net.replicas).log.setInfo(SYSTEM_PROMPT_INFO, system);
  for (const turn of transcriptTurns(messages)) {
    const r = rng.pick(net.replicas);
    catchUp(net, r, previous);
    r.branch = "main";
    const made = appendTurn(net, r, turn, rng.chance(0.5));
    for (const e of made) ids.push(e.id);
    previous = ids[ids.length - 1];
    for (let t = 0; t < ticksBetweenTurns; t++) net.step();
    if (rng.chance(churn)) {
      const other = rng.pick(net.replicas);
      if (other !== r && other.online) net.goOffline(other.index);
      else net.goOnline(other.index);
    }
    if (rng.chance(notes)) {
      const w = rng.pick(net.replicas);
      const entries = w.log.entries();
      if (entries.length > 0) w.log.addNote(rng.pick(entries).id, sentence(rng, 1, 5), w.name);
    }
  }
  return ids;
};

/** Let the network run until `r` has entry `id`; reconnect and resync when waiting does not help. */
const catchUp = (net: Network, r: Replica, id: EntryId | undefined): void => {
  if (id === undefined) return;
  const has = () => r.log.index.has(id);
  for (let attempt = 0; !has(); attempt++) {
    if (attempt > 50) throw new Error(`SEED=${net.seed}: ${r.name} never received ${id}`);
    if (!r.online) net.goOnline(r.index);
    for (let s = 0; s < net.servers; s++) net.goOnline(s); // servers restart
    for (let t = 0; t < 4 && !has(); t++) net.step();
    if (has()) return;
    const author = [...net.replicas].find((x) => x.log.index.has(id));
    if (author && !author.online) net.goOnline(author.index);
    if (author) {
      // In a star the path goes author -> its server -> (other servers) -> r's server -> r.
      const a = net.serverOf(author.index);
      const b = net.serverOf(r.index);
      if (a === undefined || b === undefined) net.resync(r.index, author.index, true);
      else {
        if (a !== author.index) net.resync(author.index, a, true);
        if (a !== b) net.resync(a, b, true);
        if (b !== r.index) net.resync(r.index, b, true);
      }
    }
  }
};

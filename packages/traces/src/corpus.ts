import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createRng } from "@ctxsync/core";
import { generateCorpus, toJsonl } from "./generator.js";

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


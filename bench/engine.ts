/**
 * `pnpm bench engine`: time to first token of the local engine (llama.cpp KV cache via
 * node-llama-cpp, CPU) at 1k, 4k and 8k prompt tokens, three ways:
 *   cold    – empty slot, the whole prompt is evaluated;
 *   warm    – the slot already holds the prompt minus its last 50 tokens (the previous
 *             turn), so only those 50 are evaluated;
 *   restore – the slot is empty, the prefix's KV state is loaded from disk, then the 50
 *             new tokens are evaluated (the restore time is included).
 * Prints one JSON line per size and a summary line last. Uses the project's generated
 * test model (no download). Options: --sizes 1024,4096,8192 --reps 3 --threads N
 */
import { mkdir, rm } from "node:fs/promises";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createEngine, generateTestModel, type Engine } from "@ctxsync/local-engine";
import { median } from "./lib/stats.js";

const { values } = parseArgs({
  options: { sizes: { type: "string" }, reps: { type: "string" }, threads: { type: "string" }, suffix: { type: "string" } },
});
const sizes = (values.sizes ?? "1024,4096,8192").split(",").map(Number);
const reps = Number(values.reps ?? 3);
const suffixTokens = Number(values.suffix ?? 50);
const threads = Number(values.threads ?? os.availableParallelism());
const maxSize = Math.max(...sizes);

const out = join(dirname(fileURLToPath(import.meta.url)), ".out", "engine");
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const model = await generateTestModel({ seed: 1, path: join(out, "tiny-llama-s1.gguf") });
const engine = await createEngine({
  modelPath: model.path,
  slots: 2,
  contextSize: maxSize + 256,
  threads,
  flashAttention: false,
  stateDir: join(out, "state"),
});

const round = (x: number) => Math.round(x * 100) / 100;

/** A deterministic prompt of exactly n tokens (BOS + repeated agent-like text). */
function promptOf(e: Engine, n: number): number[] {
  const text = "The user asked the assistant to sync the agent state across devices; the model said the cache holds the prefix tokens. ";
  let tokens = e.tokenize(text);
  while (tokens.length < n) tokens = e.tokenize(text.repeat(Math.ceil((n / tokens.length) * 1.2)));
  return tokens.slice(0, n);
}

/** TTFT of one request for one output token; also returns the engine's cache report. */
async function ttft(e: Engine, prompt: number[], slotId: number) {
  const t0 = performance.now();
  for await (const ev of e.generate({ prompt, maxTokens: 1, temperature: 0, slotId })) {
    if (ev.type === "done") return { ms: performance.now() - t0, engineTtftMs: ev.timings.ttftMs, cached: ev.cache.cachedTokens, evaluated: ev.cache.evaluatedTokens };
  }
  throw new Error("no result");
}

const results: Array<Record<string, number>> = [];
const loadAtStart = round(os.loadavg()[0] ?? 0);
// Warm up the process (first decode allocates buffers) so it does not count as "cold".
await ttft(engine, promptOf(engine, 64), 1);
await engine.eraseSlot(1);

for (const n of sizes) {
  const full = promptOf(engine, n);
  const prefix = full.slice(0, n - suffixTokens);
  const slot = 0;

  const cold: number[] = [];
  const coldReps = n >= 8192 ? Math.max(1, Math.min(reps, 2)) : reps;
  for (let r = 0; r < coldReps; r++) {
    await engine.eraseSlot(slot);
    const t = await ttft(engine, full, slot);
    if (t.cached !== 0) throw new Error(`cold run reported ${t.cached} cached tokens`);
    cold.push(t.ms);
  }

  // The previous turn: prefix evaluated into the slot, then saved to disk.
  await engine.eraseSlot(slot);
  for await (const _ of engine.generate({ prompt: prefix, maxTokens: 0, slotId: slot })) void _;
  const saved = await engine.saveSlot(slot, { filename: `bench-${n}` });

  const warm: number[] = [];
  for (let r = 0; r < reps; r++) {
    // Trim the slot back to exactly the prefix (a max_tokens 0 call evaluates nothing here).
    for await (const _ of engine.generate({ prompt: prefix, maxTokens: 0, slotId: slot })) void _;
    const t = await ttft(engine, full, slot);
    if (t.cached !== prefix.length) throw new Error(`warm run reported ${t.cached} cached tokens, expected ${prefix.length}`);
    warm.push(t.ms);
  }

  const restore: number[] = [];
  const restoreOnly: number[] = [];
  for (let r = 0; r < reps; r++) {
    await engine.eraseSlot(slot);
    const t0 = performance.now();
    const res = await engine.restoreSlot(slot, { filename: saved.filename });
    const restored = performance.now() - t0;
    const t = await ttft(engine, full, slot);
    if (t.cached !== prefix.length) throw new Error(`restored run reported ${t.cached} cached tokens, expected ${prefix.length}`);
    restore.push(restored + t.ms);
    restoreOnly.push(res.timings.restore_ms);
  }

  const row = {
    tokens: n,
    newTokens: suffixTokens,
    ttftColdMs: round(median(cold)),
    ttftWarmMs: round(median(warm)),
    ttftRestoreMs: round(median(restore)),
    restoreMs: round(median(restoreOnly)),
    saveMs: round(saved.timings.save_ms),
    stateBytes: saved.n_written,
    warmSpeedup: round(median(cold) / median(warm)),
    restoreSpeedup: round(median(cold) / median(restore)),
    // Minimums: closest to an idle machine when other jobs share the cores.
    ttftColdMinMs: round(Math.min(...cold)),
    ttftWarmMinMs: round(Math.min(...warm)),
    ttftRestoreMinMs: round(Math.min(...restore)),
    loadAvg1m: round(os.loadavg()[0] ?? 0),
  };
  results.push(row);
  console.log(JSON.stringify({ bench: "engine", ...row }));
}

const at = (n: number) => results.find((r) => r.tokens === n);
const r8 = at(8192);
const summary: Record<string, unknown> = {
  bench: "engine",
  ttftColdMs8k: r8?.ttftColdMs ?? null,
  ttftWarmMs8k: r8?.ttftWarmMs ?? null,
  ttftRestoreMs8k: r8?.ttftRestoreMs ?? null,
  warmSpeedup8k: r8?.warmSpeedup ?? null,
  restoreSpeedup8k: r8?.restoreSpeedup ?? null,
};
for (const [n, tag] of [
  [1024, "1k"],
  [4096, "4k"],
] as const) {
  const r = at(n);
  if (!r) continue;
  summary[`ttftColdMs${tag}`] = r.ttftColdMs;
  summary[`ttftWarmMs${tag}`] = r.ttftWarmMs;
  summary[`ttftRestoreMs${tag}`] = r.ttftRestoreMs;
  summary[`warmSpeedup${tag}`] = r.warmSpeedup;
  summary[`restoreSpeedup${tag}`] = r.restoreSpeedup;
}
Object.assign(summary, {
  model: { parameters: model.parameters, layers: model.layers, embedding: model.embedding, vocab: model.vocabSize, bytes: model.sizeBytes },
  threads,
  cores: os.availableParallelism(),
  reps,
  flashAttention: false,
  // Load average (1 min) before and after: on a shared machine it explains slow runs.
  loadAvg1m: [loadAtStart, round(os.loadavg()[0] ?? 0)],
});
await engine.close();
console.log(JSON.stringify(summary));

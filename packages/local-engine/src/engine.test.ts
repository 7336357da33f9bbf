import { execFile } from "node:child_process";
import { copyFile, rm, writeFile, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type Engine } from "./engine.js";
import { isEngineError } from "./errors.js";
import { LONG_TEXT, maxAbsDiff, tempModel } from "./test-util.js";

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);
const CTX = 2048;

let engine: Engine;
let other: Engine; // same architecture, different weights (another seed)
let modelPath: string;
let stateDir: string;
let prefix: number[];
let suffix: number[];

beforeAll(async () => {
  const m1 = await tempModel(1);
  const m2 = await tempModel(2, m1.dir);
  modelPath = m1.path;
  stateDir = join(m1.dir, "state");
  engine = await createEngine({ modelPath, slots: 2, contextSize: CTX, stateDir });
  other = await createEngine({ modelPath: m2.path, slots: 2, contextSize: CTX, stateDir });
  prefix = engine.tokenize(LONG_TEXT.repeat(8));
  suffix = engine.tokenize(" Then the user said hello again.", { addBos: false });
});

afterAll(async () => {
  await engine?.close();
  await other?.close();
});

describe("next-token distribution", () => {
  it("is identical cold, on a reused slot, and after restoring saved state in a new process", async () => {
    const full = [...prefix, ...suffix];
    await Promise.all([engine.eraseSlot(0), engine.eraseSlot(1)]);

    const cold = await engine.nextTokenProbabilities(full, { slotId: 0 });
    expect(cold.cache.cachedTokens).toBe(0);

    await engine.nextTokenProbabilities(prefix, { slotId: 1 });
    const warm = await engine.nextTokenProbabilities(full, { slotId: 1 });
    expect(warm.cache.cachedTokens).toBe(prefix.length);
    expect(warm.cache.evaluatedTokens).toBe(suffix.length);
    expect(maxAbsDiff(cold.probabilities, warm.probabilities)).toBe(0);

    // Save the prefix state, then restore it in a separate process and continue there.
    await engine.eraseSlot(1);
    await engine.nextTokenProbabilities(prefix, { slotId: 1 });
    const saved = await engine.saveSlot(1, { filename: "dist-prefix" });
    expect(saved.n_saved).toBe(prefix.length);
    const child = await run(
      process.execPath,
      ["--import", "tsx", "--conditions=development", join(here, "restore-child.ts"), JSON.stringify({ modelPath, stateDir, stateName: "dist-prefix", prompt: full, contextSize: CTX, slots: 2 })],
      { cwd: here, maxBuffer: 64 << 20 },
    );
    const out = JSON.parse(child.stdout.trim().split("\n").at(-1) ?? "{}") as {
      ok: boolean;
      cache: { cachedTokens: number };
      restore: { n_restored: number };
      probabilities: Array<[number, number]>;
    };
    if (!out.ok) throw new Error(`restore in a child process failed: ${child.stdout}`);
    expect(out.restore.n_restored).toBe(prefix.length);
    expect(out.cache.cachedTokens).toBe(prefix.length);
    expect(maxAbsDiff(cold.probabilities, new Map(out.probabilities))).toBe(0);
  });
});

describe("cached token accounting", () => {
  it("reports as cached exactly the prompt tokens the model did not evaluate", async () => {
    await engine.eraseSlot(0);
    const meter = () => engine.listSlots()[0]?.decodedTokens ?? NaN;
    const steps = [prefix.slice(0, 100), prefix, [...prefix, ...suffix], [...prefix.slice(0, 150), ...suffix]];
    for (const prompt of steps) {
      const before = meter();
      const { cache } = await engine.nextTokenProbabilities(prompt, { slotId: 0 });
      const evaluated = meter() - before;
      expect(evaluated).toBe(prompt.length - cache.cachedTokens);
      expect(cache.evaluatedTokens).toBe(evaluated);
    }
  });

  it("reuses nothing when asked not to (cache_prompt: false) and says so", async () => {
    await engine.nextTokenProbabilities(prefix, { slotId: 0 });
    const fresh = await engine.nextTokenProbabilities(prefix, { slotId: 0, cachePrompt: false });
    expect(fresh.cache.cachedTokens).toBe(0);
    expect(fresh.cache.evaluatedTokens).toBe(prefix.length);
  });

  it("re-evaluates the last token of a fully cached prompt (logits are needed) and says so", async () => {
    await engine.eraseSlot(0);
    await engine.nextTokenProbabilities(prefix, { slotId: 0 });
    const again = await engine.nextTokenProbabilities(prefix, { slotId: 0 });
    expect(again.cache.cachedTokens).toBe(prefix.length - 1);
  });

  it("reports cached tokens through generate() as well, and a max_tokens 0 call only warms the cache", async () => {
    await Promise.all([engine.eraseSlot(0), engine.eraseSlot(1)]);
    const events = [];
    for await (const e of engine.generate({ prompt: prefix, maxTokens: 0, slotId: 0 })) events.push(e);
    expect(events).toHaveLength(1);
    const warmed = events[0];
    expect(warmed?.type === "done" && warmed.cache.evaluatedTokens).toBe(prefix.length);
    let done;
    for await (const e of engine.generate({ prompt: [...prefix, ...suffix], maxTokens: 3, temperature: 0 })) if (e.type === "done") done = e;
    expect(done?.cache.slotId).toBe(0);
    expect(done?.cache.route).toBe("prefix");
    expect(done?.cache.cachedTokens).toBe(prefix.length);
    expect(done?.completionTokens).toBe(3);
  });
});

describe("routing and eviction", () => {
  it("routes to the slot with the longest shared prefix and sticks to a cache key", async () => {
    await Promise.all([engine.eraseSlot(0), engine.eraseSlot(1)]);
    const a = engine.tokenize("alpha conversation: " + LONG_TEXT);
    const b = engine.tokenize("beta conversation: " + LONG_TEXT);
    const ra = await engine.nextTokenProbabilities(a);
    const rb = await engine.nextTokenProbabilities(b);
    expect(ra.cache.slotId).not.toBe(rb.cache.slotId);
    const a2 = await engine.nextTokenProbabilities([...a, ...suffix]);
    expect(a2.cache.slotId).toBe(ra.cache.slotId);
    expect(a2.cache.cachedTokens).toBe(a.length);
    const keyed = await engine.nextTokenProbabilities(engine.tokenize("gamma"), { cacheKey: "session-g" });
    const keyed2 = await engine.nextTokenProbabilities(engine.tokenize("gamma delta"), { cacheKey: "session-g" });
    expect(keyed2.cache.route).toBe("sticky");
    expect(keyed2.cache.slotId).toBe(keyed.cache.slotId);
  });

  it("keeps two diverged forks of one conversation warm in two slots", async () => {
    await Promise.all([engine.eraseSlot(0), engine.eraseSlot(1)]);
    // Tails longer than the shared part: overwriting one would cost more than re-evaluating the shared part.
    const shared = prefix.slice(0, 60);
    const forkA = [...shared, ...engine.tokenize(" fork A: " + LONG_TEXT.repeat(2), { addBos: false })];
    const forkB = [...shared, ...engine.tokenize(" fork B: " + LONG_TEXT.repeat(2), { addBos: false })];
    const a = await engine.nextTokenProbabilities(forkA);
    const b = await engine.nextTokenProbabilities(forkB);
    expect(b.cache.slotId).not.toBe(a.cache.slotId);
    for (let turn = 0; turn < 2; turn++) {
      forkA.push(...suffix);
      forkB.push(...suffix);
      const ra = await engine.nextTokenProbabilities(forkA);
      const rb = await engine.nextTokenProbabilities(forkB);
      expect(ra.cache.cachedTokens).toBe(forkA.length - suffix.length);
      expect(rb.cache.cachedTokens).toBe(forkB.length - suffix.length);
    }
  });

  it("evicts the least recently used slot when slots run out, and the next request reports fewer cached tokens", async () => {
    await Promise.all([engine.eraseSlot(0), engine.eraseSlot(1)]);
    const a = engine.tokenize("alpha conversation: " + LONG_TEXT.repeat(2));
    const b = engine.tokenize("beta conversation: " + LONG_TEXT.repeat(2));
    const c = engine.tokenize("gamma conversation: " + LONG_TEXT.repeat(2));
    const ra = await engine.nextTokenProbabilities(a);
    await engine.nextTokenProbabilities(b);
    const warmA = await engine.nextTokenProbabilities([...a, ...suffix]);
    expect(warmA.cache.cachedTokens).toBe(a.length);
    // b is now least recently used; c takes its slot.
    const rc = await engine.nextTokenProbabilities(c);
    expect(rc.cache.route).toBe("lru");
    expect(rc.cache.evicted).toHaveLength(1);
    expect(rc.cache.evicted[0]?.tokens).toBeGreaterThan(0);
    // a is still warm; b comes back cold (only the BOS token is shared with anything).
    expect((await engine.nextTokenProbabilities([...a, ...suffix])).cache.cachedTokens).toBe(a.length + suffix.length - 1);
    const rb = await engine.nextTokenProbabilities(b);
    expect(rb.cache.cachedTokens).toBeLessThan(b.length - 1);
    expect(rb.cache.evicted.length).toBe(1);
    expect(ra.cache.slotId).toBeGreaterThanOrEqual(0);
  });

  it("evicts under a memory budget even when a slot is free", async () => {
    const m = await tempModel(1);
    const small = await createEngine({ modelPath: m.path, slots: 2, contextSize: 1024, maxCachedTokens: 400, stateDir });
    try {
      const a = small.tokenize("alpha " + LONG_TEXT.repeat(5));
      const b = small.tokenize("beta " + LONG_TEXT.repeat(5));
      expect(a.length).toBeGreaterThan(200);
      expect(a.length + b.length).toBeGreaterThan(400);
      const ra = await small.nextTokenProbabilities(a);
      const rb = await small.nextTokenProbabilities(b);
      expect(rb.cache.slotId).not.toBe(ra.cache.slotId);
      expect(rb.cache.evicted).toEqual([{ slotId: ra.cache.slotId, tokens: a.length }]);
      expect(small.listSlots()[ra.cache.slotId]?.tokens).toBe(0);
      expect((await small.nextTokenProbabilities(a)).cache.cachedTokens).toBeLessThan(a.length - 1);
    } finally {
      await small.close();
    }
  });
});

describe("start-up", () => {
  it("fails with model-load-failed for a file that is not a model", async () => {
    const bogus = join(stateDir, "..", "not-a-model.gguf");
    // A bad version field once made node-llama-cpp's GGUF reader hang; the header check stops it first.
    const header = Buffer.alloc(64);
    header.write("GGUF", 0, "latin1");
    header.writeUInt32LE(1953849888, 4);
    for (const content of [Buffer.from("GGUF but not really"), header, (await readFile(modelPath)).subarray(0, 5000)]) {
      await writeFile(bogus, content);
      const err = await createEngine({ modelPath: bogus, slots: 1, contextSize: 256 }).catch((e: unknown) => e);
      expect(isEngineError(err) && err.code).toBe("model-load-failed");
    }
    const missing = await createEngine({ modelPath: join(stateDir, "missing.gguf") }).catch((e: unknown) => e);
    expect(isEngineError(missing) && missing.code).toBe("model-load-failed");
  });
});

describe("saved state safety", () => {
  it("refuses a state file from a different model with a clear error, and the process carries on", async () => {
    await engine.eraseSlot(0);
    await engine.nextTokenProbabilities(prefix, { slotId: 0 });
    const saved = await engine.saveSlot(0, { filename: "from-model-1" });
    const err = await other.restoreSlot(0, { filename: "from-model-1" }).catch((e: unknown) => e);
    expect(isEngineError(err)).toBe(true);
    expect(isEngineError(err) && err.code).toBe("model-mismatch");
    expect(String((err as Error).message)).toMatch(/saved with model .*refusing to load it/);
    // The other engine still works, its slot untouched.
    const after = await other.nextTokenProbabilities(prefix);
    expect(after.probabilities.size).toBeGreaterThan(0);
    // Same model, other slot count: refused before llama.cpp sees it.
    const m1 = await createEngine({ modelPath, slots: 1, contextSize: CTX, stateDir });
    try {
      const cfg = await m1.restoreSlot(0, { filename: "from-model-1" }).catch((e: unknown) => e);
      expect(isEngineError(cfg) && cfg.code).toBe("config-mismatch");
    } finally {
      await m1.close();
    }
    // By prefix hash, the other model looks under its own model hash and finds nothing.
    const byHash = await other.restoreSlot(0, { prefixHash: saved.prefix_hash }).catch((e: unknown) => e);
    expect(isEngineError(byHash) && byHash.code).toBe("state-not-found");
  });

  it("refuses a state whose sidecar is missing or whose .kv file was swapped", async () => {
    await copyFile(join(stateDir, "from-model-1.kv"), join(stateDir, "orphan.kv"));
    const orphan = await engine.restoreSlot(1, { filename: "orphan" }).catch((e: unknown) => e);
    expect(isEngineError(orphan) && orphan.code).toBe("bad-state-file");

    // A .kv file from model 2 dropped in place of model 1's, sidecar unchanged.
    await other.eraseSlot(0);
    await other.nextTokenProbabilities(prefix.slice(0, 50));
    await other.saveSlot(0, { filename: "from-model-2" });
    await copyFile(join(stateDir, "from-model-1.json"), join(stateDir, "swapped.json"));
    await copyFile(join(stateDir, "from-model-2.kv"), join(stateDir, "swapped.kv"));
    const swapped = await engine.restoreSlot(1, { filename: "swapped" }).catch((e: unknown) => e);
    expect(isEngineError(swapped) && swapped.code).toBe("bad-state-file");

    await writeFile(join(stateDir, "garbage.json"), "{not json");
    const garbage = await engine.restoreSlot(1, { filename: "garbage" }).catch((e: unknown) => e);
    expect(isEngineError(garbage) && garbage.code).toBe("bad-state-file");
    expect(await engine.restoreSlot(1, { filename: "../etc/passwd" }).catch((e: unknown) => isEngineError(e) && e.code)).toBe("bad-request");
    await rm(join(stateDir, "orphan.kv"));
    expect(JSON.parse(await readFile(join(stateDir, "from-model-1.json"), "utf8")).modelSha256).toBe(engine.modelSha256);
  });

  it("restores by prefix hash into the least recently used slot and erases on demand", async () => {
    await engine.eraseSlot(0);
    await engine.nextTokenProbabilities(prefix, { slotId: 0 });
    const saved = await engine.saveSlot(0);
    expect(saved.filename).toBe(`${engine.modelSha256.slice(0, 16)}-${saved.prefix_hash}`);
    await engine.eraseSlot(0);
    const restored = await engine.restoreSlot(undefined, { prefixHash: saved.prefix_hash });
    expect(restored.n_restored).toBe(prefix.length);
    const slot = engine.listSlots()[restored.id_slot];
    expect(slot?.prefixHash).toBe(saved.prefix_hash);
    expect((await engine.eraseSlot(restored.id_slot)).n_erased).toBe(prefix.length);
  });
});

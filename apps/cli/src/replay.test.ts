import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateTestModel, startEngine, type RunningEngine } from "@ctxsync/local-engine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replay } from "./commands/replay.js";
import { runCli } from "./testing/processes.js";

// `ctxsync replay` against the real local engine, on a conversation imported into a data directory.
const dir = mkdtempSync(join(tmpdir(), "ctxsync-cli-replay-"));
let engine: RunningEngine;
const counts = { restore: 0, prefill: 0 };

beforeAll(async () => {
  const model = await generateTestModel({ seed: 2, path: join(dir, "tiny.gguf") });
  engine = await startEngine({ modelPath: model.path, port: 0, slots: 2, contextSize: 4096, stateDir: join(dir, "state"), threads: 2 });
  const restore = engine.engine.restoreSlot.bind(engine.engine);
  const generate = engine.engine.generate.bind(engine.engine);
  Object.assign(engine.engine, {
    restoreSlot: (...a: Parameters<typeof restore>) => (counts.restore++, restore(...a)),
    generate: (req: Parameters<typeof generate>[0]) => (req.maxTokens === 0 && counts.prefill++, generate(req)),
  });
});
afterAll(async () => {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("ctxsync replay", () => {
  it("prefills a branch on the engine with a progress bar, then finds it warm; refuses bad usage", async () => {
    const data = join(dir, "data");
    const lines = [
      { role: "system", content: "You are an agent that keeps caches in step with the log. ".repeat(10) },
      ...Array.from({ length: 8 }, (_, i) => [
        { role: "user", content: `question ${i}: ${"how do devices agree on the log and the cache ".repeat(12)}` },
        { role: "assistant", content: `answer ${i}: ${"each device keeps the log and replays the cache ".repeat(12)}` },
      ]).flat(),
    ];
    const file = join(dir, "conv.jsonl");
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    expect((await runCli(["import", file, "--conversation", "r1", "--data", data])).code).toBe(0);

    const first = await runCli(["replay", "--conversation", "r1", "--engine", engine.url, "--data", data]);
    expect(first.stderr).not.toMatch(/Error/);
    expect(first.code).toBe(0);
    const out = JSON.parse(first.stdout) as { status: string; how: string; tokens: number };
    expect(out).toMatchObject({ status: "rebuilt", how: "resend", provider: "openai-compatible", renderer: "openai-chat", model: "tiny" });
    expect(out.tokens).toBeGreaterThan(2000);
    // A progress bar: several steps of a long prefill, ending at 100 %.
    expect(first.stderr.match(/\[[#.]{30}\]/g)!.length).toBeGreaterThan(2);
    expect(first.stderr).toMatch(/100% [\d,]+\/[\d,]+ tokens/);
    expect(counts.prefill).toBeGreaterThan(1); // in chunks

    // The checkpoint it saved is still in a slot: nothing to do.
    const before = { ...counts };
    const second = await runCli(["replay", "--conversation", "r1", "--engine", engine.url, "--data", data]);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ status: "warm" });
    expect(counts).toEqual(before);
    // Evicted: --force restores the saved state instead of prefilling.
    for (const s of engine.engine.listSlots()) await engine.engine.eraseSlot(s.id);
    const third = await runCli(["replay", "--conversation", "r1", "--engine", engine.url, "--data", data]);
    expect(JSON.parse(third.stdout)).toMatchObject({ status: "rebuilt", how: "restore" });
    expect(counts.restore - before.restore).toBe(1);
    expect(counts.prefill - before.prefill).toBe(0);

    // Usage errors, in process (the same code path main takes, without a process per case).
    const cases: Array<[string[], RegExp]> = [
      [["--conversation", "r1"], /--provider must be one of/],
      [["--conversation", "r1", "--provider", "anthropic", "--engine", engine.url], /--engine is for --provider openai-compatible/],
      [["--provider", "anthropic", "--model", "m"], /--conversation ID is required/],
      [["--conversation", "r1", "--provider", "anthropic"], /--model M is required/],
      [["--conversation", "r1", "--provider", "anthropic", "--model", "m", "--renderer", "xml"], /--renderer must be one of/],
    ];
    for (const [args, msg] of cases) await expect(replay.run(args)).rejects.toThrow(msg);
    const missing = await runCli(["replay", "--conversation", "nope", "--engine", engine.url, "--data", data]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no conversation "nope"/);
  });
});

import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import type { RenderContext } from "@ctxsync/compile";
import { generateTestModel, startEngine, type RunningEngine } from "@ctxsync/local-engine";
import { createOpenAICompatibleTransport } from "@ctxsync/providers";
import type { ReplayEvent } from "@ctxsync/replay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryStorage, openSession, type Session } from "@ctxsync/client/node";
import { startTestServer, type TestServer } from "@ctxsync/server/testing";

/**
 * Replay against the real local engine (llama.cpp on the project's generated model) and the real
 * sync server: eviction under slot pressure, restore of the saved KV state, an engine restart.
 * One engine (2 slots) and one server for the whole file.
 */
let dir: string;
let modelPath: string;
let engine: RunningEngine;
let port: number;
let server: TestServer;
const calls = { restore: 0, prefill: 0, generate: 0 };
const sessions: Session[] = [];

const SYSTEM = "You keep agent state in sync across devices and rebuild caches when they are evicted. ".repeat(6);
const ctx: RenderContext = { provider: "openai-chat", model: "tiny", system: SYSTEM, options: { params: { max_tokens: 4, temperature: 0 } } };

/** Count what reaches the engine: restores, prefills (max_tokens 0) and generations. */
const countAtEngine = (e: RunningEngine) => {
  const restore = e.engine.restoreSlot.bind(e.engine);
  const generate = e.engine.generate.bind(e.engine);
  Object.assign(e.engine, {
    restoreSlot: (...a: Parameters<typeof restore>) => {
      calls.restore++;
      return restore(...a);
    },
    generate: (req: Parameters<typeof generate>[0]) => {
      if (req.maxTokens === 0) calls.prefill++;
      else calls.generate++;
      return generate(req);
    },
  });
};

const start = async (stateDir: string) => {
  engine = await startEngine({ modelPath, port, slots: 2, contextSize: 2048, stateDir, threads: 2 });
  port = engine.port;
  countAtEngine(engine);
};

beforeAll(async () => {
  dir = await mkdtemp(join(os.tmpdir(), "ctxsync-replay-local-"));
  modelPath = (await generateTestModel({ seed: 3, path: join(dir, "tiny.gguf") })).path;
  port = 0;
  await start(join(dir, "state-1"));
  server = await startTestServer({ secret: "test-secret" });
});
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await engine?.close();
  await server?.close();
});

let n = 0;
const open = async (device: string, opts: { engine?: boolean; events?: ReplayEvent[]; conversation?: string } = {}) => {
  const conversation = opts.conversation ?? `rl${Date.now().toString(36)}${n++}`;
  const transport = createOpenAICompatibleTransport({ baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0, name: "local" });
  const s = await openSession({
    conversation,
    device,
    url: server.wsUrl,
    token: server.token(conversation),
    storage: memoryStorage(),
    transport,
    replay: { ...(opts.engine !== false ? { engine: { url: `http://127.0.0.1:${port}` } } : {}), onEvent: (e) => opts.events?.push(e) },
  });
  sessions.push(s);
  await s.whenSynced();
  return s;
};
const words = (k: number) => Array.from({ length: 40 }, (_, i) => `word${(i * 7 + k) % 13} sync`).join(" ");

describe("replay against the real local engine", () => {
  it("eviction under slot pressure is detected from cached_tokens and recorded with its cause", async () => {
    // Detection only (no slot API given to replay): the turn after the eviction shows it.
    const a = await open("laptop", { engine: false });
    const first = await a.send({ ctx, input: `first question ${words(1)}`, stream: false });
    expect(first.detection.outcome).toBe("cold");
    // Two other conversations take both slots: a's prefix is evicted (LRU).
    const b = await open("b", { engine: false });
    const c = await open("c", { engine: false });
    await b.send({ ctx, input: `other conversation ${words(2)}`, stream: false });
    await c.send({ ctx, input: `third conversation ${words(3)}`, stream: false });
    const second = await a.send({ ctx, input: "and a follow-up", stream: false });
    expect(second.detection).toMatchObject({ outcome: "miss", cause: "evicted" });
    if (second.detection.outcome !== "miss") throw new Error("unreachable");
    expect(second.detection.expected).toBe(first.result.usage.promptTokens);
    // Only the static part the conversations share (the system prompt) was still in a slot.
    expect(second.detection.expected - second.result.usage.cachedTokens).toBeGreaterThan(100);
    // C/cache: the old handle says evicted and why; the usage record shows expected vs served.
    const old = a.checkpoints().find((h) => h.status === "evicted");
    expect(old?.cause).toMatchObject({ reason: "evicted", expected: first.result.usage.promptTokens });
    const rec = a.usage().find((u) => u.entry === second.entry.id)!;
    expect(rec).toMatchObject({ purpose: "turn", expectedCachedTokens: first.result.usage.promptTokens, cachedTokens: second.result.usage.cachedTokens });
    expect(rec.miss?.reason).toMatch(/^evicted/);
    // Without pressure the next turn hits: the whole previous prompt is served from the slot.
    const third = await a.send({ ctx, input: "one more", stream: false });
    expect(third.detection.outcome).toBe("hit");
    expect(third.result.usage.cachedTokens).toBeGreaterThanOrEqual(second.result.usage.promptTokens);
  });

  it("a checkpoint is saved after each turn; after an eviction the saved state is restored and the next turn's cached_tokens is the full prefix", async () => {
    const events: ReplayEvent[] = [];
    const a = await open("laptop", { events });
    const first = await a.send({ ctx, input: `restore me ${words(4)}`, stream: true });
    const h = a.checkpoints().find((x) => x.status === "warm")!;
    expect(h.saved?.name).toMatch(/^cx-/);
    expect(h.saved?.hash).toMatch(/^[0-9a-f]{64}$/);
    const b = await open("b", { engine: false });
    const c = await open("c", { engine: false });
    await b.send({ ctx, input: `pressure ${words(5)}`, stream: false });
    await c.send({ ctx, input: `more pressure ${words(6)}`, stream: false });
    const before = { ...calls };
    const second = await a.send({ ctx, input: "continue", stream: false });
    // The probe found no slot holding the saved prefix, so it was restored: one restore at the engine, no prefill.
    expect(calls.restore - before.restore).toBe(1);
    expect(calls.prefill - before.prefill).toBe(0);
    expect(events.some((e) => e.type === "probe" && !e.resident)).toBe(true);
    expect(events.some((e) => e.type === "rebuild-done" && e.how === "restore")).toBe(true);
    // The full previous prompt was served from the restored state.
    expect(second.result.usage.cachedTokens).toBeGreaterThanOrEqual(first.result.usage.promptTokens);
    expect(second.detection.outcome).toBe("hit");
    const rebuild = a.usage().find((u) => u.purpose === "rebuild")!;
    expect(rebuild).toMatchObject({ rebuild: true, cachedTokens: rebuild.promptTokens });
    expect(rebuild.promptTokens).toBeGreaterThanOrEqual(first.result.usage.promptTokens);
  });

  it("an engine restart (its saved states gone) is survived by replay from scratch", async () => {
    const events: ReplayEvent[] = [];
    const a = await open("laptop", { events });
    const first = await a.send({ ctx, input: `before the restart ${words(7)}`, stream: false });
    // The engine restarts on the same port with an empty state directory: slots and saved states are gone.
    await engine.close();
    await start(join(dir, "state-2"));
    const before = { ...calls };
    const second = await a.send({ ctx, input: "after the restart", stream: false });
    expect(events.some((e) => e.type === "state-gone" && e.what === "engine-state")).toBe(true);
    expect(calls.restore - before.restore).toBe(1); // tried, refused (state-not-found)
    expect(calls.prefill - before.prefill).toBeGreaterThanOrEqual(1); // then the prefix from the log
    expect(events.some((e) => e.type === "rebuild-done" && e.how === "scratch")).toBe(true);
    expect(second.result.usage.cachedTokens).toBeGreaterThanOrEqual(first.result.usage.promptTokens);
    // The conversation goes on: every turn is in the log.
    expect(a.transcript().map((e) => e.kind)).toEqual(["user", "assistant", "user", "assistant"]);
  });
});

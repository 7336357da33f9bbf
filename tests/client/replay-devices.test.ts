import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { checkpointKey } from "@ctxsync/core";
import type { RenderContext } from "@ctxsync/compile";
import { generateTestModel, startEngine, type RunningEngine } from "@ctxsync/local-engine";
import { createOpenAICompatibleTransport } from "@ctxsync/providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryStorage, openSession, type Session } from "@ctxsync/client/node";
import { killChildren, runTs, waitFor } from "./support/helpers.js";
import { startTestServer, type TestServer } from "@ctxsync/server/testing";

/**
 * One rebuild per prefix, for real: three devices, each its own process, against the real sync
 * server and the real local engine, all see the same eviction at once; the engine counts the
 * rebuild requests it receives (restores and prefills).
 */
let engine: RunningEngine;
let server: TestServer;
const calls = { restore: 0, prefill: 0 };
const sessions: Session[] = [];
const SYSTEM = "Three devices share one conversation and one engine; only one of them may pay for a rebuild. ".repeat(5);
const ctx: RenderContext = { provider: "openai-chat", model: "tiny", system: SYSTEM, options: { params: { max_tokens: 4, temperature: 0 } } };

beforeAll(async () => {
  const dir = await mkdtemp(join(os.tmpdir(), "ctxsync-replay-devices-"));
  const model = await generateTestModel({ seed: 5, path: join(dir, "tiny.gguf") });
  engine = await startEngine({ modelPath: model.path, port: 0, slots: 2, contextSize: 2048, stateDir: join(dir, "state"), threads: 2 });
  const restore = engine.engine.restoreSlot.bind(engine.engine);
  const generate = engine.engine.generate.bind(engine.engine);
  Object.assign(engine.engine, {
    restoreSlot: (...a: Parameters<typeof restore>) => (calls.restore++, restore(...a)),
    generate: (req: Parameters<typeof generate>[0]) => (req.maxTokens === 0 && calls.prefill++, generate(req)),
  });
  server = await startTestServer({ secret: "test-secret" });
});
afterAll(async () => {
  killChildren();
  await Promise.all(sessions.map((s) => s.close()));
  await engine?.close();
  await server?.close();
});

const open = async (conversation: string, device: string) => {
  const s = await openSession({
    conversation,
    device,
    url: server.wsUrl,
    token: server.token(conversation),
    storage: memoryStorage(),
    transport: createOpenAICompatibleTransport({ baseURL: `${engine.url}/v1`, maxRetries: 0, name: "local" }),
    replay: { engine: { url: engine.url }, timers: false },
  });
  sessions.push(s);
  await s.whenSynced();
  return s;
};

describe("one rebuild per prefix", () => {
  it("three devices (separate processes) that see one eviction cause exactly one rebuild request at the engine", async () => {
    const conv = `three${Date.now().toString(36)}`;
    const laptop = await open(conv, "laptop");
    await laptop.send({ ctx, input: "a long question about keeping three devices in step ".repeat(6), stream: false });
    await laptop.whenSynced();
    const handle = laptop.checkpoints().find((h) => h.status === "warm" && h.saved)!;
    expect(handle).toBeDefined();
    // Slot pressure from two other conversations evicts it.
    for (const [i, other] of ["other1", "other2"].entries()) {
      const s = await open(`${conv}${other}`, other);
      await s.send({ ctx, input: `unrelated work number ${i} `.repeat(20), stream: false });
    }
    expect(engine.engine.listSlots().some((s) => s.prefixHash === handle.saved!.hash)).toBe(false);

    // Three devices, three processes: each opens the conversation, syncs, then on "go" pre-warms it.
    const devices = ["phone", "tablet", "desktop"].map((d) => {
      const child = runTs("replay-child.ts", [server.wsUrl, conv, d, server.token(conv), engine.url, SYSTEM]);
      const lines: string[] = [];
      let buf = "";
      child.stdout.on("data", (b: Buffer) => {
        buf += b.toString();
        for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
          lines.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      let err = "";
      child.stderr.on("data", (b: Buffer) => (err += b.toString()));
      return { child, lines, err: () => err };
    });
    await waitFor(() => devices.every((d) => d.lines.includes("ready")), "three devices to sync", 60_000);
    const before = { ...calls };
    for (const d of devices) d.child.stdin.write("go\n");
    await waitFor(() => devices.every((d) => d.lines.length >= 2), "three outcomes", 60_000);
    const outcomes = devices.map((d) => JSON.parse(d.lines[1]!) as { device: string; status: string; how?: string; error?: string });
    expect(outcomes.filter((o) => o.error)).toEqual([]);
    // Exactly one rebuild request reached the engine: one restore, no prefill.
    expect(calls.restore - before.restore).toBe(1);
    expect(calls.prefill - before.prefill).toBe(0);
    expect(outcomes.filter((o) => o.status === "rebuilt")).toHaveLength(1);
    expect(outcomes.filter((o) => o.status !== "rebuilt").every((o) => o.status === "waited" || o.status === "warm")).toBe(true);
    // The prefix is in a slot again, and the lease record says who rebuilt it.
    expect(engine.engine.listSlots().some((s) => s.prefixHash === handle.saved!.hash)).toBe(true);
    await laptop.whenSynced();
    await waitFor(() => laptop.checkpoints().some((h) => checkpointKey(h) === checkpointKey(handle) && h.status === "warm" && h.origin === "restored"), "the restored handle");
    const rebuilds = laptop.usage().filter((u) => u.purpose === "rebuild");
    expect(rebuilds).toHaveLength(1);
    expect(rebuilds[0]!.device).toBe(outcomes.find((o) => o.status === "rebuilt")!.device);
    // The next turn reads the whole prefix from the restored slot.
    const next = await laptop.send({ ctx, input: "and now?", stream: false });
    expect(next.detection.outcome).toBe("hit");
  });
});

// Rebuilds per eviction: three devices, each its own process, against the real sync server and the
// real local engine. Each round evicts the conversation's prefix from the engine (slot pressure from
// other conversations), then all three devices pre-warm it at once; the engine counts the rebuild
// requests it receives (state restores and prompt prefills).
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RenderContext } from "@ctxsync/compile";
import { memoryStorage, openSession } from "@ctxsync/client/node";
import { generateTestModel, startEngine } from "@ctxsync/local-engine";
import { signToken } from "@ctxsync/protocol";
import { createOpenAICompatibleTransport } from "@ctxsync/providers";
import { createSyncServer, silentLogger } from "@ctxsync/server";
import { serveNode } from "@ctxsync/server/node";
import { createSqliteStore } from "@ctxsync/server/sqlite";

const ROUNDS = 5;
const here = dirname(fileURLToPath(import.meta.url));
const SYSTEM = "Three devices share one conversation and one engine; only one of them may pay for a rebuild. ".repeat(5);

export const devicesBench = async (o: { out: (o: object) => void }): Promise<Record<string, unknown>> => {
  const dir = await mkdtemp(join(os.tmpdir(), "ctxsync-bench-devices-"));
  const secret = "bench-secret";
  const sync = createSyncServer({ store: createSqliteStore({ path: join(dir, "ctxsync.db") }), authSecret: secret, logger: silentLogger });
  const node = await serveNode(sync, { port: 0, host: "127.0.0.1" });
  const url = `ws://127.0.0.1:${node.port}/sync`;
  const model = await generateTestModel({ seed: 5, path: join(dir, "tiny.gguf") });
  const engine = await startEngine({ modelPath: model.path, port: 0, slots: 2, contextSize: 4096, stateDir: join(dir, "state") });
  const calls = { restore: 0, prefill: 0 };
  const restore = engine.engine.restoreSlot.bind(engine.engine);
  const generate = engine.engine.generate.bind(engine.engine);
  Object.assign(engine.engine, {
    restoreSlot: (...a: Parameters<typeof restore>) => (calls.restore++, restore(...a)),
    generate: (req: Parameters<typeof generate>[0]) => (req.maxTokens === 0 && calls.prefill++, generate(req)),
  });
  const ctx: RenderContext = { provider: "openai-chat", model: "tiny", system: SYSTEM, options: { params: { max_tokens: 4, temperature: 0 } } };
  const conv = `devices${Date.now().toString(36)}`;
  const token = (c: string) => signToken(secret, { conversation: c, scopes: ["read", "append", "hidden"], ttlSeconds: 3600 });
  const open = async (c: string, device: string) => {
    const s = await openSession({ conversation: c, device, url, token: token(c), storage: memoryStorage(), transport: createOpenAICompatibleTransport({ baseURL: `${engine.url}/v1`, maxRetries: 0 }), replay: { engine: { url: engine.url }, timers: false } });
    await s.whenSynced();
    return s;
  };
  const children: ReturnType<typeof spawn>[] = [];
  try {
    const laptop = await open(conv, "laptop");
    await laptop.send({ ctx, input: "a long question about keeping three devices in step ".repeat(6), stream: false });
    await laptop.whenSynced();
    const others = [await open(`${conv}o1`, "o1"), await open(`${conv}o2`, "o2")];
    const devices = ["phone", "tablet", "desktop"].map((d) => {
      const child = spawn(process.execPath, ["--conditions=development", "--import", "tsx", join(here, "device.ts"), url, conv, d, token(conv), engine.url, SYSTEM], { stdio: "pipe" });
      children.push(child);
      const lines: string[] = [];
      let buf = "";
      child.stdout!.on("data", (b: Buffer) => {
        buf += b.toString();
        for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
          lines.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      return { child, lines };
    });
    const waitLines = async (n: number) => {
      const end = Date.now() + 120_000;
      while (!devices.every((d) => d.lines.length >= n)) {
        if (Date.now() > end) throw new Error("devices did not answer in time");
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitLines(1);
    let rebuilds = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Evict: two other conversations take both slots.
      for (const [i, s] of others.entries()) await s.send({ ctx, input: `round ${round} pressure ${i} `.repeat(25), stream: false });
      const before = { ...calls };
      for (const d of devices) d.child.stdin!.write("go\n");
      await waitLines(round + 2);
      const n = calls.restore - before.restore + (calls.prefill - before.prefill);
      rebuilds += n;
      o.out({ part: "devices", round, rebuildRequests: n, outcomes: devices.map((d) => JSON.parse(d.lines[round + 1]!)) });
    }
    for (const d of devices) d.child.stdin!.write("exit\n");
    await laptop.close();
    for (const s of others) await s.close();
    return { rebuildsPerEviction: Math.round((rebuilds / ROUNDS) * 100) / 100, evictions: ROUNDS, devices: devices.length };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await engine.close();
    await node.close();
    await rm(dir, { recursive: true, force: true });
  }
};

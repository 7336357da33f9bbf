import { readFile } from "node:fs/promises";
import { isConversationId, MAIN } from "@ctxsync/core";
import { RENDERERS, type RendererId, type RenderContext } from "@ctxsync/compile";
import { memoryStorage, openSession } from "@ctxsync/client/node";
import { createTransport, PROVIDER_IDS, type ProviderId } from "@ctxsync/providers";
import type { ReplayEvent } from "@ctxsync/replay";
import { join } from "node:path";
import { createSyncServer, silentLogger } from "@ctxsync/server";
import { serveNode } from "@ctxsync/server/node";
import { createSqliteStore } from "@ctxsync/server/sqlite";
import { parse, UsageError } from "../args.js";
import type { Command } from "../command.js";
import { progressBar } from "../progress.js";
import { targetOf } from "../target.js";

const USAGE = `ctxsync replay --conversation ID [--branch main] --provider P [--model M] [--engine URL]
               [--renderer R] [--system-file F] [--base-url URL] [--api-key K] [--force]
               [--server URL [--token T] | --data DIR]
  Rebuild the provider's cache of a branch's prefix from the log (docs/replay.md): restore the saved
  KV state on an engine (--engine URL: packages/local-engine or llama-server) or prefill the prefix
  there in chunks, re-create an explicit cache (gemini), or send the prefix with a 1-token answer
  (openai-chat, openai-responses, anthropic, deepseek). Under the rebuild lease: if another device is
  rebuilding the same prefix, this waits for it instead of paying twice. Progress on stderr; one JSON
  line with the outcome on stdout.
  P: ${PROVIDER_IDS.join(", ")} (--engine implies openai-compatible)
  R: the request format (default: P's own; openai-chat for an engine); ${RENDERERS.join(", ")}
  API keys: --api-key, or the provider SDK's environment variable (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, DEEPSEEK_API_KEY).`;

const defaultRenderer = (p: ProviderId): RendererId => (p === "openai-compatible" ? "openai-chat" : (p as RendererId));

const engineModel = async (engine: string): Promise<string> => {
  const res = await fetch(`${engine.replace(/\/+$/, "")}/v1/models`);
  if (!res.ok) throw new Error(`engine ${engine} answered ${res.status} to GET /v1/models`);
  const id = ((await res.json()) as { data?: Array<{ id?: string }> }).data?.[0]?.id;
  if (!id) throw new Error(`engine ${engine} lists no model`);
  return id;
};

export const replay: Command = {
  name: "replay",
  summary: "rebuild a provider's cache of a branch from the log (with progress)",
  usage: USAGE,
  async run(argv) {
    const { values: o } = parse(argv, {
      conversation: { type: "string" },
      branch: { type: "string" },
      provider: { type: "string" },
      model: { type: "string" },
      engine: { type: "string" },
      renderer: { type: "string" },
      "system-file": { type: "string" },
      "base-url": { type: "string" },
      "api-key": { type: "string" },
      force: { type: "boolean" } as never,
      server: { type: "string" },
      token: { type: "string" },
      data: { type: "string" },
    });
    if (!o.conversation || !isConversationId(o.conversation)) throw new UsageError("--conversation ID is required");
    const provider = (o.provider ?? (o.engine ? "openai-compatible" : undefined)) as ProviderId | undefined;
    if (!provider || !PROVIDER_IDS.includes(provider)) throw new UsageError(`--provider must be one of ${PROVIDER_IDS.join(", ")}`);
    if (o.engine && provider !== "openai-compatible") throw new UsageError("--engine is for --provider openai-compatible (a self-hosted engine)");
    const renderer = (o.renderer ?? defaultRenderer(provider)) as RendererId;
    if (!RENDERERS.includes(renderer)) throw new UsageError(`--renderer must be one of ${RENDERERS.join(", ")}`);
    const engine = o.engine?.replace(/\/+$/, "");
    const model = o.model ?? (engine ? await engineModel(engine) : undefined);
    if (!model) throw new UsageError("--model M is required (except with --engine, which names its model)");
    const system = o["system-file"] ? await readFile(o["system-file"], "utf8") : undefined;
    const branch = o.branch ?? MAIN;
    const target = targetOf(o);

    const work = async (url: string, token: string | undefined) => {
      const transport = createTransport(provider, {
        ...(o["api-key"] ? { apiKey: o["api-key"] } : {}),
        ...(engine ? { baseURL: `${engine}/v1` } : o["base-url"] ? { baseURL: o["base-url"] } : {}),
      });
      const bar = progressBar();
      const onEvent = (e: ReplayEvent) => {
        if (e.type === "rebuild-start") bar.update(0, Math.max(1, e.tokens), `${e.how}…`);
        else if (e.type === "rebuild-progress") bar.update(e.done, e.total);
        else if (e.type === "rebuild-done") bar.update(e.tokens, e.tokens, `${e.how} done`);
        else if (e.type === "rebuild-skipped" && e.reason === "held") process.stderr.write("another device is rebuilding this prefix: waiting for it\n");
        else if (e.type === "state-gone") process.stderr.write(`provider state gone (${e.what}): replaying from scratch\n`);
      };
      const session = await openSession({
        conversation: o.conversation!,
        url,
        ...(token ? { token } : {}),
        storage: memoryStorage(),
        device: `cli-${process.pid}`,
        transport,
        replay: { ...(engine ? { engine: { url: engine } } : {}), timers: false, onEvent },
      });
      try {
        await session.whenSynced();
        if (session.transcript(branch).length === 0) throw new Error(`branch ${JSON.stringify(branch)} of ${o.conversation} is empty or unknown`);
        const ctx: RenderContext = { provider: renderer, model, ...(system !== undefined ? { system } : {}) };
        const t0 = Date.now();
        const out = await session.rebuildCache(ctx, { branch, force: o.force !== undefined });
        await session.whenSynced();
        const cost = session.usage().filter((u) => u.device === session.device && (u.purpose === "rebuild" || u.purpose === "prewarm")).reduce((n, u) => n + (u.costUsd ?? 0), 0);
        bar.done(out.status === "warm" ? "already warm" : out.status === "waited" ? "rebuilt by another device" : out.status === "skipped" ? "not rebuilt (see above)" : `rebuilt (${out.how})`);
        process.stdout.write(`${JSON.stringify({ conversation: o.conversation, branch, provider, renderer, model, ...out, ms: Date.now() - t0, costUsd: cost })}\n`);
        return out.status === "skipped" ? 1 : 0;
      } finally {
        await session.close();
      }
    };

    if (target.kind === "server") {
      const u = new URL(target.url);
      const ws = `${u.protocol === "https:" ? "wss:" : "ws:"}//${u.host}${u.pathname.replace(/\/+$/, "")}/sync`;
      return work(ws, target.token);
    }
    // A data directory: an open server over it, in process, on a loopback port (the store locks the directory meanwhile).
    const store = createSqliteStore({ path: join(target.dir, "ctxsync.db"), owner: "ctxsync replay" });
    const server = createSyncServer({ store, logger: silentLogger });
    try {
      if (!(await store.has(o.conversation))) throw new Error(`no conversation ${JSON.stringify(o.conversation)} in ${target.dir}`);
      const node = await serveNode(server, { port: 0, host: "127.0.0.1" });
      try {
        return await work(`ws://127.0.0.1:${node.port}/sync`, undefined);
      } finally {
        await node.close();
      }
    } finally {
      await server.shutdown();
    }
  },
};

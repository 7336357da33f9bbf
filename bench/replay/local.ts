// Replay on the real local engine: several sessions over fewer slots than sessions.
//
// Six conversations (from the traces, messages cut to 500 characters) take turns round-robin on an
// engine with three slots, so every turn finds its slot taken by someone else. With replay, a
// checkpoint of the slot is saved after each turn and, before the next, a probe of the engine's slots
// decides whether to restore it. The theoretical maximum of cached tokens for a turn is the longest
// common token prefix of its prompt with the session's previous prompt (what a cache that never
// evicted would serve; turns generate one token, which is never evaluated into the slot). The same
// turns are also run without replay, as the peer. Then, at the longest prefix: time to first token
// after restoring the saved state (restore included) over a cold prefill.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import * as Y from "yjs";
import { asDeviceId, messageToEntry, openCache, openLog, type ConversationLog, type TranscriptMessage } from "@ctxsync/core";
import { compile, type RenderContext } from "@ctxsync/compile";
import { generateTestModel, startEngine, type RunningEngine } from "@ctxsync/local-engine";
import { createOpenAICompatibleTransport, restoreSlot, saveSlot, eraseSlot } from "@ctxsync/providers";
import { createReplayer, docHost, nonePolicy, type Replayer } from "@ctxsync/replay";
import { loadTraces } from "./workload.js";

const SESSIONS = 6;
const SLOTS = 3;
const TURNS = 5;
const CUT = 500;

interface LocalSession {
  readonly name: string;
  readonly system: string;
  /** Per turn: the messages to append before the request, and the assistant message after it. */
  readonly turns: Array<{ before: TranscriptMessage[]; answer: TranscriptMessage }>;
}

const cut = (s: string) => (s.length > CUT ? s.slice(0, CUT) : s);

const pickSessions = (): LocalSession[] => {
  const traces = loadTraces();
  const step = Math.floor(traces.length / SESSIONS);
  return Array.from({ length: SESSIONS }, (_, i) => {
    const t = traces[i * step]!;
    const msgs = t.messages.map((m) => ({ ...m, content: cut(m.content ?? "") }));
    const system = msgs[0]?.role === "system" ? msgs[0].content : "You are a helpful agent.";
    const rest = msgs[0]?.role === "system" ? msgs.slice(1) : msgs;
    const turns: LocalSession["turns"] = [];
    let before: TranscriptMessage[] = [];
    for (const m of rest) {
      if (m.role === "assistant") {
        turns.push({ before, answer: m });
        before = [];
        if (turns.length === TURNS) break;
      } else before.push(m);
    }
    return { name: t.name, system: cut(system), turns };
  });
};

const lcp = (a: readonly number[], b: readonly number[]) => {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
};

const tokenizeChat = async (url: string, messages: unknown): Promise<number[]> => {
  const r = await fetch(`${url}/tokenize`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages }) });
  return ((await r.json()) as { tokens: number[] }).tokens;
};

interface RunResult {
  cached: number;
  max: number;
  restores: number;
  prefilledTokens: number;
  longest: { session: number; log: ConversationLog; ctx: RenderContext; tokens: number } | undefined;
}

const run = async (engine: RunningEngine, sessions: LocalSession[], withReplay: boolean): Promise<RunResult> => {
  for (let i = 0; i < SLOTS; i++) await eraseSlot({ url: engine.url }, i);
  const state = sessions.map((s, i) => {
    const log = openLog(new Y.Doc(), { device: asDeviceId("bench") });
    const cache = openCache(new Y.Doc());
    const ctx: RenderContext = { provider: "openai-chat", model: "tiny", system: s.system, options: { params: { max_tokens: 1, temperature: 0 } } };
    const transport = createOpenAICompatibleTransport({ baseURL: `${engine.url}/v1`, maxRetries: 0, name: "local" });
    const replay: Replayer = createReplayer({
      host: docHost({ log, cache, device: "bench", conversation: `local${i}` }),
      transport,
      policy: nonePolicy(),
      ...(withReplay ? { engine: { url: engine.url } } : {}),
      onEvent: (e) => {
        if (e.type === "rebuild-done" && e.how === "restore") out.restores++;
      },
    });
    return { log, ctx, transport, replay, prev: undefined as number[] | undefined };
  });
  const out: RunResult = { cached: 0, max: 0, restores: 0, prefilledTokens: 0, longest: undefined };
  for (let k = 0; k < TURNS; k++) {
    for (const [i, s] of sessions.entries()) {
      const turn = s.turns[k];
      if (!turn) continue;
      const st = state[i]!;
      for (const m of turn.before) st.log.append("main", messageToEntry(m));
      await st.replay.beforeTurn("main", st.ctx);
      const compiled = compile(st.log.transcript("main"), st.ctx, { conversation: `local${i}`, branch: "main" });
      const tokens = await tokenizeChat(engine.url, (compiled.request as { messages: unknown }).messages);
      const result = await st.transport.send({ compiled, model: "tiny", stream: true });
      const answer = st.log.append("main", messageToEntry(turn.answer));
      await st.replay.afterTurn({ branch: "main", ctx: st.ctx, compiled, result, entry: answer.id, sentAt: Date.now() });
      out.prefilledTokens += result.usage.promptTokens - result.usage.cachedTokens;
      if (st.prev) {
        out.max += lcp(tokens, st.prev);
        out.cached += Math.min(result.usage.cachedTokens, tokens.length);
      }
      st.prev = tokens;
      if (!out.longest || tokens.length > out.longest.tokens) out.longest = { session: i, log: st.log, ctx: st.ctx, tokens: tokens.length };
    }
  }
  for (const s of state) s.replay.close();
  return out;
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** TTFT at the longest prefix: cold (nothing cached) vs restore-then-send (restore time included). */
const ttftAtLongest = async (engine: RunningEngine, longest: NonNullable<RunResult["longest"]>) => {
  const transport = createOpenAICompatibleTransport({ baseURL: `${engine.url}/v1`, maxRetries: 0, name: "local" });
  const compiled = compile(longest.log.transcript("main"), longest.ctx, { conversation: `local${longest.session}`, branch: "main" });
  const target = { url: engine.url };
  const eraseAll = async () => {
    for (let i = 0; i < SLOTS; i++) await eraseSlot(target, i);
  };
  // Prefill once and save the state a checkpoint would hold.
  await eraseAll();
  const first = await transport.send({ compiled, model: "tiny", stream: false, maxOutputTokens: 0 });
  const slot = first.providerMetadata?.id_slot as number;
  const saved = await saveSlot(target, slot, { filename: "bench-longest" });
  const cold: number[] = [];
  const restored: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    await eraseAll();
    const c = await transport.send({ compiled, model: "tiny", stream: true });
    cold.push(c.usage.ttftMs ?? c.usage.totalMs);
    await eraseAll();
    const t0 = performance.now();
    await restoreSlot(target, -1, { filename: saved.filename });
    const restoreMs = performance.now() - t0;
    const r = await transport.send({ compiled, model: "tiny", stream: true });
    restored.push(restoreMs + (r.usage.ttftMs ?? r.usage.totalMs));
  }
  return { tokens: first.usage.promptTokens, ttftColdMs: median(cold), ttftRestoreMs: median(restored) };
};

export const localBench = async (o: { seed: number; out: (o: object) => void }): Promise<Record<string, unknown>> => {
  const dir = await mkdtemp(join(os.tmpdir(), "ctxsync-bench-replay-"));
  try {
    const model = await generateTestModel({ seed: o.seed, path: join(dir, "tiny.gguf") });
    const engine = await startEngine({ modelPath: model.path, port: 0, slots: SLOTS, contextSize: 8192, stateDir: join(dir, "state") });
    try {
      const sessions = pickSessions();
      const t0 = performance.now();
      const withReplay = await run(engine, sessions, true);
      const t1 = performance.now();
      const without = await run(engine, sessions, false);
      const t2 = performance.now();
      const ratio = (r: RunResult) => (r.max > 0 ? r.cached / r.max : 0);
      o.out({ part: "local", sessions: SESSIONS, slots: SLOTS, turns: TURNS, replay: { cached: withReplay.cached, max: withReplay.max, ratio: ratio(withReplay), restores: withReplay.restores, prefilledTokens: withReplay.prefilledTokens, seconds: (t1 - t0) / 1000 }, noReplay: { cached: without.cached, max: without.max, ratio: ratio(without), prefilledTokens: without.prefilledTokens, seconds: (t2 - t1) / 1000 } });
      const ttft = await ttftAtLongest(engine, withReplay.longest!);
      o.out({ part: "local-ttft", ...ttft });
      return {
        cachedOverMaxLocal: Math.round(ratio(withReplay) * 10_000) / 10_000,
        cachedOverMaxLocalNoReplay: Math.round(ratio(without) * 10_000) / 10_000,
        ttftRestoreOverCold: Math.round((ttft.ttftRestoreMs / ttft.ttftColdMs) * 10_000) / 10_000,
        longestPrefixTokens: ttft.tokens,
      };
    } finally {
      await engine.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

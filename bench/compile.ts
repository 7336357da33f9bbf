// Compile cost and resend volume over the 90 traces, per renderer; and what the stock Qwen3
// template (reasoning dropped) costs in recomputed prefix compared with reasoning kept.
// Every assistant turn gets a short visible reasoning (deterministic) so the templates have some to keep.
// Then the cost of one request after one append with a render cache, at 1k and at 100k entries of
// history (the traces concatenated): renderUs1k, renderUs100k and renderRatio (goal <= 1.5).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as Y from "yjs";
import { asDeviceId, asEntryId, importMessages, openLog, parseJsonl, SYSTEM_PROMPT_INFO, type Entry } from "@ctxsync/core";
import { compile, createRenderCache, explain, type Manifest, type RenderContext, type ToolSpec } from "@ctxsync/compile";

const TRACES = resolve(dirname(fileURLToPath(import.meta.url)), "../../shared/traces");
const files = readdirSync(TRACES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => readdirSync(join(TRACES, d.name)).filter((f) => f.endsWith(".jsonl")).map((f) => join(d.name, f)))
  .sort();

interface Trace { entries: Entry[]; system?: string; tools: ToolSpec[]; assistantAt: number[] }
const traces: Trace[] = files.map((f) => {
  const msgs = parseJsonl(readFileSync(join(TRACES, f), "utf8")).map((m, i) =>
    m.role === "assistant" ? { ...m, reasoning_content: `Step ${i}: decide what to do next.` } : m,
  );
  const log = openLog(new Y.Doc(), { device: asDeviceId("dbench") });
  importMessages(log, msgs);
  const entries = log.transcript("main");
  const names = new Set(entries.flatMap((e) => (e.kind === "assistant" ? (e.content.toolCalls ?? []).map((t) => t.name) : [])));
  const system = log.info(SYSTEM_PROMPT_INFO);
  return {
    entries,
    ...(typeof system === "string" ? { system } : {}),
    tools: [...names].map((name) => ({ name, parameters: { type: "object" } })),
    assistantAt: entries.flatMap((e, i) => (e.kind === "assistant" ? [i] : [])),
  };
});

const CONFIGS: Record<string, Omit<RenderContext, "system" | "tools">> = {
  "openai-chat": { provider: "openai-chat", model: "gpt-5.4" },
  "openai-responses": { provider: "openai-responses", model: "gpt-5.4" },
  anthropic: { provider: "anthropic", model: "claude-sonnet-4-5" },
  gemini: { provider: "gemini", model: "gemini-3-pro" },
  deepseek: { provider: "deepseek", model: "deepseek-chat" },
  chatml: { provider: "chatml", model: "local" },
  qwen3: { provider: "qwen3", model: "qwen3" },
  "qwen3-stock": { provider: "qwen3", model: "qwen3", options: { reasoning: "stock" } },
  llama3: { provider: "llama3", model: "llama-3.1" },
};

const summary: Record<string, unknown> = { traces: traces.length };
for (const [name, cfg] of Object.entries(CONFIGS)) {
  let requests = 0;
  let resendBytes = 0;
  let reusableBytes = 0;
  let estTokens = 0;
  let lostTokens = 0;
  let breaks = 0;
  const times: number[] = [];
  const t0 = performance.now();
  for (const t of traces) {
    let prev: Manifest | undefined;
    for (const at of t.assistantAt) {
      const s = performance.now();
      const r = compile(t.entries.slice(0, at), { ...cfg, ...(t.system !== undefined ? { system: t.system } : {}), tools: t.tools }, { conversation: "bench" });
      times.push(performance.now() - s);
      requests++;
      resendBytes += r.manifest.totals.bytes;
      estTokens += r.manifest.totals.tokens;
      if (prev) {
        const ex = explain(prev, r.manifest);
        if (ex.reason !== "extends") breaks++;
        lostTokens += ex.lostTokens;
        reusableBytes += ex.reason === "extends" ? prev.stableEnd : 0;
      }
      prev = r.manifest;
    }
  }
  const total = performance.now() - t0;
  times.sort((a, b) => a - b);
  const line = {
    renderer: name,
    requests,
    resendMB: +(resendBytes / 1e6).toFixed(1),
    reusedMB: +(reusableBytes / 1e6).toFixed(1),
    estTokensSent: estTokens,
    prefixBreaks: breaks,
    estTokensRecomputed: lostTokens,
    totalMs: Math.round(total),
    p50Ms: +times[Math.floor(times.length / 2)]!.toFixed(2),
    p99Ms: +times[Math.floor(times.length * 0.99)]!.toFixed(2),
    MBps: +(resendBytes / 1e6 / (total / 1000)).toFixed(0),
  };
  console.log(JSON.stringify(line));
  summary[name] = { totalMs: line.totalMs, MBps: line.MBps, prefixBreaks: breaks, estTokensRecomputed: lostTokens };
}

// One long history: the traces' entries one after another (fresh ids, one parent chain), 100k + appends.
const APPENDS = 300;
const long: Entry[] = [];
for (let round = 0; long.length < 100_000 + APPENDS; round++)
  for (const t of traces)
    for (const e of t.entries) {
      if (long.length >= 100_000 + APPENDS) break;
      const id = asEntryId(`h${long.length}`);
      long.push({ ...e, id, parent: long.length > 0 ? long[long.length - 1]!.id : null } as Entry);
    }
const longTools = [...new Map(traces.flatMap((t) => t.tools).map((x) => [x.name, x])).values()];
const longSystem = traces.find((t) => t.system !== undefined)?.system;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Median µs of a compile after one append, with a render cache warmed on 1,000 and on 100,000 entries;
 * the two histories take turns (append one entry to each, compile each), so both see the same machine load.
 * Also the time to UTF-8 encode the body, as any transport must.
 */
const afterAppend = (cfg: Omit<RenderContext, "system" | "tools">) => {
  const ctx: RenderContext = { ...cfg, ...(longSystem !== undefined ? { system: longSystem } : {}), tools: longTools };
  const runs = [1_000, 100_000].map((size) => {
    const cache = createRenderCache();
    // The agent's transcript grows by one entry per request (no copy of the history per request here: that is the caller's).
    const transcript = long.slice(0, size);
    compile(transcript, ctx, { cache, conversation: "bench" });
    return { size, cache, transcript, times: [] as number[], encode: [] as number[] };
  });
  for (let j = 1; j <= APPENDS; j++)
    for (const run of j % 2 === 0 ? runs : [...runs].reverse()) {
      run.transcript.push(long[run.size + j - 1]!);
      const s = performance.now();
      const r = compile(run.transcript, ctx, { cache: run.cache, conversation: "bench" });
      run.times.push(performance.now() - s);
      if (j % 50 === 0) {
        const e = performance.now();
        Buffer.byteLength(r.body);
        run.encode.push(performance.now() - e);
      }
    }
  return runs.map((r) => ({ us: median(r.times) * 1000, encodeUs: median(r.encode) * 1000 }));
};

for (const [name, cfg] of Object.entries(CONFIGS)) {
  const [k1, k100] = afterAppend(cfg) as [{ us: number; encodeUs: number }, { us: number; encodeUs: number }];
  const line = {
    renderer: name,
    renderUs1k: Math.round(k1.us),
    renderUs100k: Math.round(k100.us),
    renderRatio: +(k100.us / k1.us).toFixed(2),
    encodeBodyUs1k: Math.round(k1.encodeUs),
    encodeBodyUs100k: Math.round(k100.encodeUs),
  };
  console.log(JSON.stringify(line));
  Object.assign(summary[name] as object, { renderUs1k: line.renderUs1k, renderUs100k: line.renderUs100k, renderRatio: line.renderRatio });
}
console.log(JSON.stringify({ bench: "compile", historyEntries: 100_000, appendsMeasured: APPENDS, ...summary }));

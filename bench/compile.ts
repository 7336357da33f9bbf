// Compile cost and resend volume over the 90 traces, per renderer; and what the stock Qwen3
// template (reasoning dropped) costs in recomputed prefix compared with reasoning kept.
// Every assistant turn gets a short visible reasoning (deterministic) so the templates have some to keep.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as Y from "yjs";
import { asDeviceId, importMessages, openLog, parseJsonl, SYSTEM_PROMPT_INFO, type Entry } from "@ctxsync/core";
import { compile, explain, type Manifest, type RenderContext, type ToolSpec } from "@ctxsync/compile";

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
console.log(JSON.stringify({ summary: "compile", ...summary }));

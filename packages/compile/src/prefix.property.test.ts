// The core invariant over the 90 real traces, for every renderer: the request for turn k+1
// starts with the exact bytes of the request for turn k up to its last stable breakpoint.
import { describe, expect, it } from "vitest";
import { canonicalJson, type Entry } from "@ctxsync/core";
import { compile, type CompileResult } from "./compile.js";
import type { RenderContext } from "./context.js";
import { explain } from "./explain.js";
import { FOREIGN_MARKER, loadTrace, prng, seedFromEnv, traceFiles, type LoadedTrace } from "./traces.test-util.js";

const SEED = seedFromEnv();
console.log(`prefix property: PROPERTY_SEED=${SEED} (set it to replay this run)`);
const rand = prng(SEED);
const traces: LoadedTrace[] = traceFiles().map((f) => loadTrace(f, rand));

type Config = Omit<RenderContext, "system" | "tools">;
const CONFIGS: Record<string, Config> = {
  "openai-chat": { provider: "openai-chat", model: "gpt-5.4", options: { params: { temperature: 0 } } },
  "openai-responses": { provider: "openai-responses", model: "gpt-5.4" },
  anthropic: { provider: "anthropic", model: "claude-sonnet-4-5-20250929", options: { params: { max_tokens: 1024 } } },
  gemini: { provider: "gemini", model: "gemini-3-pro" },
  deepseek: { provider: "deepseek", model: "deepseek-chat" },
  chatml: { provider: "chatml", model: "local" },
  qwen3: { provider: "qwen3", model: "qwen3-8b" },
  "qwen3 enable_thinking=false": { provider: "qwen3", model: "qwen3-8b", options: { enableThinking: false } },
  llama3: { provider: "llama3", model: "llama-3.1-8b" },
};

// With thinking disabled a model produces no reasoning: those runs see the traces without it.
const withoutReasoning = (entries: readonly Entry[]): Entry[] =>
  entries.map((e) => {
    if (e.kind !== "assistant" || e.content.reasoning === undefined) return e;
    const { reasoning: _, ...content } = e.content;
    return { ...e, content };
  });

const turns = (t: LoadedTrace, cfg: Config, each: (k: number, r: CompileResult) => void): void => {
  const ctx: RenderContext = { ...cfg, ...(t.system !== undefined ? { system: t.system } : {}), tools: t.tools };
  const entries = cfg.options?.enableThinking === false ? withoutReasoning(t.entries) : t.entries;
  for (const [k, at] of t.assistantAt.entries())
    each(k, compile(entries.slice(0, at), ctx, { hidden: (id) => t.blobs.get(id) ?? [], conversation: "conv", branch: "main" }));
};

describe.each(Object.entries(CONFIGS))("prefix property: %s", (name, cfg) => {
  it(`turn k+1 starts with turn k up to its last stable breakpoint, over ${traces.length} traces`, () => {
    let pairs = 0;
    for (const t of traces) {
      let prev: { r: CompileResult; buf: Buffer } | undefined;
      let last: CompileResult | undefined;
      turns(t, cfg, (k, r) => {
        const buf = Buffer.from(r.prefix, "utf8");
        expect(buf.length, `${t.name} turn ${k}: manifest byte count`).toBe(r.manifest.totals.bytes);
        if (prev) {
          const s = prev.r.manifest.stableEnd;
          if (buf.compare(prev.buf, 0, s, 0, s) !== 0) {
            const at = [...Array(s).keys()].find((i) => buf[i] !== prev!.buf[i]);
            throw new Error(`${name}: ${t.name} turn ${k} does not extend turn ${k - 1} (first differing byte ${at}; PROPERTY_SEED=${SEED})`);
          }
          const ex = explain(prev.r.manifest, r.manifest);
          expect(ex.reason, `${t.name} turn ${k}: ${ex.message}`).toBe("extends");
          expect(ex.lostTokens).toBe(0);
          pairs++;
        }
        prev = { r, buf };
        last = r;
      });
      if (last) {
        // The body is exactly the request, and foreign blobs never reach it.
        expect(canonicalJson(JSON.parse(last.body))).toBe(canonicalJson(last.request));
        expect(last.body.includes(FOREIGN_MARKER)).toBe(false);
        expect(last.warnings.some((w) => w.code === "hidden-dropped" && w.reason === "other-provider")).toBe(true);
      }
    }
    expect(pairs).toBeGreaterThan(1000);
  });
});

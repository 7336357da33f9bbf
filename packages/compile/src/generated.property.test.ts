// Seeded synthetic histories with real multi-device, multi-provider traffic (generated.test-util.ts),
// compiled for every renderer at every point an agent could send a request: every request passes the
// provider's structural rules, memoized rendering equals fresh rendering, and each request that was
// sent (an assistant turn follows it) with no tool loop open extends the previous one — the moving of
// entries logged inside a tool loop is stable.
import { describe, expect, it } from "vitest";
import { createRng, testSeed } from "@ctxsync/core";
import { checkRequest } from "./check/index.js";
import { compile, type CompileResult } from "./compile.js";
import type { RenderContext } from "./context.js";
import { explain } from "./explain.js";
import { GEN_SYSTEM, GEN_TOOLS, generateHistory, isRequestPoint, type GeneratedHistory } from "./generated.test-util.js";
import { createRenderCache } from "./render-cache.js";

const SEED = testSeed("generated histories", 11);
const rng = createRng(SEED);
const rand = () => rng.next();
const HISTORIES: GeneratedHistory[] = Array.from({ length: 24 }, () => generateHistory(rand, { turns: 8 + Math.floor(rand() * 10) }));

type Config = Omit<RenderContext, "system" | "tools">;
const CONFIGS: Record<string, Config> = {
  "openai-chat": { provider: "openai-chat", model: "gpt-5.4" },
  "openai-chat explicit breakpoints": { provider: "openai-chat", model: "gpt-5.6", options: { explicitBreakpoints: true } },
  "openai-responses": { provider: "openai-responses", model: "gpt-5.4" },
  "openai-responses previous_response_id": { provider: "openai-responses", model: "gpt-5.4", options: { responsesMode: "previous_response_id" } },
  anthropic: { provider: "anthropic", model: "claude-sonnet-4-5" },
  "anthropic thinking": { provider: "anthropic", model: "claude-sonnet-4-5", options: { params: { max_tokens: 8192, thinking: { type: "enabled", budget_tokens: 2048 } } } },
  gemini: { provider: "gemini", model: "gemini-3-pro" },
  deepseek: { provider: "deepseek", model: "deepseek-chat" },
  "deepseek-reasoner": { provider: "deepseek", model: "deepseek-reasoner" },
  chatml: { provider: "chatml", model: "local" },
  qwen3: { provider: "qwen3", model: "qwen3-8b" },
  "qwen3 stock": { provider: "qwen3", model: "qwen3-8b", options: { reasoning: "stock" } },
  llama3: { provider: "llama3", model: "llama-3.1-8b" },
};

/** Warnings each configuration must have met over the generated histories: the cases are really exercised. */
const LOOPS = ["entries-moved", "missing-tool-result", "tool-results-pending"];
const COMMON = [...LOOPS, "orphan-tool-result"];
const EXPECTED: Record<string, string[]> = {
  anthropic: [...COMMON, "tool-call-id-mapped", "trailing-whitespace-trimmed", "empty-content"],
  "anthropic thinking": [...COMMON, "tool-loop-as-text", "tool-call-id-mapped"],
  gemini: [...COMMON, "thought-signature-placeholder"],
  // Templates render a result that answers no open call as a tool response (no orphan warning).
  chatml: [...LOOPS, "lone-surrogate"],
  qwen3: [...LOOPS, "lone-surrogate"],
  "qwen3 stock": [...LOOPS, "lone-surrogate", "reasoning-dropped-by-template"],
  llama3: [...LOOPS, "lone-surrogate", "content-dropped-by-template"],
};

describe.each(Object.entries(CONFIGS))("generated histories: %s", (name, cfg) => {
  it("every request passes the provider's rules; memoized == fresh; requests with no open tool loop extend each other", () => {
    const ctx: RenderContext = { ...cfg, system: GEN_SYSTEM, tools: GEN_TOOLS };
    let requests = 0;
    let extended = 0;
    const seen = new Set<string>();
    HISTORIES.forEach((h, hi) => {
      const hidden = (id: string) => h.blobs.get(id as never) ?? [];
      const cache = createRenderCache();
      let prev: CompileResult | undefined;
      for (let n = 1; n <= h.entries.length; n++) {
        const entries = h.entries.slice(0, n);
        if (entries.at(-1)!.kind === "assistant") continue;
        const where = `${name}: history ${hi}, ${n} entries (SEED=${SEED})`;
        const fresh = compile(entries, ctx, { hidden });
        const memo = compile(entries, ctx, { hidden, cache });
        expect(memo.body, where).toBe(fresh.body);
        expect(memo.prefix, where).toBe(fresh.prefix);
        expect(JSON.stringify(memo.manifest), where).toBe(JSON.stringify(fresh.manifest));
        expect(JSON.stringify(memo.warnings), where).toBe(JSON.stringify(fresh.warnings));
        const violations = checkRequest(fresh.provider, fresh.body, { model: fresh.model });
        if (violations.length > 0) throw new Error(`${where}: ${JSON.stringify(violations, null, 1)}`);
        requests++;
        for (const w of fresh.warnings) seen.add(w.code);
        // A request that was sent: the assistant's answer follows it in the log.
        // (The stock Qwen3 template breaks the prefix by design: prefix.property.test.ts has that negative.)
        if (h.entries[n]?.kind !== "assistant" || !isRequestPoint(entries) || fresh.manifest.server || cfg.options?.reasoning === "stock") continue;
        if (prev) {
          const s = prev.manifest.stableEnd;
          const a = Buffer.from(prev.prefix);
          const b = Buffer.from(fresh.prefix);
          if (b.compare(a, 0, s, 0, s) !== 0) throw new Error(`${where}: the request does not extend the previous one`);
          expect(explain(prev.manifest, fresh.manifest).reason, where).toBe("extends");
          extended++;
        }
        prev = fresh;
      }
    });
    console.log(`${name}: ${requests} requests checked, ${extended} extended the previous one (SEED=${SEED})`);
    expect(requests).toBeGreaterThan(300);
    for (const code of EXPECTED[name] ?? COMMON) expect(seen, `${name}: no ${code} warning in any generated history (SEED=${SEED})`).toContain(code);
    if (cfg.options?.reasoning !== "stock") expect(extended).toBeGreaterThan(100);
  });
});

import { describe, expect, it } from "vitest";
import type { Entry, EntryId } from "@ctxsync/core";
import { compile } from "./compile.js";
import type { RenderContext } from "./context.js";
import { explain } from "./explain.js";
import { buildTranscript, FLIGHT, FLIGHT_BLOBS, SYSTEM, TOOLS } from "./fixtures.test-util.js";

const t = buildTranscript(FLIGHT);
const hidden = (id: EntryId) => FLIGHT_BLOBS.get(id) ?? [];
const base: RenderContext = { provider: "openai-chat", model: "gpt-5.4", system: SYSTEM, tools: TOOLS };
const m = (entries: readonly Entry[], ctx: RenderContext = base) => compile(entries, ctx, { hidden }).manifest;

describe("explain(previous, next)", () => {
  it("next turn: extends, nothing lost", () => {
    const ex = explain(m(t.slice(0, 3)), m(t.slice(0, 6)));
    expect(ex).toMatchObject({ reason: "extends", firstDifference: null, lostTokens: 0 });
    expect(ex.cachedPrefixTokens).toBe(m(t.slice(0, 3)).totals.stableTokens);
    expect(ex.tokensEstimated).toBe(true);
  });

  it("identical, and params-changed when only request params differ", () => {
    expect(explain(m(t), m(t)).reason).toBe("identical");
    const ex = explain(m(t), m(t, { ...base, options: { params: { temperature: 1 } } }));
    expect(ex.reason).toBe("params-changed");
  });

  it("system prompt changed: breaks at the system segment", () => {
    const ex = explain(m(t), m(t, { ...base, system: `${SYSTEM} Today is 2026-11-21.` }));
    expect(ex.reason).toBe("system-changed");
    expect(ex.firstDifference?.kind).toBe("system");
    // Tools come before the system message in this layout: they stay cached.
    const tools = m(t).segments.find((s) => s.kind === "tools")!;
    expect(ex.cachedPrefixTokens).toBe(tools.tokens);
    expect(ex.lostTokens).toBe(m(t).totals.stableTokens - tools.tokens);
  });

  it("tools changed", () => {
    const ex = explain(m(t), m(t, { ...base, tools: [...TOOLS, { name: "cancel" }] }));
    expect(ex).toMatchObject({ reason: "tools-changed", cachedPrefixTokens: 0, firstDifference: { kind: "tools" } });
  });

  it("provider or model switched: nothing cached", () => {
    const prev = m(t);
    expect(explain(prev, m(t, { ...base, provider: "anthropic", model: "claude-sonnet-4-5" }))).toMatchObject({ reason: "provider-changed", cachedPrefixTokens: 0, lostTokens: prev.totals.stableTokens });
    expect(explain(prev, m(t, { ...base, model: "gpt-5.4-mini" }))).toMatchObject({ reason: "model-changed", cachedPrefixTokens: 0 });
  });

  it("history differs: names the first entry that is not repeated", () => {
    const other = buildTranscript([...FLIGHT.slice(0, 3), { kind: "assistant", content: { text: "Something else." } }]);
    const ex = explain(m(t.slice(0, 5)), m(other));
    expect(ex).toMatchObject({ reason: "history-differs", firstDifference: { kind: "entry", entryId: "e4", role: "assistant" } });
    const upTo = m(t.slice(0, 5)).segments.find((s) => s.entryId === "e4")!.start;
    expect(ex.cachedPrefixTokens).toBe(m(t.slice(0, 5)).segments.filter((s) => s.kind !== "params" && s.end <= upTo).reduce((a, s) => a + s.tokens, 0));
  });

  it("hidden blobs differ on the same turn (e.g. a blob was lost)", () => {
    const a = compile(t, { ...base, provider: "anthropic", model: "claude-sonnet-4-5" }, { hidden }).manifest;
    const b = compile(t, { ...base, provider: "anthropic", model: "claude-sonnet-4-5" }, { hidden: (id) => (id === "e4" ? [] : hidden(id)) }).manifest;
    expect(explain(a, b)).toMatchObject({ reason: "reasoning-dropped", firstDifference: { entryId: "e4" } });
    const c = compile(t, { ...base, provider: "gemini", model: "gemini-3-pro" }, { hidden }).manifest;
    const d = compile(t, { ...base, provider: "gemini", model: "gemini-3-pro" }, { hidden: (id) => (id === "e4" ? [] : hidden(id)) }).manifest;
    expect(explain(c, d)).toMatchObject({ reason: "hidden-differs", firstDifference: { entryId: "e4" } });
  });

  it("Anthropic keeps only up to the last breakpoint before the difference", () => {
    const ctx: RenderContext = { ...base, provider: "anthropic", model: "claude-sonnet-4-5" };
    const prev = compile(t.slice(0, 6), ctx, { hidden }).manifest;
    const changed = buildTranscript([...FLIGHT.slice(0, 5), { kind: "user", content: { text: "No, cancel." } }]);
    const ex = explain(prev, compile(changed, ctx, { hidden }).manifest);
    expect(ex.reason).toBe("history-differs");
    // Breakpoints of prev: static end, end of e3 (before the newest assistant turn e4), end of e5+e6.
    const e3 = prev.segments.find((s) => s.entryId === "e3")!;
    expect(prev.breakpoints).toContain(e3.end);
    expect(ex.cachedPrefixTokens).toBe(prev.segments.filter((s) => s.end <= e3.end).reduce((a, s) => a + s.tokens, 0));
  });

  it("stock Qwen3: reasoning dropped when a new user query arrives", () => {
    const stock: RenderContext = { ...base, provider: "qwen3", model: "qwen3", options: { reasoning: "stock" } };
    const prev = m(t.slice(0, 3), stock); // e2 is in the current tool loop: rendered with its reasoning
    const next = m(t.slice(0, 6), stock); // e6 is a new query: e2 loses its reasoning
    const ex = explain(prev, next);
    expect(ex).toMatchObject({ reason: "reasoning-dropped", firstDifference: { entryId: "e2", role: "assistant" } });
    expect(ex.lostTokens).toBeGreaterThan(0);
    // Kept mode: the same turns extend.
    const keep: RenderContext = { ...stock, options: { reasoning: "keep" } };
    expect(explain(m(t.slice(0, 3), keep), m(t.slice(0, 6), keep)).reason).toBe("extends");
  });

  it("a template whose history does not repeat its generation prompt (stock Qwen3, enable_thinking=false)", () => {
    const stock: RenderContext = { ...base, provider: "qwen3", model: "qwen3", options: { reasoning: "stock", enableThinking: false } };
    const plain = buildTranscript(
      FLIGHT.map((e) => {
        if (e.kind !== "assistant") return e;
        const { reasoning: _, ...content } = e.content;
        return { kind: "assistant", content };
      }),
    );
    const prev = compile(plain.slice(0, 1), stock);
    const next = compile(plain.slice(0, 3), stock);
    expect(next.prefix.startsWith(prev.prefix)).toBe(false);
    const ex = explain(prev.manifest, next.manifest);
    expect(ex).toMatchObject({ reason: "template-mismatch", firstDifference: { kind: "generation-prompt" } });
    // Kept mode renders the empty think block in history too: the turn starts with its generation prompt.
    const keep: RenderContext = { ...stock, options: { enableThinking: false } };
    const a = compile(plain.slice(0, 1), keep);
    const b = compile(plain.slice(0, 3), keep);
    expect(b.prefix.startsWith(a.prefix)).toBe(true);
    expect(explain(a.manifest, b.manifest).reason).toBe("extends");
  });

  it("server-held state is named as such", () => {
    const chained: RenderContext = { ...base, provider: "openai-responses", options: { responsesMode: "previous_response_id" } };
    const ex = explain(m(t.slice(0, 3), chained), m(t, chained));
    expect(ex.reason).toBe("server-state");
  });
});

import { describe, expect, it } from "vitest";
import { createRng, type Entry, type EntryId, type HiddenBlob } from "@ctxsync/core";
import { compile } from "./compile.js";
import { RENDERERS, type RenderContext } from "./context.js";
import { testBlob } from "./fixtures.test-util.js";
import { GEN_SYSTEM, GEN_TOOLS, generateHistory } from "./generated.test-util.js";
import { createRenderCache } from "./render-cache.js";

const ctx = (provider: (typeof RENDERERS)[number]): RenderContext => ({ provider, model: provider === "gemini" ? "gemini-3-pro" : "m", system: GEN_SYSTEM, tools: GEN_TOOLS });
const rngFor = (seed: number) => {
  const r = createRng(seed);
  return () => r.next();
};
const history = generateHistory(rngFor(7), { turns: 50 });
const entries = history.entries;

describe("createRenderCache", () => {
  it.each(RENDERERS)("%s: a request after an append reads only the newest entries (hidden lookups stay bounded as history grows)", (provider) => {
    const cache = createRenderCache();
    const looked: EntryId[] = [];
    const hidden = (id: EntryId): readonly HiddenBlob[] => (looked.push(id), history.blobs.get(id) ?? []);
    const perRequest: number[] = [];
    for (let n = 1; n <= entries.length; n++) {
      looked.length = 0;
      const r = compile(entries.slice(0, n), ctx(provider), { hidden, cache });
      perRequest.push(new Set(looked).size);
      if (n % 10 === 0) expect(r.body).toBe(compile(entries.slice(0, n), ctx(provider), { hidden: (id) => history.blobs.get(id) ?? [] }).body);
    }
    // Without a cache every request reads every entry; with one, the last turns only.
    expect(entries.length).toBeGreaterThanOrEqual(100);
    expect(Math.max(...perRequest.slice(20))).toBeLessThan(40);
  });

  it("blobs attached after an entry was memoized: invalidate() makes the next compile render them", () => {
    const c = ctx("anthropic");
    const blobs = new Map<EntryId, HiddenBlob[]>();
    const hidden = (id: EntryId) => blobs.get(id) ?? [];
    const cache = createRenderCache();
    const t = entries.slice(0, 60);
    compile(t, c, { hidden, cache });
    const early = t.find((e, i) => e.kind === "assistant" && i < 20)!;
    blobs.set(early.id, [testBlob(early.id, "anthropic", "m", "anthropic.thinking", 0, { thinking: "late", signature: "LATE-SIG" })]);
    expect(compile(t, c, { hidden, cache }).body).not.toContain("LATE-SIG"); // memoized before the blob arrived
    cache.invalidate([early.id]);
    const after = compile(t, c, { hidden, cache });
    expect(after.body).toContain("LATE-SIG");
    expect(after.body).toBe(compile(t, c, { hidden }).body);
  });

  it("branches compiled in turn with one cache each keep their own memoized history", () => {
    const c = ctx("openai-chat");
    const cache = createRenderCache();
    const other = generateHistory(rngFor(8), { turns: 20 }).entries;
    for (let n = 5; n < 60; n += 3) {
      for (const t of [entries.slice(0, n), other.slice(0, Math.min(n, other.length))] as Entry[][]) {
        expect(compile(t, c, { cache }).body).toBe(compile(t, c).body);
      }
    }
    expect(cache.size).toBe(2);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it("another render context, option or blob source is another memoized history, never a stale one", () => {
    const cache = createRenderCache();
    const t = entries.slice(0, 50);
    const a = compile(t, ctx("anthropic"), { cache });
    const b = compile(t, { ...ctx("anthropic"), system: "other" }, { cache });
    const h = compile(t, ctx("anthropic"), { cache, hidden: (id) => history.blobs.get(id) ?? [] });
    expect(b.body).not.toBe(a.body);
    expect(h.body).toBe(compile(t, ctx("anthropic"), { hidden: (id) => history.blobs.get(id) ?? [] }).body);
    expect(cache.size).toBe(3);
  });

  it("a shorter transcript (a warm-up of an earlier prefix) is compiled correctly from the same cache", () => {
    const cache = createRenderCache();
    const c = ctx("gemini");
    compile(entries.slice(0, 80), c, { cache });
    expect(compile(entries.slice(0, 30), c, { cache }).body).toBe(compile(entries.slice(0, 30), c).body);
    expect(compile(entries.slice(0, 81), c, { cache }).body).toBe(compile(entries.slice(0, 81), c).body);
  });
});

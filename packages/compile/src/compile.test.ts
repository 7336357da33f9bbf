import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { asDeviceId, asEntryId, canonicalJson, checkpointKey, openHidden, openLog, type Entry, type EntryId, type HiddenBlob } from "@ctxsync/core";
import { checkpointIdentity } from "./checkpoint.js";
import { geminiCachePlan } from "./gemini-cache.js";
import { compile } from "./compile.js";
import { renderContextHash, type RenderContext, type RendererId } from "./context.js";
import { isCompileError } from "./errors.js";
import { modelFamily } from "./hidden.js";
import { buildTranscript, FLIGHT, FLIGHT_BLOBS, SYSTEM, TOOLS } from "./fixtures.test-util.js";
import type { AnthropicRequest } from "./renderers/anthropic.js";

const transcript = buildTranscript(FLIGHT);
const hidden = (id: EntryId) => FLIGHT_BLOBS.get(id) ?? [];
const ctx = <P extends RendererId>(provider: P, extra: Partial<Omit<RenderContext, "provider">> = {}): RenderContext & { provider: P } => ({
  provider,
  model: provider === "anthropic" ? "claude-sonnet-4-5-20250929" : provider === "gemini" ? "gemini-3-pro" : "gpt-5.4",
  system: SYSTEM,
  tools: TOOLS,
  ...extra,
});

const compileError = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (isCompileError(e)) return e;
    throw e;
  }
  throw new Error("expected a CompileError");
};

describe("bad input gets a clear CompileError", () => {
  it.each([
    ["unknown provider", { provider: "cohere", model: "x" }, /unknown provider "cohere"/],
    ["missing model", { provider: "anthropic", model: "" }, /needs a model/],
    ["duplicate tools", { provider: "gemini", model: "g", tools: [{ name: "a" }, { name: "a" }] }, /duplicate tool name "a"/],
    ["tool without a name", { provider: "gemini", model: "g", tools: [{ description: "x" }] }, /needs a name/],
    ["unknown option", { provider: "qwen3", model: "q", options: { preserve: true } }, /unknown option "preserve"/],
    ["bad option value", { provider: "qwen3", model: "q", options: { reasoning: "sometimes" } }, /keep or stock/],
    ["params clash", { provider: "openai-chat", model: "m", options: { params: { messages: [] } } }, /may not set "messages"/],
    ["a param with no JSON form", { provider: "anthropic", model: "m", options: { params: { temperature: Number.NaN } } }, /non-finite number NaN/],
  ])("%s", (_, bad, msg) => {
    const e = compileError(() => compile(transcript, bad as unknown as RenderContext));
    expect(e.code).toBe("invalid-context");
    expect(e.message).toMatch(msg);
  });

  it("a transcript that is not a path", () => {
    const e = compileError(() => compile([transcript[0]!, transcript[2]!], ctx("openai-chat")));
    expect(e.code).toBe("invalid-transcript");
    expect(e.message).toMatch(/does not follow e1/);
  });

  it("something that is not an entry", () => {
    const e = compileError(() => compile([{ id: "x", kind: "bogus" } as unknown as Entry], ctx("openai-chat")));
    expect(e.code).toBe("invalid-transcript");
  });

  it("compiling never changes its inputs", () => {
    const before = JSON.stringify(transcript);
    const c = ctx("anthropic");
    const cBefore = JSON.stringify(c);
    compile(transcript, c, { hidden });
    expect(JSON.stringify(transcript)).toBe(before);
    expect(JSON.stringify(c)).toBe(cBefore);
  });
});

describe("render context", () => {
  it("tools go out in a deterministic order whatever order they were given in", () => {
    const a = compile(transcript, ctx("openai-chat", { tools: TOOLS }));
    const b = compile(transcript, ctx("openai-chat", { tools: [...TOOLS].reverse() }));
    expect(a.body).toBe(b.body);
    expect(renderContextHash(ctx("openai-chat", { tools: TOOLS }))).toBe(renderContextHash(ctx("openai-chat", { tools: [...TOOLS].reverse() })));
    expect(renderContextHash(ctx("openai-chat"))).not.toBe(renderContextHash(ctx("openai-chat", { system: "other" })));
  });

  it("an empty system prompt is left out where a provider refuses empty text", () => {
    expect(compile(transcript, ctx("anthropic", { system: "" })).request.system).toBeUndefined();
    expect(compile(transcript, ctx("gemini", { system: "" })).request.systemInstruction).toBeUndefined();
  });

  it("the render-context hash is recorded in the manifest", () => {
    const r = compile(transcript, ctx("gemini"));
    expect(r.manifest.renderContextHash).toBe(renderContextHash(ctx("gemini")));
  });

  it("prompt_cache_key is derived from conversation and branch", () => {
    const key = (branch: string) => compile(transcript, ctx("openai-chat"), { conversation: "c1", branch }).request.prompt_cache_key;
    expect(key("main")).toMatch(/^ctxsync-[0-9a-f]{32}$/);
    expect(key("main")).toBe(key("main"));
    expect(key("main")).not.toBe(key("fork/x"));
    expect(compile(transcript, ctx("openai-chat")).request.prompt_cache_key).toBeUndefined();
  });
});

describe("hidden blobs", () => {
  it("go back only to the provider and model family that issued them", () => {
    const other = compile(transcript, ctx("anthropic", { model: "claude-opus-4-1-20250805" }), { hidden });
    expect(other.body).not.toContain("EqQBCkYIARgCKkB+sig/e2==");
    const drops = other.warnings.filter((w) => w.code === "hidden-dropped" && w.reason === "other-model-family");
    expect(drops).toHaveLength(3);
    const same = compile(transcript, ctx("anthropic", { model: "claude-sonnet-4-5" }), { hidden });
    expect(same.body).toContain('"signature":"EqQBCkYIARgCKkB+sig/e2=="');
    const custom = compile(transcript, ctx("anthropic", { model: "claude-opus-4-1-20250805" }), { hidden, sameModelFamily: () => true });
    expect(custom.body).toContain("EqQBCkYIARgCKkB+sig/e2==");
  });

  it("thinking and redacted_thinking blocks come back byte-exact and in their original order, before the text", () => {
    const r = compile(transcript, ctx("anthropic"), { hidden });
    const e2 = (r.request as AnthropicRequest).messages[1]!.content;
    expect(e2.map((b) => b.type)).toEqual(["thinking", "redacted_thinking", "tool_use"]);
    expect(r.body).toContain('{"signature":"EqQBCkYIARgCKkB+sig/e2==","thinking":"The user wants flights; call search_flights.","type":"thinking"},{"data":"EmwKAhgBEgy3redacted==","type":"redacted_thinking"}');
  });

  it("blobs from no renderer's provider never appear, and leaving them out is a warning", () => {
    for (const p of ["openai-chat", "openai-responses", "anthropic", "gemini", "deepseek", "chatml", "qwen3", "llama3"] as const) {
      const r = compile(transcript, ctx(p, { model: "m" }), { hidden });
      expect(r.body, p).not.toContain("NEVER-RENDER-ME");
      expect(r.warnings.some((w) => w.code === "hidden-dropped" && w.blobKind === "acme.state"), p).toBe(true);
    }
  });

  it("a blob with the wrong data shape is dropped with a reason", () => {
    const bad: HiddenBlob = { id: "b1", entry: asEntryId("e4"), provider: "anthropic", model: "claude-sonnet-4-5", kind: "anthropic.thinking", order: 0, data: { thinking: "x" }, time: 0 };
    const r = compile(transcript, ctx("anthropic"), { hidden: (id) => (id === "e4" ? [bad] : []) });
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: "hidden-dropped", reason: "bad-data", entryId: "e4" }));
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: "reasoning-omitted" }));
  });

  it("only assistant turns take blobs back: one on another entry is dropped with a reason", () => {
    const onUser: HiddenBlob = { id: "b2", entry: asEntryId("e1"), provider: "anthropic", model: "claude-sonnet-4-5", kind: "anthropic.thinking", order: 0, data: { thinking: "t", signature: "SIG-ON-USER" }, time: 0 };
    const r = compile(transcript, ctx("anthropic"), { hidden: (id) => (id === "e1" ? [onUser] : []) });
    expect(r.body).not.toContain("SIG-ON-USER");
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: "hidden-dropped", reason: "unsupported-kind", entryId: "e1" }));
  });

  it("reads blobs from C/hidden through openHidden", () => {
    const doc = new Y.Doc();
    const log = openLog(doc, { device: asDeviceId("d1") });
    const u = log.append("main", { kind: "user", content: { text: "hi" } });
    const a = log.append("main", { kind: "assistant", content: { text: "hello" } });
    const h = openHidden(new Y.Doc());
    h.attach({ entry: a.id, provider: "google", model: "gemini-3-pro-preview", kind: "gemini.thought_signature", data: { part: 0, signature: "SIG" } });
    const r = compile(log.transcript("main"), { provider: "gemini", model: "gemini-3-pro" }, { hidden: h.blobs });
    expect(r.request.contents[1]!.parts[0]).toEqual({ text: "hello", thoughtSignature: "SIG" });
    expect(r.manifest.segments.find((s) => s.entryId === a.id)?.hidden).toBe(1);
    void u;
  });

  it("model families drop snapshot suffixes", () => {
    expect(modelFamily("claude-3-5-sonnet-20241022")).toBe("claude-3-5-sonnet");
    expect(modelFamily("gpt-4o-2024-08-06")).toBe("gpt-4o");
    expect(modelFamily("models/gemini-2.0-flash-001")).toBe("gemini-2.0-flash");
    expect(modelFamily("gemini-2.5-pro-preview-05-06")).toBe("gemini-2.5-pro");
  });
});

describe("anthropic cache breakpoints", () => {
  it("at most four, at the static end, the previous turn's end and the newest point; the manifest ignores them", () => {
    const r = compile(transcript, ctx("anthropic"), { hidden });
    expect((r.body.match(/"cache_control"/g) ?? []).length).toBe(3);
    expect(r.prefix).not.toContain("cache_control");
    expect(r.manifest.breakpoints).toHaveLength(3);
    expect(r.manifest.breakpoints.at(-1)).toBe(r.manifest.stableEnd);
    const req = r.request as AnthropicRequest;
    expect(req.system![0]!.cache_control).toEqual({ type: "ephemeral" });
    expect(req.messages.at(-1)!.content.at(-1)).toMatchObject({ cache_control: { type: "ephemeral" } });
    // The message before the newest assistant turn: where the previous request ended.
    expect(req.messages.at(-3)!.content.at(-1)).toMatchObject({ cache_control: { type: "ephemeral" } });
    // The previous request's newest breakpoint sits at the same bytes as this request's previous-turn breakpoint.
    const prev = compile(transcript.slice(0, 6), ctx("anthropic"), { hidden });
    expect(r.manifest.breakpoints).toContain(prev.manifest.stableEnd);
  });

  it("a 1h TTL when asked; tools carry the static breakpoint when there is no system prompt", () => {
    const r = compile(transcript, ctx("anthropic", { system: undefined, options: { cacheTtl: "1h" } }));
    const req = r.request as AnthropicRequest;
    expect(req.tools!.at(-1)!.cache_control).toEqual({ type: "ephemeral", ttl: "1h" });
    expect(req.system).toBeUndefined();
  });
});

describe("gemini cachedContent", () => {
  const hash = renderContextHash(ctx("gemini"));
  it("with a usable handle sends only what follows the cached prefix", () => {
    const r = compile(transcript, ctx("gemini"), { cacheHandle: { name: "cachedContents/abc", upTo: asEntryId("e4"), renderContextHash: hash } });
    expect(r.request.cachedContent).toBe("cachedContents/abc");
    expect(r.request.systemInstruction).toBeUndefined();
    expect(r.request.tools).toBeUndefined();
    expect(r.request.contents[0]!.parts[0]).toEqual({ text: '<config>{"sandbox":"read-only"}</config>' });
    expect(r.manifest.server).toEqual({ cachedContent: "cachedContents/abc", upTo: "e4" });
  });
  it("geminiCachePlan creates exactly the prefix a later request leaves out", () => {
    const upToE4 = transcript.slice(0, 4); // e1..e4: ends with an assistant turn, a boundary no message spans
    const plan = geminiCachePlan(upToE4, ctx("gemini"), { ttl: "3600s" });
    expect(plan.request.ttl).toBe("3600s");
    expect(plan.request.model).toBe("models/gemini-3-pro");
    expect(JSON.parse(plan.body)).toEqual(plan.request);
    const cached = compile(transcript, ctx("gemini"), { cacheHandle: plan.handle("cachedContents/xyz") });
    const full = compile(transcript, ctx("gemini"));
    expect(cached.warnings.filter((w) => w.code === "cache-handle-unusable")).toEqual([]);
    // Cache contents + the request's contents = the full request's contents; system and tools come from the cache.
    expect(canonicalJson([...plan.request.contents, ...cached.request.contents])).toBe(canonicalJson(full.request.contents));
    expect(plan.request.systemInstruction).toEqual(full.request.systemInstruction);
    expect(plan.request.tools).toEqual(full.request.tools);
    expect(cached.manifest.server).toEqual({ cachedContent: "cachedContents/xyz", upTo: "e4" });
  });

  it.each([
    ["render-context-changed", { name: "cachedContents/a", upTo: asEntryId("e4"), renderContextHash: "0".repeat(64) }],
    ["not-in-transcript", { name: "cachedContents/a", upTo: asEntryId("e99") }],
    ["other-model", { name: "cachedContents/a", upTo: null, model: "gemini-2.5-flash" }],
  ])("an unusable handle (%s) falls back to the full request with a warning", (reason, handle) => {
    const r = compile(transcript, ctx("gemini"), { cacheHandle: handle });
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: "cache-handle-unusable", reason }));
    expect(r.request.cachedContent).toBeUndefined();
    expect(r.body).toBe(compile(transcript, ctx("gemini")).body);
  });
});

describe("manifest", () => {
  it("segments tile the prefix in order, with hashes and estimated tokens", () => {
    const r = compile(transcript, ctx("qwen3"));
    const bytes = Buffer.from(r.prefix);
    let at = 0;
    for (const s of r.manifest.segments) {
      expect(s.start).toBe(at);
      at = s.end;
      expect(s.tokensEstimated).toBe(true);
      expect(s.tokens).toBe(Math.ceil((s.end - s.start) / 4));
    }
    expect(at).toBe(bytes.length);
    expect(r.manifest.segments.map((s) => s.kind)).toEqual(["system", "tools", ...transcript.map(() => "entry"), "generation-prompt"]);
    expect(r.manifest.totals.entries).toBe(transcript.length);
    expect(r.manifest.lastEntryId).toBe("e8");
  });

  it("counts with a tokenizer when one is given (a function or an object with count)", () => {
    const words = (t: string) => t.split(/\s+/).filter(Boolean);
    const a = compile(transcript, ctx("llama3"), { tokenizer: (t) => words(t).map(() => 0) });
    const b = compile(transcript, ctx("llama3"), { tokenizer: { count: (t) => words(t).length } });
    expect(a.manifest.totals.tokensEstimated).toBe(false);
    expect(a.manifest.totals.tokens).toBe(b.manifest.totals.tokens);
    const sys = a.manifest.segments.find((s) => s.kind === "system")!;
    expect(sys.tokens).toBe(words(`${SYSTEM}<|eot_id|>`).length);
  });

  it("byte offsets count UTF-8 bytes", () => {
    const r = compile(transcript, ctx("chatml"));
    const seg = r.manifest.segments.find((s) => s.entryId === "e6")!;
    expect(Buffer.from(r.prefix).subarray(seg.start, seg.end).toString()).toBe("<|im_start|>user\nYes, book it — thanks! ✈️<|im_end|>\n");
  });
});

describe("checkpoint identity", () => {
  it("keys the prefix a request leaves cached like core's checkpointKey; forks sharing the prefix share it", () => {
    const log = openLog(new Y.Doc(), { device: asDeviceId("d1") });
    log.append("main", { kind: "user", content: { text: "hi" } });
    const a = log.append("main", { kind: "assistant", content: { text: "hello" } });
    const u = log.append("main", { kind: "user", content: { text: "more" } });
    const fork = log.fork(u.id, "alt");
    const m1 = compile(log.transcript("main"), ctx("anthropic")).manifest;
    const m2 = compile(log.transcript(fork), ctx("anthropic")).manifest;
    const id1 = checkpointIdentity(m1, log.prefixHash(m1.lastEntryId!))!;
    expect(id1).toMatchObject({ provider: "anthropic", entry: u.id, rendererVersion: "anthropic/2", tokens: m1.totals.stableTokens });
    expect(checkpointKey(id1)).toBe(checkpointKey(checkpointIdentity(m2, log.prefixHash(m2.lastEntryId!))!));
    expect(checkpointKey(id1)).not.toBe(checkpointKey(checkpointIdentity(compile(log.transcript("main"), ctx("anthropic", { system: "x" })).manifest, log.prefixHash(u.id))!));
    expect(checkpointIdentity(compile([], ctx("qwen3")).manifest, log.prefixHash(a.id))).toBeUndefined();
  });
});

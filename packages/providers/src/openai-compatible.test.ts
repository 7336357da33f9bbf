import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { compile, type RenderContext } from "@ctxsync/compile";
import type { EntryInput } from "@ctxsync/core";
import { generateTestModel, startEngine, type RunningEngine } from "@ctxsync/local-engine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isProviderError } from "./errors.js";
import { createOpenAICompatibleTransport, eraseSlot, listSlots, restoreSlot, saveSlot } from "./openai-compatible.js";
import type { StreamDelta, Transport } from "./types.js";
import { captureFetch, transcript, user } from "./wire.test-util.js";

// The real local engine (llama.cpp on the project's own tiny model), served over HTTP on port 0.
let running: RunningEngine;
let wire: ReturnType<typeof captureFetch>;
let transport: Transport;

const SYSTEM = "You keep agent state in sync across devices. ".repeat(12);
const ctx = (params: Record<string, unknown> = {}, provider: RenderContext["provider"] = "openai-chat"): RenderContext => ({
  provider,
  model: "tiny",
  system: SYSTEM,
  options: { params: { max_tokens: 6, temperature: 0, ...params } as never },
});

beforeAll(async () => {
  const dir = await mkdtemp(join(os.tmpdir(), "ctxsync-providers-"));
  const model = await generateTestModel({ seed: 1, path: join(dir, "tiny.gguf") });
  // One thread: test files run in parallel on few cores, and llama.cpp threads that outnumber cores are many times slower.
  running = await startEngine({ modelPath: model.path, port: 0, slots: 2, contextSize: 1024, threads: 1, stateDir: join(dir, "state") });
  wire = captureFetch();
  transport = createOpenAICompatibleTransport({ baseURL: `${running.url}/v1`, fetch: wire.fetch, maxRetries: 0, name: "local" });
});

afterAll(async () => {
  await running?.close();
});

const last = () => wire.requests.at(-1)!;

describe("openai-compatible transport against the local engine", () => {
  const turn1: EntryInput[] = [user("sync the state please")];

  it("sends the compiled bytes verbatim (not streaming) and reads the answer and usage", async () => {
    const compiled = compile(transcript(turn1), ctx(), { conversation: "c1", branch: "main" });
    const r = await transport.send({ compiled, model: "tiny", stream: false });
    expect(last().url).toBe(`${running.url}/v1/chat/completions`);
    expect(last().body).toBe(compiled.body);
    expect(last().headers.get("content-type")).toBe("application/json");
    expect(r.entry.kind).toBe("assistant");
    expect(r.entry.content.text.length).toBeGreaterThan(0);
    expect(r.usage.outputTokens).toBe(6);
    expect(r.usage.promptTokens).toBeGreaterThan(100);
    expect(r.usage.ttftMs).toBeNull();
    expect(r.stopReason).toBe("length");
    expect(r.meta.provider).toBe("local");
    expect(r.blobs).toEqual([]);
    // The engine's extras are kept, opaque: timings add up to the prompt.
    const t = r.providerMetadata?.timings as { cache_n: number; prompt_n: number };
    expect(t.cache_n + t.prompt_n).toBe(r.usage.promptTokens);
    expect(r.usage.cachedTokens).toBe(t.cache_n);
    expect(r.usage.cacheWriteTokens).toBe(t.prompt_n);
  });

  it("streams: the bytes are what compile writes with stream params, deltas add up to the entry, TTFT is measured", async () => {
    const t = transcript(turn1);
    const compiled = compile(t, ctx(), { conversation: "c1", branch: "main" });
    const withStream = compile(t, ctx({ stream: true, stream_options: { include_usage: true } }), { conversation: "c1", branch: "main" });
    const deltas: StreamDelta[] = [];
    const r = await transport.send({ compiled, model: "tiny", onDelta: (d) => deltas.push(d) });
    expect(last().body).toBe(withStream.body);
    expect(last().body).not.toBe(compiled.body);
    const text = deltas.map((d) => (d.type === "text" ? d.text : "")).join("");
    expect(text).toBe(r.entry.content.text);
    expect(r.usage.ttftMs).not.toBeNull();
    expect(r.usage.ttftMs!).toBeLessThanOrEqual(r.usage.totalMs);
    expect(r.usage.outputTokens).toBe(6);
    // The same prompt again: everything but the last token is served from the slot.
    expect(r.usage.cachedTokens).toBe(r.usage.promptTokens - 1);
  });

  it("a warm-up changes only the output limit, and the next turn reads the prefix it wrote", async () => {
    const t = transcript([user("a different question about devices and replay")]);
    const compiled = compile(t, ctx(), { conversation: "c2", branch: "main" });
    const warm = await transport.send({ compiled, model: "tiny", stream: false, maxOutputTokens: 0 });
    const sent = last().body;
    const at = compiled.body.indexOf('"max_tokens":6');
    expect(at).toBeGreaterThan(0);
    expect(sent).toBe(`${compiled.body.slice(0, at)}"max_tokens":0${compiled.body.slice(at + '"max_tokens":6'.length)}`);
    expect(warm.usage.outputTokens).toBe(0);
    expect(warm.entry.content.text).toBe("");
    const real = await transport.send({ compiled, model: "tiny", stream: false });
    expect(real.usage.cachedTokens).toBe(real.usage.promptTokens - 1);
  });

  it("inserts the output limit where compile would when the body has none", async () => {
    const t = transcript(turn1);
    const noLimit: RenderContext = { ...ctx(), options: { params: { temperature: 0 } } };
    const compiled = compile(t, noLimit);
    await transport.send({ compiled, model: "tiny", stream: false, maxOutputTokens: 1 });
    expect(last().body).toBe(compile(t, { ...noLimit, options: { params: { temperature: 0, max_tokens: 1 } } }).body);
  });

  it("sends chat templates to /v1/completions, byte-exact, streaming and not", async () => {
    const t = transcript(turn1);
    const compiled = compile(t, ctx({}, "chatml"));
    const plain = await transport.send({ compiled, model: "tiny", stream: false });
    expect(last().url).toBe(`${running.url}/v1/completions`);
    expect(last().body).toBe(compiled.body);
    const streamed = await transport.send({ compiled, model: "tiny" });
    expect(last().body).toBe(compile(t, ctx({ stream: true, stream_options: { include_usage: true } }, "chatml")).body);
    expect(streamed.entry.content.text).toBe(plain.entry.content.text);
    expect(streamed.usage.outputTokens).toBe(6);
  });

  it("converts the engine's refusals into ProviderErrors with status and message", async () => {
    const t = transcript(turn1);
    const withTools = compile(t, { ...ctx(), tools: [{ name: "ls", parameters: { type: "object" } }] });
    const err = await transport.send({ compiled: withTools, model: "tiny", stream: false }).catch((e: unknown) => e);
    expect(isProviderError(err) && err.code).toBe("bad-request");
    expect(isProviderError(err) && err.status).toBe(400);
    expect(isProviderError(err) && err.providerMessage).toMatch(/tools are not supported/);
    const huge = compile(transcript([user("word ".repeat(1500))]), ctx());
    const tooLong = await transport.send({ compiled: huge, model: "tiny" }).catch((e: unknown) => e);
    expect(isProviderError(tooLong) && tooLong.code).toBe("context-too-long");
  });

  it("an abort and an unreachable server are ProviderErrors too", async () => {
    const compiled = compile(transcript(turn1), ctx({ max_tokens: 200 }));
    const ac = new AbortController();
    const aborted = transport.send({ compiled, model: "tiny", signal: ac.signal, onDelta: () => ac.abort() }).catch((e: unknown) => e);
    expect(isProviderError(await aborted) && ((await aborted) as { code: string }).code).toBe("aborted");
    const nowhere = createOpenAICompatibleTransport({ baseURL: "http://127.0.0.1:9/v1", maxRetries: 0 });
    const err = await nowhere.send({ compiled, model: "tiny" }).catch((e: unknown) => e);
    expect(isProviderError(err) && err.code).toBe("network");
  });

  it("saves, erases and restores a slot: the restored prefix is served from cache", async () => {
    const t = transcript([user("slot state survives an eviction")]);
    const compiled = compile(t, ctx({ id_slot: 1 }));
    const first = await transport.send({ compiled, model: "tiny", stream: false });
    const target = { url: `${running.url}/v1`, fetch: wire.fetch };
    const saved = await saveSlot(target, 1);
    expect(saved.tokens).toBeGreaterThan(first.usage.promptTokens);
    expect(saved.prefixHash).toMatch(/^[0-9a-f]{64}$/);
    expect((await listSlots(target)).find((x) => x.slot === 1)).toMatchObject({ tokens: saved.tokens, prefixHash: saved.prefixHash });
    expect((await eraseSlot(target, 1)).tokens).toBe(saved.tokens);
    const cold = await transport.send({ compiled, model: "tiny", stream: false, maxOutputTokens: 0 });
    expect(cold.usage.cachedTokens).toBe(0);
    await eraseSlot(target, 1);
    const restored = await restoreSlot(target, 1, { prefixHash: saved.prefixHash! });
    expect(restored.tokens).toBe(saved.tokens);
    expect((await listSlots(target)).find((x) => x.slot === 1)?.prefixHash).toBe(saved.prefixHash);
    const warm = await transport.send({ compiled, model: "tiny", stream: false });
    expect(warm.usage.cachedTokens).toBe(warm.usage.promptTokens - 1);
    const gone = await restoreSlot(target, 1, { prefixHash: "0".repeat(64) }).catch((e: unknown) => e);
    expect(isProviderError(gone) && gone.code).toBe("state-gone");
    expect(isProviderError(gone) && gone.status).toBe(404);
  });
});

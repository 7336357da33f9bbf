import { compile, type RenderContext } from "@ctxsync/compile";
import { describe, expect, it } from "vitest";
import { isProviderError } from "./errors.js";
import { createGeminiTransport } from "./gemini.js";
import type { SendInput } from "./types.js";
import { agentLoop, BASH, fixtureFetch, readFixture, transcript } from "./wire.test-util.js";

// Recorded-format fixtures (PROVIDERS.md §4): the paid API cannot be called here. The bodies are the
// REST GenerateContentRequest compile emits (the lead's decision); generation params go in `generationConfig`.
const ctx = (params: Record<string, unknown> = {}): RenderContext => ({ provider: "gemini", model: "gemini-3-pro-preview", system: "You are an agent.", tools: [BASH], options: { params: params as never } });
const t = transcript(agentLoop());
const rest = (generation: Record<string, unknown> = {}) => compile(t, ctx(Object.keys(generation).length > 0 ? { generationConfig: generation } : {})).body;
const body = rest({ temperature: 0 });
const compiled: SendInput["compiled"] = { provider: "gemini", body, request: JSON.parse(body) };
const transport = (f: typeof fetch, maxRetries = 0) => createGeminiTransport({ apiKey: "g-key", fetch: f, maxRetries });
const googleError = (code: number, status: string, message: string) => ({ status: code, body: JSON.stringify({ error: { code, message, status } }) });

describe("gemini transport (recorded wire fixtures)", () => {
  it("streams: the REST bytes go out as they are; signatures land on the parts compile renders back", async () => {
    const wire = fixtureFetch({ body: readFixture("gemini.stream.sse") });
    const r = await transport(wire.fetch).send({ compiled, model: "gemini-3-pro-preview" });
    expect(wire.requests[0]!.url).toBe("https://generativelanguage.googleapis.com/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse");
    expect(wire.requests[0]!.body).toBe(body);
    expect(wire.requests[0]!.headers.get("x-goog-api-key")).toBe("g-key");
    expect(r.entry.content).toEqual({
      text: "Listing the files.",
      reasoning: "**Planning the listing**",
      toolCalls: [
        { id: "Zx1aabc-0", name: "bash", arguments: { cmd: "ls" } },
        { id: "Zx1aabc-1", name: "bash", arguments: { cmd: "pwd" } },
      ],
    });
    // rendered back as [text, call 0, call 1]: the first call's signature goes on part 1
    expect(r.blobs).toEqual([{ kind: "gemini.thought_signature", order: 0, data: { part: 1, signature: "CiQB0e2Kb7sig1" } }]);
    expect(r.usage).toMatchObject({ promptTokens: 5000, cachedTokens: 4096, cacheWriteTokens: 0, outputTokens: 24 + 106, reasoningTokens: 106 });
    expect(r.usage.ttftMs).not.toBeNull();
    expect(r.meta).toEqual({ provider: "google", model: "gemini-3-pro-preview" });
    expect(r.stopReason).toBe("STOP");
  });

  it("not streaming: generateContent with the same bytes; a text signature goes on part 0", async () => {
    const wire = fixtureFetch({ body: readFixture("gemini.json") });
    const r = await transport(wire.fetch).send({ compiled, model: "models/gemini-2.5-flash", stream: false });
    expect(wire.requests[0]!.url).toBe("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent");
    expect(wire.requests[0]!.body).toBe(body);
    expect(r.blobs).toEqual([{ kind: "gemini.thought_signature", order: 0, data: { part: 0, signature: "CiQB0e2Kb7textsig" } }]);
    expect(r.usage).toMatchObject({ promptTokens: 1200, cachedTokens: 0, outputTokens: 4, ttftMs: null });
  });

  it("a warm-up sets generationConfig.maxOutputTokens only", async () => {
    const wire = fixtureFetch({ body: readFixture("gemini.json") });
    await transport(wire.fetch).send({ compiled, model: "gemini-2.5-flash", stream: false, maxOutputTokens: 1 });
    expect(wire.requests[0]!.body).toBe(rest({ temperature: 0, maxOutputTokens: 1 }));
    const bare = rest();
    await transport(wire.fetch).send({ compiled: { ...compiled, body: bare }, model: "gemini-2.5-flash", stream: false, maxOutputTokens: 1 });
    expect(wire.requests[1]!.body).toBe(rest({ maxOutputTokens: 1 }));
  });

  it("refuses the SDK parameter shape with a clear error, sending nothing", async () => {
    const wire = fixtureFetch({ body: readFixture("gemini.json") });
    const { contents, systemInstruction, tools } = JSON.parse(compile(t, ctx()).body) as Record<string, unknown>;
    const sdkBody = JSON.stringify({ model: "gemini-3-pro-preview", contents, config: { systemInstruction, tools, temperature: 0 } });
    const sdkShaped: SendInput["compiled"] = { provider: "gemini", body: sdkBody, request: JSON.parse(sdkBody) };
    const e = await transport(wire.fetch).send({ compiled: sdkShaped, model: "gemini-2.5-flash" }).catch((x: unknown) => x);
    expect(isProviderError(e) && e.code).toBe("bad-request");
    expect((e as Error).message).toMatch(/parameter shape, not the REST GenerateContentRequest/);
    expect(wire.requests).toHaveLength(0);
  });

  it("documented errors: a gone cache is state-gone; quota, overload, stream error chunks; the SDK retries", async () => {
    const cases: [ReturnType<typeof googleError>, string][] = [
      [googleError(403, "PERMISSION_DENIED", "CachedContent not found (or permission denied)"), "state-gone"],
      [googleError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."), "rate-limited"],
      [googleError(503, "UNAVAILABLE", "The model is overloaded. Please try again later."), "overloaded"],
      [googleError(400, "INVALID_ARGUMENT", "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576)."), "context-too-long"],
      [googleError(400, "INVALID_ARGUMENT", "Function call is missing a thought_signature in functionCall parts."), "bad-request"],
    ];
    for (const [answer, code] of cases) {
      const e = await transport(fixtureFetch(answer).fetch).send({ compiled, model: "gemini-3-pro-preview", stream: false }).catch((x: unknown) => x);
      expect(isProviderError(e) && [e.code, e.status, e.providerMessage]).toEqual([code, answer.status, JSON.parse(answer.body).error.message]);
    }
    const first = readFixture("gemini.stream.sse").split("\r\n\r\n")[0];
    const mid = fixtureFetch({ body: `${first}\r\n\r\ndata: {"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}\r\n\r\n` });
    const e = await transport(mid.fetch).send({ compiled, model: "gemini-3-pro-preview" }).catch((x: unknown) => x);
    expect(isProviderError(e) && [e.code, e.status]).toEqual(["overloaded", 503]);
    const retried = fixtureFetch(cases[2]![0], { body: readFixture("gemini.json") });
    const r = await createGeminiTransport({ apiKey: "g", fetch: retried.fetch, retryOptions: { attempts: 2, initialDelay: 0.001 } }).send({ compiled, model: "gemini-2.5-flash", stream: false });
    expect(r.entry.content.text).toBe("All done.");
    expect(retried.requests.map((q) => q.body)).toEqual([body, body]);
  });

  it("explicit caches through @google/genai: create, get, update, delete; a gone cache is state-gone", async () => {
    const resource = { name: "cachedContents/abc", model: "models/gemini-2.5-flash", createTime: "2026-01-01T00:00:00Z", updateTime: "2026-01-01T00:00:00Z", expireTime: "2026-01-01T01:00:00Z", usageMetadata: { totalTokenCount: 4100 } };
    const wire = fixtureFetch({ body: JSON.stringify(resource) }, { body: JSON.stringify(resource) }, { body: JSON.stringify({ ...resource, expireTime: "2026-01-01T02:00:00Z" }) }, { body: "{}" }, googleError(403, "PERMISSION_DENIED", "CachedContent not found (or permission denied)"));
    const g = transport(wire.fetch);
    const created = await g.caches.create({ model: "gemini-2.5-flash", config: { systemInstruction: "You are an agent.", ttl: "3600s" } });
    expect(created.name).toBe("cachedContents/abc");
    expect(wire.requests[0]!.url).toBe("https://generativelanguage.googleapis.com/v1beta/cachedContents");
    expect(JSON.parse(wire.requests[0]!.body)).toMatchObject({ model: "models/gemini-2.5-flash", ttl: "3600s" });
    expect((await g.caches.get("cachedContents/abc")).usageMetadata?.totalTokenCount).toBe(4100);
    expect((await g.caches.update("cachedContents/abc", { ttl: "7200s" })).expireTime).toBe("2026-01-01T02:00:00Z");
    expect(wire.requests[2]!.method).toBe("PATCH");
    await g.caches.delete("cachedContents/abc");
    expect(wire.requests[3]!.method).toBe("DELETE");
    const gone = await g.caches.get("cachedContents/abc").catch((x: unknown) => x);
    expect(isProviderError(gone) && gone.code).toBe("state-gone");
  });
});

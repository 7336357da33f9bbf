// The official SDKs on the wire (a capturing `fetch`, no network): what each sends for a compiled
// request. OpenAI and Anthropic send `body`'s exact bytes when given JSON.parse(body); the Gemini
// SDK re-serializes (same JSON value, its own member order), which is why the Gemini body is the
// REST JSON and docs/compile.md says how to send those bytes.
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { compile, type CompileResult } from "./compile.js";
import type { RenderContext } from "./context.js";
import { buildTranscript, FLIGHT, FLIGHT_BLOBS, SYSTEM, TOOLS } from "./fixtures.test-util.js";
import { geminiCachePlan } from "./gemini-cache.js";
import { toGenaiParameters, type GeminiRequest } from "./renderers/gemini.js";

const transcript = buildTranscript(FLIGHT);
const hidden = (id: string) => FLIGHT_BLOBS.get(id) ?? [];
const run = (ctx: RenderContext): CompileResult => compile(transcript.slice(0, 6), ctx, { hidden, conversation: "c", branch: "main" });

/** A fetch that records what it is sent and answers with `reply`. */
const capture = (reply: unknown) => {
  const sent: { url: string; body: string }[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    sent.push({ url: String(input instanceof Request ? input.url : input), body: typeof init?.body === "string" ? init.body : "" });
    return new Response(JSON.stringify(reply), { status: 200, headers: { "content-type": "application/json" } });
  };
  return { sent, fetch };
};

const OPENAI_CHAT_REPLY = { id: "x", object: "chat.completion", created: 0, model: "m", choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "ok" } }] };

describe("the SDKs on the wire", () => {
  it("openai: chat.completions.create(JSON.parse(body)) sends body byte for byte (plain and with explicit breakpoints)", async () => {
    for (const options of [{}, { explicitBreakpoints: true }]) {
      const r = run({ provider: "openai-chat", model: "gpt-5.6", system: SYSTEM, tools: TOOLS, options });
      const c = capture(OPENAI_CHAT_REPLY);
      await new OpenAI({ apiKey: "k", fetch: c.fetch, maxRetries: 0 }).chat.completions.create(JSON.parse(r.body));
      expect(c.sent[0]!.body).toBe(r.body);
    }
  });

  it("openai: responses.create and completions.create (chat templates) send body byte for byte", async () => {
    const responses = run({ provider: "openai-responses", model: "gpt-5.4", system: SYSTEM, tools: TOOLS });
    const c1 = capture({ id: "resp_1", object: "response", created_at: 0, model: "m", output: [], status: "completed" });
    await new OpenAI({ apiKey: "k", fetch: c1.fetch, maxRetries: 0 }).responses.create(JSON.parse(responses.body));
    expect(c1.sent[0]!.body).toBe(responses.body);
    for (const provider of ["chatml", "qwen3", "llama3"] as const) {
      const prompt = run({ provider, model: "local", system: SYSTEM, tools: TOOLS });
      const c2 = capture({ id: "x", object: "text_completion", created: 0, model: "m", choices: [{ index: 0, text: "ok", finish_reason: "stop" }] });
      await new OpenAI({ apiKey: "k", fetch: c2.fetch, maxRetries: 0, baseURL: "http://127.0.0.1:1/v1" }).completions.create(JSON.parse(prompt.body));
      expect(c2.sent[0]!.body, provider).toBe(prompt.body);
    }
  });

  it("anthropic: messages.create(JSON.parse(body)) sends body byte for byte (breakpoints included)", async () => {
    const r = run({ provider: "anthropic", model: "claude-sonnet-4-5-20250929", system: SYSTEM, tools: TOOLS });
    const c = capture({ id: "msg_1", type: "message", role: "assistant", model: "m", content: [{ type: "text", text: "ok" }], stop_reason: "end_turn", usage: { input_tokens: 1, output_tokens: 1 } });
    await new Anthropic({ apiKey: "k", fetch: c.fetch, maxRetries: 0 }).messages.create(JSON.parse(r.body));
    expect(c.sent[0]!.body).toBe(r.body);
  });

  it("@google/genai: generateContent sends the same JSON value with its own member order; caches.create likewise", async () => {
    const r = run({ provider: "gemini", model: "gemini-3-pro", system: SYSTEM, tools: TOOLS, options: { params: { generationConfig: { temperature: 0, maxOutputTokens: 512 } } } });
    const c = capture({ candidates: [{ content: { role: "model", parts: [{ text: "ok" }] }, finishReason: "STOP" }] });
    const ai = new GoogleGenAI({ apiKey: "k", httpOptions: { fetch: c.fetch as typeof fetch } });
    await ai.models.generateContent(toGenaiParameters(r.model, r.request as GeminiRequest));
    expect(c.sent[0]!.url).toContain("/models/gemini-3-pro:generateContent");
    expect(JSON.parse(c.sent[0]!.body)).toEqual(JSON.parse(r.body));
    // What the SDK changes: only the order of members (its serializer writes `contents` first).
    expect(c.sent[0]!.body).not.toBe(r.body);
    expect(Object.keys(JSON.parse(c.sent[0]!.body))[0]).toBe("contents");

    // The exact bytes through the SDK's transport (URL, headers, retries, response parsing): a fetch that sends `body`.
    const c3 = capture({ candidates: [{ content: { role: "model", parts: [{ text: "ok" }] }, finishReason: "STOP" }] });
    const exact = new GoogleGenAI({ apiKey: "k", httpOptions: { fetch: ((url: string, init?: RequestInit) => c3.fetch(url, { ...init, body: r.body })) as typeof fetch } });
    const reply = await exact.models.generateContent(toGenaiParameters(r.model, r.request as GeminiRequest));
    expect(c3.sent[0]!.body).toBe(r.body);
    expect(reply.text).toBe("ok");

    const plan = geminiCachePlan(transcript.slice(0, 4), { provider: "gemini", model: "gemini-3-pro", system: SYSTEM, tools: TOOLS }, { ttl: "3600s" });
    const c2 = capture({ name: "cachedContents/abc", model: "models/gemini-3-pro" });
    const ai2 = new GoogleGenAI({ apiKey: "k", httpOptions: { fetch: c2.fetch as typeof fetch } });
    const { model: _, ...config } = plan.request;
    await ai2.caches.create({ model: "gemini-3-pro", config });
    expect(JSON.parse(c2.sent[0]!.body)).toEqual(JSON.parse(plan.body));
  });
});

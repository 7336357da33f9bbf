import OpenAI from "openai";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEngine, type RunningEngine } from "./start.js";
import { LONG_TEXT, tempModel } from "./test-util.js";

let running: RunningEngine;
let otherModel: RunningEngine;
let client: OpenAI;

beforeAll(async () => {
  const m1 = await tempModel(1);
  const m2 = await tempModel(2, m1.dir);
  const stateDir = join(m1.dir, "state");
  running = await startEngine({ modelPath: m1.path, port: 0, slots: 2, contextSize: 2048, stateDir });
  otherModel = await startEngine({ modelPath: m2.path, port: 0, slots: 2, contextSize: 2048, stateDir });
  client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: "local", maxRetries: 0 });
});

afterAll(async () => {
  await running?.close();
  await otherModel?.close();
});

const system = { role: "system" as const, content: LONG_TEXT.repeat(4) };

describe("the stock openai client", () => {
  it("lists the model", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([running.engine.modelName]);
  });

  it("chat completions report cached tokens truthfully on the second turn", async () => {
    const first = await client.chat.completions.create({ model: "x", messages: [system, { role: "user", content: "hello" }], max_tokens: 4, temperature: 0 });
    expect(first.object).toBe("chat.completion");
    expect(first.choices[0]?.finish_reason).toBe("length");
    expect(first.usage?.completion_tokens).toBe(4);
    const prompt1 = first.usage?.prompt_tokens ?? 0;
    const second = await client.chat.completions.create({
      model: "x",
      messages: [system, { role: "user", content: "hello" }, { role: "assistant", content: first.choices[0]?.message.content ?? "" }, { role: "user", content: "more" }],
      max_tokens: 4,
      temperature: 0,
    });
    const cached = second.usage?.prompt_tokens_details?.cached_tokens ?? -1;
    // Everything up to the first turn's generation prompt is reused (the reply may retokenize differently).
    expect(cached).toBeGreaterThanOrEqual(prompt1);
    expect(cached).toBeLessThan(second.usage?.prompt_tokens ?? 0);
    const raw = second as unknown as { timings: { cache_n: number; prompt_n: number } };
    expect(raw.timings.cache_n + raw.timings.prompt_n).toBe(second.usage?.prompt_tokens);
  });

  it("streams chat completions with usage at the end", async () => {
    const stream = await client.chat.completions.create({
      model: "x",
      messages: [system, { role: "user", content: "stream please" }],
      max_tokens: 6,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish ??= chunk.choices[0]?.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(finish).toBe("length");
    expect(usage?.completion_tokens).toBe(6);
    expect(usage?.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0); // the system prompt is shared
    const same = await client.chat.completions.create({ model: "x", messages: [system, { role: "user", content: "stream please" }], max_tokens: 6, temperature: 0 });
    expect(same.choices[0]?.message.content).toBe(text);
  });

  it("serves legacy completions, streaming and not", async () => {
    const prompt = LONG_TEXT.repeat(3);
    const plain = await client.completions.create({ model: "x", prompt, max_tokens: 5, temperature: 0 });
    expect(plain.object).toBe("text_completion");
    expect(plain.usage?.completion_tokens).toBe(5);
    const stream = await client.completions.create({ model: "x", prompt, max_tokens: 5, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(plain.choices[0]?.text);
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe((plain.usage?.prompt_tokens ?? 0) - 1);
  });

  it("maps engine errors to OpenAI-style HTTP errors", async () => {
    const err = await client.chat.completions.create({ model: "x", messages: [], max_tokens: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const tooLong = await client.completions.create({ model: "x", prompt: "ok ".repeat(3000), max_tokens: 1 }).catch((e: unknown) => e);
    expect((tooLong as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
  });
});

describe("llama-server style endpoints", () => {
  const post = async (base: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: body === undefined ? "" : JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it("tokenizes text and chats, with the prefix hash", async () => {
    const t = await post(running.url, "/tokenize", { content: "hello world" });
    expect(t.status).toBe(200);
    expect(t.json.tokens).toEqual(running.engine.tokenize("hello world", { addBos: false }));
    const chat = await post(running.url, "/tokenize", { messages: [{ role: "user", content: "hi" }] });
    expect((chat.json.tokens as number[])[0]).toBe(1);
    expect(typeof chat.json.prefix_hash).toBe("string");
  });

  it("saves, erases and restores a slot; a state from another model is refused with 409", async () => {
    const messages = [system, { role: "user" as const, content: "save me" }];
    const first = await client.chat.completions.create({ model: "x", messages, max_tokens: 1, temperature: 0 });
    const slot = (first as unknown as { id_slot: number }).id_slot;
    const saved = await post(running.url, `/slots/${slot}?action=save`, { filename: "http-state" });
    expect(saved.status).toBe(200);
    expect(saved.json.n_saved).toBeGreaterThan(0);
    const erased = await post(running.url, `/slots/${slot}?action=erase`);
    expect(erased.json.n_erased).toBe(saved.json.n_saved);
    const cold = await client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "unrelated" }], max_tokens: 1, temperature: 0 });
    expect(cold.usage?.prompt_tokens_details?.cached_tokens).toBeLessThan(5);
    const restored = await post(running.url, `/slots/-1?action=restore`, { filename: "http-state" });
    expect(restored.status).toBe(200);
    expect(restored.json.n_restored).toBe(saved.json.n_saved);
    const again = await client.chat.completions.create({ model: "x", messages, max_tokens: 1, temperature: 0 });
    expect(again.usage?.prompt_tokens_details?.cached_tokens).toBe((again.usage?.prompt_tokens ?? 0) - 1);

    const refused = await post(otherModel.url, `/slots/0?action=restore`, { filename: "http-state" });
    expect(refused.status).toBe(409);
    expect((refused.json.error as { code: string }).code).toBe("model-mismatch");
    const health = await fetch(`${otherModel.url}/health`);
    expect(health.status).toBe(200);
    const missing = await post(running.url, `/slots/0?action=restore`, { filename: "no-such-state" });
    expect(missing.status).toBe(404);
  });

  it("reports evictions to the client, and the evicted conversation comes back with fewer cached tokens", async () => {
    await Promise.all([post(running.url, "/slots/0?action=erase"), post(running.url, "/slots/1?action=erase")]);
    const conv = (name: string) => [{ role: "system" as const, content: `${name}: ${LONG_TEXT.repeat(2)}` }, { role: "user" as const, content: "go" }];
    const ask = (name: string) => client.chat.completions.create({ model: "x", messages: conv(name), max_tokens: 1, temperature: 0 });
    type Extras = { ctxsync_slot: { id: number; route: string; evicted: Array<{ id_slot: number; n_tokens: number }> } };
    await ask("alpha");
    await ask("beta");
    const warm = await ask("alpha");
    expect(warm.usage?.prompt_tokens_details?.cached_tokens).toBe((warm.usage?.prompt_tokens ?? 0) - 1);
    const gamma = (await ask("gamma")) as unknown as Extras; // two slots: beta (least recently used) goes
    expect(gamma.ctxsync_slot.route).toBe("lru");
    expect(gamma.ctxsync_slot.evicted).toHaveLength(1);
    const beta = await ask("beta");
    expect(beta.usage?.prompt_tokens_details?.cached_tokens).toBeLessThan(10);
    expect((beta as unknown as Extras).ctxsync_slot.evicted).toHaveLength(1);
  });

  it("serves concurrent requests one after another, and a client that hangs up mid-stream frees the engine", async () => {
    const ac = new AbortController();
    const res = await fetch(`${running.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "hello", max_tokens: 200, stream: true }),
      signal: ac.signal,
    });
    const reader = res.body?.getReader();
    await reader?.read();
    ac.abort();
    const [a, b] = await Promise.all([
      client.completions.create({ model: "x", prompt: "one two", max_tokens: 3, temperature: 0 }),
      client.completions.create({ model: "x", prompt: "three four", max_tokens: 3, temperature: 0 }),
    ]);
    expect(a.usage?.completion_tokens).toBe(3);
    expect(b.usage?.completion_tokens).toBe(3);
  });

  it("lists slots", async () => {
    const res = await fetch(`${running.url}/slots`);
    const slots = (await res.json()) as Array<{ id: number; n_ctx: number }>;
    expect(slots.map((s) => s.id)).toEqual([0, 1]);
    expect(slots[0]?.n_ctx).toBe(2048);
  });
});

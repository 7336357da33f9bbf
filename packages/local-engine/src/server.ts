import { Hono, type Context } from "hono";
import { streamSSE, type SSEStreamingApi } from "hono/streaming";
import type { Engine, GenerateEvent, GenerateRequest } from "./engine.js";
import { engineError, httpStatusFor, isEngineError } from "./errors.js";
import { hashTokens } from "./hashing.js";
import { parseChatRequest, parseCompletionRequest, type CommonParams } from "./openai-request.js";
import { extrasOf, newId, usageOf } from "./openai-response.js";

/**
 * The HTTP face of the engine: OpenAI's /v1/chat/completions, /v1/completions and
 * /v1/models, llama-server's /tokenize, /detokenize and slot actions
 * (POST /slots/:id?action=save|restore|erase), and /health.
 */

type Done = Extract<GenerateEvent, { type: "done" }>;

function errorBody(err: unknown): { status: number; body: object } {
  if (isEngineError(err)) {
    const status = httpStatusFor(err.code);
    return {
      status,
      body: { error: { message: err.message, type: status >= 500 ? "server_error" : "invalid_request_error", code: err.code, param: null } },
    };
  }
  return { status: 500, body: { error: { message: String(err), type: "server_error", code: "internal", param: null } } };
}

async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw engineError("bad-request", "the request body is not valid JSON");
  }
}

function generateRequest(p: CommonParams, prompt: number[], stopTokens: number[] = [], templateStops: string[] = []): GenerateRequest {
  return {
    prompt,
    maxTokens: p.maxTokens,
    temperature: p.temperature,
    topP: p.topP,
    seed: p.seed,
    stopStrings: [...p.stop, ...templateStops],
    stopTokens,
    cacheKey: p.cacheKey,
    slotId: p.slotId,
    cachePrompt: p.cachePrompt,
  };
}

/**
 * Runs a generation. Errors that happen before the first event (bad routing, overflow)
 * become ordinary JSON errors; after that the response is committed.
 */
async function startGeneration(engine: Engine, req: GenerateRequest) {
  const events = engine.generate(req);
  const first = await events.next();
  return { first: first.done ? undefined : first.value, events };
}

async function drain(first: GenerateEvent | undefined, events: AsyncGenerator<GenerateEvent, void, void>): Promise<Done> {
  let event = first;
  while (event && event.type !== "done") {
    const next = await events.next();
    event = next.done ? undefined : next.value;
  }
  await events.return();
  if (!event) throw new Error("internal: generation ended without a result");
  return event;
}

async function streamEvents(
  stream: SSEStreamingApi,
  first: GenerateEvent | undefined,
  events: AsyncGenerator<GenerateEvent, void, void>,
  onText: (text: string) => object,
  onDone: (done: Done) => object[],
): Promise<void> {
  let aborted = false;
  stream.onAbort(() => {
    aborted = true;
  });
  try {
    let event = first;
    while (event && !aborted) {
      const chunks = event.type === "text" ? [onText(event.text)] : onDone(event);
      for (const chunk of chunks) await stream.writeSSE({ data: JSON.stringify(chunk) });
      if (event.type === "done") break;
      const next = await events.next();
      event = next.done ? undefined : next.value;
    }
    if (!aborted) await stream.writeSSE({ data: "[DONE]" });
  } catch (err) {
    if (!aborted) await stream.writeSSE({ data: JSON.stringify(errorBody(err).body) });
  } finally {
    // Releases the engine lock if the client went away mid-generation.
    await events.return();
  }
}

/** How chat and legacy completions differ in shape; everything else they share. */
interface ResponseFormat {
  idPrefix: string;
  object: string;
  chunkObject: string;
  choice: (done: Done) => object;
  leadChunk?: object;
  textChunk: (text: string) => object;
  lastChunk: object;
}

async function respond(c: Context, engine: Engine, p: CommonParams, req: GenerateRequest, f: ResponseFormat): Promise<Response> {
  const { first, events } = await startGeneration(engine, req);
  const created = Math.floor(Date.now() / 1000);
  const base = { id: newId(f.idPrefix), created, model: engine.modelName, system_fingerprint: null };
  const choice = (fields: object, finishReason: string | null) => ({ index: 0, ...fields, logprobs: null, finish_reason: finishReason });
  if (!p.stream) {
    const done = await drain(first, events);
    return c.json({ ...base, object: f.object, choices: [choice(f.choice(done), done.finishReason)], usage: usageOf(done), ...extrasOf(done) });
  }
  const chunk = { ...base, object: f.chunkObject };
  return streamSSE(c, async (stream) => {
    if (f.leadChunk) await stream.writeSSE({ data: JSON.stringify({ ...chunk, choices: [choice(f.leadChunk, null)] }) });
    await streamEvents(
      stream,
      first,
      events,
      (text) => ({ ...chunk, choices: [choice(f.textChunk(text), null)] }),
      (done) => [
        { ...chunk, choices: [choice(f.lastChunk, done.finishReason)], ...extrasOf(done) },
        ...(p.includeUsage ? [{ ...chunk, choices: [], usage: usageOf(done) }] : []),
      ],
    );
  });
}

export function createApp(engine: Engine): Hono {
  const app = new Hono();
  const created = Math.floor(Date.now() / 1000);

  app.onError((err, c) => {
    const { status, body } = errorBody(err);
    return c.json(body, status as 400);
  });
  app.notFound((c) => c.json({ error: { message: `no route ${c.req.method} ${c.req.path}`, type: "invalid_request_error", code: "not_found", param: null } }, 404));

  app.get("/health", (c) => c.json({ status: "ok" }));

  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: [{ id: engine.modelName, object: "model", created, owned_by: "ctxsync", meta: { sha256: engine.modelSha256, n_ctx_slot: engine.contextSize, slots: engine.slotCount } }],
    }),
  );

  app.post("/v1/chat/completions", async (c) => {
    const p = parseChatRequest(await readJson(c));
    const rendered = engine.renderChat(p.messages);
    return respond(c, engine, p, generateRequest(p, rendered.tokens, rendered.stopTokens, rendered.stopStrings), {
      idPrefix: "chatcmpl",
      object: "chat.completion",
      chunkObject: "chat.completion.chunk",
      choice: (done) => ({ message: { role: "assistant", content: done.text, refusal: null } }),
      leadChunk: { delta: { role: "assistant", content: "" } },
      textChunk: (text) => ({ delta: { content: text } }),
      lastChunk: { delta: {} },
    });
  });

  app.post("/v1/completions", async (c) => {
    const p = parseCompletionRequest(await readJson(c));
    const prompt = typeof p.prompt === "string" ? engine.tokenize(p.prompt) : p.prompt;
    return respond(c, engine, p, generateRequest(p, prompt), {
      idPrefix: "cmpl",
      object: "text_completion",
      chunkObject: "text_completion",
      choice: (done) => ({ text: done.text }),
      textChunk: (text) => ({ text }),
      lastChunk: { text: "" },
    });
  });

  // llama-server's /tokenize, extended: `messages` tokenizes a chat through the template,
  // and every answer carries the prefix hash that saved states are keyed by.
  app.post("/tokenize", async (c) => {
    const body = (await readJson(c)) as { content?: unknown; messages?: unknown; add_special?: unknown; with_pieces?: unknown };
    let tokens: number[];
    if (Array.isArray(body.messages)) tokens = engine.renderChat(parseChatRequest({ messages: body.messages }).messages).tokens;
    else if (typeof body.content === "string") tokens = engine.tokenize(body.content, { addBos: body.add_special === true });
    else throw engineError("bad-request", "tokenize needs content (a string) or messages");
    const result: { tokens: unknown[]; prefix_hash: string } = { tokens, prefix_hash: hashTokens(tokens) };
    if (body.with_pieces === true) result.tokens = tokens.map((id) => ({ id, piece: engine.detokenize([id]) }));
    return c.json(result);
  });

  app.post("/detokenize", async (c) => {
    const body = (await readJson(c)) as { tokens?: unknown };
    if (!Array.isArray(body.tokens) || !body.tokens.every((t) => Number.isInteger(t))) throw engineError("bad-request", "tokens must be an array of integers");
    return c.json({ content: engine.detokenize(body.tokens as number[]) });
  });

  app.get("/slots", (c) =>
    c.json(
      engine.listSlots().map((s) => ({ id: s.id, n_ctx: engine.contextSize, n_tokens: s.tokens, prefix_hash: s.prefixHash, cache_key: s.cacheKey, evictions: s.evictions })),
    ),
  );

  app.post("/slots/:id", async (c) => {
    const rawId = Number(c.req.param("id"));
    if (!Number.isInteger(rawId) || rawId < -1) throw engineError("bad-request", "slot id must be an integer (-1: any slot, for restore)");
    const action = c.req.query("action");
    const text = await c.req.text();
    let body: { filename?: unknown; prefix_hash?: unknown } = {};
    if (text.trim() !== "") {
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        throw engineError("bad-request", "the request body is not valid JSON");
      }
    }
    const filename = typeof body.filename === "string" ? body.filename : undefined;
    const prefixHash = typeof body.prefix_hash === "string" ? body.prefix_hash : undefined;
    switch (action) {
      case "save":
        return c.json(await engine.saveSlot(rawId, filename !== undefined ? { filename } : {}));
      case "restore":
        return c.json(
          await engine.restoreSlot(rawId === -1 ? undefined : rawId, {
            ...(filename !== undefined ? { filename } : {}),
            ...(prefixHash !== undefined ? { prefixHash } : {}),
          }),
        );
      case "erase":
        return c.json(await engine.eraseSlot(rawId));
      default:
        throw engineError("bad-request", "action must be save, restore or erase");
    }
  });

  return app;
}

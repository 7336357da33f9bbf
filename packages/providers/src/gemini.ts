import { ApiError, GoogleGenAI, type CachedContent, type CreateCachedContentParameters, type HttpRetryOptions } from "@google/genai";
import type { JsonObject, JsonValue } from "@ctxsync/core";
import { createAssembler } from "./assemble.js";
import { getMember, setMember } from "./body-edit.js";
import { outputLimit } from "./chat-completions.js";
import { defaultNow } from "./clock.js";
import { failure, isProviderError, providerError, type ProviderError } from "./errors.js";
import type { BlobOut, ProviderWarning, SendInput, SendResult, Transport, TransportOptions } from "./types.js";

/** Blob kind: `{part, signature}` — the signature goes back on part number `part` of the turn as compile renders it. */
export const THOUGHT_SIGNATURE_BLOB = "gemini.thought_signature";

export interface GeminiTransportOptions extends TransportOptions {
  readonly apiKey?: string;
  /** Default https://generativelanguage.googleapis.com. */
  readonly baseURL?: string;
  /** Default v1beta (PROVIDERS.md §4: cachedContents, thought signatures). */
  readonly apiVersion?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** genai's retry settings; default `{ attempts: maxRetries + 1 }` with maxRetries 2, as the other SDKs. */
  readonly retryOptions?: HttpRetryOptions;
}

/** The Gemini transport, with the explicit-cache calls of the same client. */
export interface GeminiTransport extends Transport {
  readonly provider: "gemini";
  readonly caches: GeminiCaches;
}

/**
 * `@google/genai`'s request path below `models.generateContent`: the SDK's auth headers, base URL,
 * retries, SSE reader and `ApiError`, for a body we already have as bytes. `models.generateContent`
 * itself cannot send given bytes: it rebuilds the REST body from its parameter shape with its own
 * key order (docs/providers.md §Gemini).
 */
interface RawRequester {
  request(r: { path: string; body?: string; httpMethod: "GET" | "POST" | "PATCH" | "DELETE"; queryParams?: Record<string, string>; abortSignal?: AbortSignal }): Promise<{ json(): Promise<unknown> }>;
  requestStream(r: { path: string; body?: string; httpMethod: "POST"; abortSignal?: AbortSignal }): Promise<AsyncGenerator<{ json(): Promise<unknown> }>>;
}
class GenAIClient extends GoogleGenAI {
  get raw(): RawRequester {
    return this.apiClient as unknown as RawRequester;
  }
}

/** Members compile writes after the request parameters in the REST body. */
const LAYOUT = ["systemInstruction", "tools", "toolConfig", "contents"];

/**
 * The body to send: the REST `GenerateContentRequest` bytes; a warm-up sets only
 * `generationConfig.maxOutputTokens`. Streaming changes the endpoint, not the body.
 */
export const prepareGeminiBody = (input: SendInput, warnings: ProviderWarning[]): { body: string; stream: boolean } => {
  const body = input.compiled.body;
  for (const k of ["config", "model"])
    if (getMember(body, [k]) !== undefined)
      throw providerError("bad-request", `gemini: the compiled body has a top-level "${k}": it is @google/genai's parameter shape, not the REST GenerateContentRequest this transport sends (compile with a renderer that emits the REST body)`);
  const out = input.maxOutputTokens === undefined ? body : setMember(body, ["generationConfig", "maxOutputTokens"], outputLimit(input, "gemini", warnings), LAYOUT);
  return { body: out, stream: input.stream ?? true };
};

const modelPath = (model: string) => (model.startsWith("models/") || model.startsWith("tunedModels/") ? model : `models/${model}`);

/** genai's ApiError message is the error body as JSON (or "got status: X. {json}" from a stream). */
const fromGenAIError = (e: unknown): ProviderError => {
  const provider = "google";
  if (isProviderError(e)) return e;
  if (e instanceof ApiError || (e instanceof Error && e.name === "ApiError")) {
    const status = (e as { status?: number }).status;
    const text = e.message;
    let message = text;
    let code: string | undefined;
    const at = text.indexOf("{");
    if (at >= 0) {
      try {
        const parsed = JSON.parse(text.slice(at)) as { error?: { message?: unknown; status?: unknown } };
        if (typeof parsed.error?.message === "string") message = parsed.error.message;
        if (typeof parsed.error?.status === "string") code = parsed.error.status;
      } catch {
        // not JSON: keep the text
      }
    }
    return failure({ provider, ...(status !== undefined ? { status } : {}), message, ...(code ? { providerCode: code } : {}), cause: e });
  }
  if (e instanceof Error && (e.name === "AbortError" || /aborted/i.test(e.message))) return providerError("aborted", "google: request aborted", { provider, cause: e });
  return providerError("network", `google: ${e instanceof Error ? e.message : String(e)}`, { provider, cause: e });
};

interface Part {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  functionCall?: { id?: string; name?: string; args?: unknown };
}
interface Chunk {
  candidates?: { content?: { parts?: Part[] }; finishReason?: string }[];
  usageMetadata?: { promptTokenCount?: number; cachedContentTokenCount?: number; candidatesTokenCount?: number; thoughtsTokenCount?: number };
  modelVersion?: string;
  responseId?: string;
}

export interface GeminiCaches {
  /** `caches.create` through the SDK (its parameter shape), or a REST CachedContent body sent as is. */
  create(params: CreateCachedContentParameters | { readonly body: string }): Promise<CachedContent>;
  get(name: string): Promise<CachedContent>;
  /** A new TTL (e.g. "3600s") or expiry time. */
  update(name: string, expiry: { ttl: string } | { expireTime: string }): Promise<CachedContent>;
  delete(name: string): Promise<void>;
}

/**
 * Gemini through `@google/genai`: the REST body goes out byte-exact through the SDK's request path;
 * thought signatures become `gemini.thought_signature` blobs placed on the parts compile renders
 * back (the text part, then one part per function call).
 */
export const createGeminiTransport = (o: GeminiTransportOptions = {}): GeminiTransport => {
  const ai = new GenAIClient({
    apiKey: o.apiKey ?? process.env.GEMINI_API_KEY ?? process.env.GOOGLE_API_KEY ?? "unset",
    httpOptions: {
      ...(o.baseURL !== undefined ? { baseUrl: o.baseURL } : {}),
      apiVersion: o.apiVersion ?? "v1beta",
      ...(o.fetch ? { fetch: o.fetch } : {}),
      ...(o.timeoutMs !== undefined ? { timeout: o.timeoutMs } : {}),
      ...(o.headers ? { headers: { ...o.headers } } : {}),
      // genai retries only when asked: the same default as the other SDKs (2 retries).
      retryOptions: o.retryOptions ?? { attempts: (o.maxRetries ?? 2) + 1 },
    },
  });
  const now = o.now ?? defaultNow;

  const send = async (input: SendInput): Promise<SendResult> => {
    const warnings: ProviderWarning[] = [];
    const { body, stream } = prepareGeminiBody(input, warnings);
    const asm = createAssembler(now, input.onDelta);
    const chunks: Chunk[] = [];
    const path = `${modelPath(input.model)}:${stream ? "streamGenerateContent" : "generateContent"}`;
    const abort = input.signal ? { abortSignal: input.signal } : {};
    let calls = 0;
    const onChunk = (c: Chunk) => {
      chunks.push(c);
      for (const p of c.candidates?.[0]?.content?.parts ?? []) {
        if (typeof p.text === "string") (p.thought ? asm.reasoning : asm.text)(p.text);
        if (p.functionCall) asm.wholeToolCall(calls++, p.functionCall.id ?? "", p.functionCall.name ?? "", JSON.stringify(p.functionCall.args ?? {}));
      }
    };
    try {
      if (stream) {
        for await (const r of await ai.raw.requestStream({ path, body, httpMethod: "POST", ...abort })) onChunk((await r.json()) as Chunk);
        if (input.signal?.aborted) throw providerError("aborted", "google: request aborted", { provider: "google" });
      } else onChunk((await (await ai.raw.request({ path, body, httpMethod: "POST", ...abort })).json()) as Chunk);
    } catch (e) {
      throw fromGenAIError(e);
    }
    const totalMs = asm.elapsedMs();
    return { ...assembleGemini(chunks, input, warnings, now), usage: { ...usageOf(chunks), ttftMs: stream ? asm.ttftMs : null, totalMs } };
  };

  const caches: GeminiCaches = {
    async create(params) {
      try {
        if ("body" in params) return (await (await ai.raw.request({ path: "cachedContents", body: params.body, httpMethod: "POST" })).json()) as CachedContent;
        return await ai.caches.create(params);
      } catch (e) {
        throw fromGenAIError(e);
      }
    },
    async get(name) {
      try {
        return await ai.caches.get({ name });
      } catch (e) {
        throw fromGenAIError(e);
      }
    },
    async update(name, expiry) {
      try {
        return await ai.caches.update({ name, config: expiry });
      } catch (e) {
        throw fromGenAIError(e);
      }
    },
    async delete(name) {
      try {
        await ai.caches.delete({ name });
      } catch (e) {
        throw fromGenAIError(e);
      }
    },
  };
  return { provider: "gemini", send, caches };
};

const usageOf = (chunks: Chunk[]) => {
  const u = [...chunks].reverse().find((c) => c.usageMetadata)?.usageMetadata ?? {};
  const thoughts = u.thoughtsTokenCount;
  return {
    promptTokens: u.promptTokenCount ?? 0,
    cachedTokens: u.cachedContentTokenCount ?? 0,
    // Gemini reports no writes: implicit caching bills them as input, explicit caches at creation.
    cacheWriteTokens: 0,
    outputTokens: (u.candidatesTokenCount ?? 0) + (thoughts ?? 0),
    ...(typeof thoughts === "number" ? { reasoningTokens: thoughts } : {}),
  };
};

/** The entry, blobs and metadata of a Gemini answer (one response, or every chunk of a stream). */
const assembleGemini = (chunks: Chunk[], input: SendInput, warnings: ProviderWarning[], now: () => number): Omit<SendResult, "usage"> => {
  const parts = chunks.flatMap((c) => c.candidates?.[0]?.content?.parts ?? []);
  const responseId = chunks.find((c) => c.responseId)?.responseId;
  const finish = [...chunks].reverse().find((c) => c.candidates?.[0]?.finishReason)?.candidates?.[0]?.finishReason;
  const entryAsm = createAssembler(now);
  let textSig: string | undefined;
  const callSigs: { call: number; signature: string }[] = [];
  let call = 0;
  for (const p of parts) {
    if (p.functionCall) {
      const id = p.functionCall.id ?? `${responseId ?? "call"}-${call}`;
      entryAsm.wholeToolCall(call, id, p.functionCall.name ?? "", JSON.stringify(p.functionCall.args ?? {}));
      if (p.thoughtSignature !== undefined) callSigs.push({ call, signature: p.thoughtSignature });
      call++;
      continue;
    }
    if (typeof p.text === "string") (p.thought ? entryAsm.reasoning : entryAsm.text)(p.text);
    if (p.thoughtSignature !== undefined) textSig = p.thoughtSignature;
  }
  const content = entryAsm.content(warnings);
  // Where compile puts each part back: the text part first (when there is text, or nothing at all), then the calls.
  const hasTextPart = content.text !== "" || call === 0;
  const blobs: BlobOut[] = [];
  if (textSig !== undefined) {
    if (hasTextPart) blobs.push({ kind: THOUGHT_SIGNATURE_BLOB, order: 0, data: { part: 0, signature: textSig } });
    else warnings.push({ code: "signature-unplaced", message: "gemini: a thought signature on an empty text part, with function calls after it, has no part to go back on; left out" });
  }
  for (const s of callSigs) blobs.push({ kind: THOUGHT_SIGNATURE_BLOB, order: blobs.length, data: { part: (hasTextPart ? 1 : 0) + s.call, signature: s.signature } });
  if (finish === "MAX_TOKENS" && input.maxOutputTokens === undefined) warnings.push({ code: "incomplete", reason: "MAX_TOKENS", message: "gemini: the answer stopped at maxOutputTokens" });
  if (!chunks.some((c) => c.usageMetadata)) warnings.push({ code: "usage-missing", message: "gemini: the response carried no usageMetadata; tokens are reported as 0" });
  const model = [...chunks].reverse().find((c) => c.modelVersion)?.modelVersion;
  const last = [...chunks].reverse().find((c) => c.usageMetadata)?.usageMetadata;
  return {
    entry: { kind: "assistant", content },
    meta: { provider: "google", model: model ?? input.model.replace(/^models\//, "") },
    blobs: blobs.map((b, i) => ({ ...b, order: i })),
    ...(responseId ? { responseId } : {}),
    ...(finish ? { stopReason: finish } : {}),
    warnings,
    providerMetadata: { ...(last ? { usageMetadata: last as unknown as JsonValue } : {}) } as JsonObject,
  };
};

/** `caches.create` (SDK parameter shape, or a REST body) through a Gemini transport's client. */
export const createCachedContent = (t: GeminiTransport, params: CreateCachedContentParameters | { readonly body: string }) => t.caches.create(params);
export const getCachedContent = (t: GeminiTransport, name: string) => t.caches.get(name);
export const updateCachedContent = (t: GeminiTransport, name: string, expiry: { ttl: string } | { expireTime: string }) => t.caches.update(name, expiry);
export const deleteCachedContent = (t: GeminiTransport, name: string) => t.caches.delete(name);

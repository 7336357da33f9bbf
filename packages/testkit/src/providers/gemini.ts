import { hash53 } from "./hash.js";
import { autoCache, createPrefixCache, segment, type Segment } from "./prefix-cache.js";
import { createBase, json, limitOutput, readJson, simulator, sse, type ProviderSimulator, type SimOptions } from "./sim.js";
import { streamPieces } from "./tokenizer.js";

/**
 * Gemini (PROVIDERS.md §4), REST `v1beta`: `models/{model}:generateContent` and
 * `:streamGenerateContent?alt=sse`, explicit `cachedContents` resources (create with ttl or
 * expireTime, get, list, update ttl, delete; storage billed per token-hour while they live;
 * 403 "CachedContent not found (or permission denied)" once expired or deleted), implicit prefix
 * caching from the model's minimum, thought signatures verified byte-exact on the current turn
 * (Gemini 3 refuses a function call without one).
 */
export interface GeminiSimulator extends ProviderSimulator {
  /** Live explicit caches. */
  readonly caches: number;
}

const err = (code: number, status: string, message: string) => json(code, { error: { code, message, status } });
const FAULTS: Record<number, [string, string]> = {
  429: ["RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."],
  500: ["INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"],
  503: ["UNAVAILABLE", "The model is overloaded. Please try again later."],
};
const fault = (code: number) => {
  const [status, message] = FAULTS[code] ?? ["INTERNAL", `Simulated error ${code}.`];
  return err(code, status, message);
};
export const CACHE_NOT_FOUND = "CachedContent not found (or permission denied)";
export const MISSING_SIGNATURE = (name: string, position: number) =>
  `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${name}\` , position ${position}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`;
export const CORRUPTED_SIGNATURE = "Corrupted thought signature.";

type Part = Record<string, unknown> & { text?: string; thought?: boolean; thoughtSignature?: string; functionCall?: { name: string; args?: unknown; id?: string }; functionResponse?: unknown };
interface Content {
  role?: string;
  parts?: Part[];
}
interface Cached {
  readonly name: string;
  readonly model: string;
  readonly segments: Segment[];
  readonly tokens: number;
  readonly created: number;
  expireTime: number;
  updated: number;
  deleted?: number;
  readonly displayName?: string;
}

const modelName = (m: string) => (m.startsWith("models/") ? m : `models/${m}`);
const familyOf = (m: string) => m.replace(/^models\//, "").toLowerCase().replace(/-(\d{3}|latest|preview(-\d{2}-\d{4})?|exp)$/, "");
const iso = (ms: number) => new Date(ms).toISOString();
const parseTtl = (ttl: unknown): number | undefined => {
  if (typeof ttl !== "string") return undefined;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(ttl);
  return m ? Number(m[1]) * 1000 : undefined;
};
const partSignaturePayload = (family: string, p: Part) => `${family}|${p.functionCall ? `fc|${p.functionCall.name}|${hash53(JSON.stringify(p.functionCall.args ?? {}))}` : "text"}`;
const staticSegments = (b: Record<string, unknown>): Segment[] => [
  ...(b.systemInstruction ? [segment(`sys|${JSON.stringify(b.systemInstruction)}`)] : []),
  ...(b.tools ? [segment(`tools|${JSON.stringify(b.tools)}`)] : []),
  ...(b.toolConfig ? [segment(`toolConfig|${JSON.stringify(b.toolConfig)}`)] : []),
];
const contentSegments = (contents: Content[]): Segment[] => contents.map((c) => segment(`${c.role ?? "user"}|${JSON.stringify(c.parts ?? [])}`));

export const createGeminiSimulator = (o: SimOptions = {}): GeminiSimulator => {
  const base = createBase("gemini", o);
  const cache = createPrefixCache();
  const caches = new Map<string, Cached>();

  const liveCache = (name: string): Cached | undefined => {
    const c = caches.get(name);
    return c && c.deleted === undefined && base.clock.now() < c.expireTime ? c : undefined;
  };
  const resource = (c: Cached) => ({
    name: c.name,
    model: c.model,
    ...(c.displayName !== undefined ? { displayName: c.displayName } : {}),
    createTime: iso(c.created),
    updateTime: iso(c.updated),
    expireTime: iso(c.expireTime),
    usageMetadata: { totalTokenCount: c.tokens },
  });
  /** Storage bills every cache from creation to deletion or expiry (up to now). */
  const storageUsd = () => {
    const now = base.clock.now();
    let usd = 0;
    for (const c of caches.values()) {
      const end = Math.min(now, c.expireTime, c.deleted ?? Number.POSITIVE_INFINITY);
      usd += (c.tokens * Math.max(0, end - c.created) * (base.facts(c.model).prices.storagePerHour ?? 0)) / 3600_000 / 1_000_000;
    }
    return usd;
  };

  /** Thought signatures on the current turn (after the last user content with text): verified byte-exact, required on function calls for Gemini 3. */
  const checkSignatures = (contents: Content[], model: string): Response | undefined => {
    let start = 0;
    contents.forEach((c, i) => {
      if ((c.role ?? "user") === "user" && (c.parts ?? []).some((p) => typeof p.text === "string")) start = i + 1;
    });
    const family = familyOf(model);
    const strict = /gemini-3/.test(family);
    for (let i = start; i < contents.length; i++) {
      const c = contents[i]!;
      if (c.role !== "model") continue;
      for (const p of c.parts ?? [])
        if (p.thoughtSignature !== undefined && base.signer.open(p.thoughtSignature) !== partSignaturePayload(family, p)) return err(400, "INVALID_ARGUMENT", CORRUPTED_SIGNATURE);
      const call = (c.parts ?? []).find((p) => p.functionCall);
      if (strict && call && call.thoughtSignature === undefined) return err(400, "INVALID_ARGUMENT", MISSING_SIGNATURE(call.functionCall!.name, i));
    }
    return undefined;
  };

  const generate = async (model: string, body: Record<string, unknown>, stream: boolean): Promise<Response> => {
    for (const k of ["model", "config"]) if (k in body) return err(400, "INVALID_ARGUMENT", `Invalid JSON payload received. Unknown name "${k}": Cannot find field.`);
    const contents = body.contents as Content[] | undefined;
    if (!Array.isArray(contents) || contents.length === 0) return err(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified\n");
    const bad = checkSignatures(contents, model);
    if (bad) return bad;
    const f = base.facts(model);
    const now = base.clock.now();
    let prompt: number;
    let cached: number;
    if (typeof body.cachedContent === "string") {
      const c = liveCache(body.cachedContent);
      if (!c) return err(403, "PERMISSION_DENIED", CACHE_NOT_FOUND);
      if (body.systemInstruction || body.tools || body.toolConfig)
        return err(400, "INVALID_ARGUMENT", "CachedContent can not be used with GenerateContent request setting system_instruction, tools or tool_config.\n\nProposed fix: move those values to CachedContent from GenerateContent request.");
      if (familyOf(c.model) !== familyOf(model)) return err(400, "INVALID_ARGUMENT", `Model used by GenerateContent request (${modelName(model)}) and CachedContent (${c.model}) has to be the same.`);
      prompt = c.tokens + contentSegments(contents).reduce((n, s) => n + s.tokens, 0);
      cached = c.tokens;
    } else {
      const chain = cache.chain(`gemini:${familyOf(model)}`, [...staticSegments(body), ...contentSegments(contents)]);
      const r = autoCache(cache, chain, now, { min: f.cache.minCacheableTokens, granularity: f.cache.granularity, ttlMs: f.cache.ttlMs.implicit ?? f.cache.ttlMs.default, refreshOnHit: f.cache.refreshOnHit });
      prompt = chain.total;
      cached = r.cached;
    }
    const gen = (body.generationConfig ?? {}) as { maxOutputTokens?: number; thinkingConfig?: { includeThoughts?: boolean } };
    const warm = gen.maxOutputTokens !== undefined && gen.maxOutputTokens <= f.cache.warmOutputTokens;
    const ans = await base.answer({
      family: "gemini",
      endpoint: stream ? "streamGenerateContent" : "generateContent",
      model,
      messages: contents.map((c) => ({ role: c.role === "model" ? "assistant" : c.role === "user" && (c.parts ?? []).every((p) => p.functionResponse) ? "tool" : "user", text: (c.parts ?? []).map((p) => p.text ?? (p.functionResponse ? JSON.stringify(p.functionResponse) : "")).join("") })),
      body,
      promptTokens: prompt,
      warm,
    });
    base.prefill(prompt - cached, cached);
    const out = limitOutput(ans, gen.maxOutputTokens);
    const family = familyOf(model);
    const parts: Part[] = [];
    if (out.reasoning && gen.thinkingConfig?.includeThoughts) parts.push({ text: out.reasoning, thought: true });
    if (out.text !== "") parts.push({ text: out.text });
    if (!out.truncated)
      for (const c of ans.toolCalls ?? []) {
        const args = typeof c.arguments === "string" ? (JSON.parse(c.arguments || "{}") as unknown) : c.arguments;
        parts.push({ functionCall: { ...(c.id ? { id: c.id } : {}), name: c.name, args } });
      }
    if (parts.length === 0) parts.push({ text: "" });
    // The signature goes on the first function call, or on the last part when there is none (PROVIDERS.md §4).
    const signed = parts.findIndex((p) => p.functionCall) >= 0 ? parts.findIndex((p) => p.functionCall) : parts.length - 1;
    parts[signed] = { ...parts[signed]!, thoughtSignature: base.signer.sign(partSignaturePayload(family, parts[signed]!)) };
    const candidates = out.tokens.text + out.tokens.tools;
    base.output(candidates + out.tokens.reasoning);
    const usageMetadata = {
      promptTokenCount: prompt,
      candidatesTokenCount: candidates,
      totalTokenCount: prompt + candidates + out.tokens.reasoning,
      ...(cached > 0 ? { cachedContentTokenCount: cached, cacheTokensDetails: [{ modality: "TEXT", tokenCount: cached }] } : {}),
      ...(out.tokens.reasoning > 0 ? { thoughtsTokenCount: out.tokens.reasoning } : {}),
      promptTokensDetails: [{ modality: "TEXT", tokenCount: prompt }],
    };
    base.record({ kind: "generate", endpoint: "generateContent", model, status: 200, usage: { promptTokens: prompt, cachedTokens: cached, cacheWriteTokens: 0, outputTokens: candidates + out.tokens.reasoning, reasoningTokens: out.tokens.reasoning }, warm });
    const responseId = base.signer.id("r").slice(2);
    const finishReason = out.truncated ? "MAX_TOKENS" : "STOP";
    const whole = { candidates: [{ content: { role: "model", parts }, finishReason, index: 0 }], usageMetadata, modelVersion: model.replace(/^models\//, ""), responseId };
    if (!stream) return json(200, whole);
    // Text streams in pieces; function calls and signatures come whole, on the part they belong to.
    const events: { data: string }[] = [];
    const partial = { promptTokenCount: prompt, totalTokenCount: prompt };
    const failMid = base.takeFault() !== undefined;
    parts.forEach((p, i) => {
      const last = i === parts.length - 1;
      if (typeof p.text === "string" && p.text !== "" && !p.functionCall) {
        const pieces = streamPieces(p.text);
        pieces.forEach((t, k) => {
          const tail = k === pieces.length - 1;
          const piece: Part = { ...(p.thought ? { thought: true } : {}), text: t, ...(tail && p.thoughtSignature ? { thoughtSignature: p.thoughtSignature } : {}) };
          events.push({ data: JSON.stringify({ candidates: [{ content: { role: "model", parts: [piece] }, index: 0, ...(last && tail ? { finishReason } : {}) }], usageMetadata: last && tail ? usageMetadata : partial, modelVersion: whole.modelVersion, responseId }) });
        });
      } else events.push({ data: JSON.stringify({ candidates: [{ content: { role: "model", parts: [p] }, index: 0, ...(last ? { finishReason } : {}) }], usageMetadata: last ? usageMetadata : partial, modelVersion: whole.modelVersion, responseId }) });
    });
    if (failMid) return sse([...events.slice(0, 1), { data: JSON.stringify({ error: { code: 503, message: "The model is overloaded. Please try again later.", status: "UNAVAILABLE" } }) }], { crlf: true });
    return sse(events, { crlf: true });
  };

  const createCache = async (body: Record<string, unknown>): Promise<Response> => {
    if (typeof body.model !== "string") return err(400, "INVALID_ARGUMENT", "* CreateCachedContentRequest.cached_content.model: model is required\n");
    const model = modelName(body.model);
    const f = base.facts(model);
    const segments = [...staticSegments(body), ...contentSegments((body.contents as Content[] | undefined) ?? [])];
    const tokens = segments.reduce((n, s) => n + s.tokens, 0);
    if (tokens < f.cache.minCacheableTokens) return err(400, "INVALID_ARGUMENT", `Cached content is too small. total_token_count=${tokens}, min_total_token_count=${f.cache.minCacheableTokens}`);
    const now = base.clock.now();
    const ttl = parseTtl(body.ttl);
    const expire = typeof body.expireTime === "string" ? Date.parse(body.expireTime) : now + (ttl ?? f.cache.ttlMs.explicit ?? f.cache.ttlMs.default);
    if (!Number.isFinite(expire) || expire <= now) return err(400, "INVALID_ARGUMENT", "* CachedContent.expire_time: expire_time must be in the future\n");
    const c: Cached = { name: `cachedContents/${base.signer.id("c").slice(2)}`, model, segments, tokens, created: now, expireTime: expire, updated: now, ...(typeof body.displayName === "string" ? { displayName: body.displayName } : {}) };
    caches.set(c.name, c);
    // Creating a cache bills its tokens as input (writes), and storage from now on.
    base.record({ kind: "cache-create", endpoint: "cachedContents.create", model, status: 200, usage: { promptTokens: tokens, cachedTokens: 0, cacheWriteTokens: tokens, outputTokens: 0 }, warm: false });
    return json(200, resource(c));
  };

  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (base.requireKey && !req.headers.get("x-goog-api-key") && !url.searchParams.get("key") && !/^Bearer \S+/.test(req.headers.get("authorization") ?? ""))
      return err(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
    const path = url.pathname.replace(/\/+$/, "").replace(/^\/v1(beta)?\//, "");
    const parsed = req.method === "POST" || req.method === "PATCH" ? await readJson(req) : ({ ok: true, body: {} as Record<string, unknown> } as const);
    if (!parsed.ok) return err(400, "INVALID_ARGUMENT", `Invalid JSON payload received. ${parsed.message}`);
    const gen = /^models\/([^:]+):(generateContent|streamGenerateContent)$/.exec(path);
    const f = base.takeHttpFault(gen?.[2] === "streamGenerateContent");
    if (f) {
      base.record({ kind: "error", endpoint: path, model: gen?.[1] ?? "", status: f.status, warm: false });
      return fault(f.status);
    }
    if (gen && req.method === "POST") return generate(gen[1]!, parsed.body, gen[2] === "streamGenerateContent");
    if (path === "cachedContents" && req.method === "POST") return createCache(parsed.body);
    if (path === "cachedContents" && req.method === "GET") {
      base.record({ kind: "cache-list", endpoint: "cachedContents.list", model: "", status: 200, warm: false });
      return json(200, { cachedContents: [...caches.values()].filter((c) => liveCache(c.name)).map(resource) });
    }
    const m = /^cachedContents\/[^/]+$/.exec(path);
    if (m) {
      const c = liveCache(path);
      const kind = req.method === "DELETE" ? "cache-delete" : req.method === "PATCH" ? "cache-update" : "cache-get";
      if (!c) {
        base.record({ kind, endpoint: `cachedContents.${kind.slice(6)}`, model: "", status: 403, warm: false });
        return err(403, "PERMISSION_DENIED", CACHE_NOT_FOUND);
      }
      base.record({ kind, endpoint: `cachedContents.${kind.slice(6)}`, model: c.model, status: 200, warm: false });
      if (req.method === "DELETE") {
        c.deleted = base.clock.now();
        return json(200, {});
      }
      if (req.method === "PATCH") {
        const now = base.clock.now();
        const ttl = parseTtl(parsed.body.ttl);
        const expire = typeof parsed.body.expireTime === "string" ? Date.parse(parsed.body.expireTime) : ttl !== undefined ? now + ttl : undefined;
        if (expire === undefined || !Number.isFinite(expire) || expire <= now) return err(400, "INVALID_ARGUMENT", "* UpdateCachedContentRequest: ttl or expire_time must be set, in the future\n");
        c.expireTime = expire;
        c.updated = now;
      }
      return json(200, resource(c));
    }
    return err(404, "NOT_FOUND", `Method not found: ${req.method} ${url.pathname}`);
  };

  const sim = simulator(base, handle, { storageUsd, evictAll: () => cache.clear() });
  return Object.assign(sim, {
    get caches() {
      return [...caches.values()].filter((c) => liveCache(c.name)).length;
    },
  });
};

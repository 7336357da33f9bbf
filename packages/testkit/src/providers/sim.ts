import type { AddressInfo } from "node:net";
import { serve as serveNode } from "@hono/node-server";
import { canonicalJson } from "@ctxsync/core";
import { costOf, factsFor, type ModelFacts, type NormalizedUsage, type ProviderFamily } from "@ctxsync/providers";
import { createVirtualClock, type VirtualClock } from "./clock.js";
import { createSigner, type Signer } from "./hash.js";
import { countTokens, firstTokens } from "./tokenizer.js";

/** What a scripted model answers: a function of the request decides it (e.g. a trace's next message). */
export interface ScriptAnswer {
  readonly text?: string;
  readonly reasoning?: string;
  readonly toolCalls?: readonly { readonly name: string; readonly arguments: string | Record<string, unknown>; readonly id?: string }[];
  /** Anthropic: return the reasoning as a `redacted_thinking` block. */
  readonly redacted?: boolean;
}

/** The request as the script sees it: the conversation in plain roles and texts, plus the raw body. */
export interface ScriptRequest {
  readonly family: SimFamily;
  readonly endpoint: string;
  readonly model: string;
  readonly messages: readonly { readonly role: string; readonly text: string }[];
  readonly body: Record<string, unknown>;
  readonly promptTokens: number;
  readonly warm: boolean;
}

export type Script = (req: ScriptRequest) => ScriptAnswer | Promise<ScriptAnswer>;

export type SimFamily = Exclude<ProviderFamily, "local">;

/** A fault to inject into the next request(s): an HTTP error before any output, or an error in the middle of the stream. */
export interface Fault {
  readonly status: number;
  /** Fail after the first output chunk (streams only); default false. */
  readonly midStream?: boolean;
  /** How many requests fail (default 1). */
  readonly times?: number;
}

/** Simulated latency on the virtual clock (all default 0: time moves only when the caller moves it). */
export interface Latency {
  readonly baseMs?: number;
  readonly prefillMsPerToken?: number;
  readonly cachedMsPerToken?: number;
  readonly outputMsPerToken?: number;
}

export interface SimOptions {
  readonly clock?: VirtualClock;
  readonly script?: Script;
  readonly latency?: Latency;
  /** HMAC secret for signatures / encrypted content (default random per simulator). */
  readonly secret?: string;
  /** Require an API key header (default true): a request without one gets the provider's 401. */
  readonly requireKey?: boolean;
}

export type RequestKind = "generate" | "cache-create" | "cache-update" | "cache-get" | "cache-delete" | "cache-list" | "error";

/** One request as the simulator counted it. */
export interface SimRecord {
  readonly time: number;
  readonly kind: RequestKind;
  readonly endpoint: string;
  readonly model: string;
  readonly status: number;
  readonly usage?: Omit<NormalizedUsage, "ttftMs" | "totalMs">;
  readonly costUsd: number;
  /** The output limit was at most the provider's warm-call minimum (a warm-up/rebuild as the benchmark counts them). */
  readonly warm: boolean;
}

export interface SimCounters {
  requests: number;
  byKind: Record<RequestKind, number>;
  tokens: { prompt: number; cached: number; cacheWrite: number; cacheWrite1h: number; uncached: number; output: number };
  /** Spend on requests at facts.ts prices (USD). */
  requestUsd: number;
  /** Explicit cache storage so far (Gemini). */
  storageUsd: number;
}

const emptyCounters = (): SimCounters => ({
  requests: 0,
  byKind: { generate: 0, "cache-create": 0, "cache-update": 0, "cache-get": 0, "cache-delete": 0, "cache-list": 0, error: 0 },
  tokens: { prompt: 0, cached: 0, cacheWrite: 0, cacheWrite1h: 0, uncached: 0, output: 0 },
  requestUsd: 0,
  storageUsd: 0,
});

/** The parts every simulator shares: clock, counters, faults, signing, answers, HTTP helpers. */
export interface SimBase {
  readonly family: SimFamily;
  readonly clock: VirtualClock;
  readonly signer: Signer;
  readonly records: SimRecord[];
  readonly counters: SimCounters;
  readonly requireKey: boolean;
  facts(model: string): ModelFacts;
  record(r: Omit<SimRecord, "time" | "costUsd">): SimRecord;
  takeFault(): Fault | undefined;
  /** The fault to answer this request with an HTTP error before any output, if one is due (mid-stream faults stay queued for a stream). */
  takeHttpFault(stream: boolean): Fault | undefined;
  answer(req: ScriptRequest): Promise<ScriptAnswer>;
  /** Advance the virtual clock by the modelled prefill latency. */
  prefill(uncached: number, cached: number): void;
  output(tokens: number): void;
  addStorage(usd: number): void;
}

export interface ProviderSimulator {
  readonly family: SimFamily;
  /** The handler: pass it as the SDK's `fetch` (in-process, no socket). */
  readonly fetch: typeof fetch;
  handle(req: Request): Promise<Response>;
  /** Serve the handler over HTTP on 127.0.0.1 (port 0 by default). */
  serve(port?: number): Promise<{ url: string; close(): Promise<void> }>;
  readonly clock: VirtualClock;
  readonly counters: Readonly<SimCounters>;
  readonly records: readonly SimRecord[];
  /** Total spend (requests + storage up to now), USD. */
  cost(): number;
  /** Make the next request(s) fail. */
  inject(fault: Fault): void;
  /** Forget every cache entry and stored state (a provider-side eviction of everything). */
  evictAll(): void;
}

const DEFAULT_SCRIPT: Script = (req) => ({ text: req.warm ? "ok" : `Answer ${req.messages.length}.` });

export const createBase = (family: SimFamily, o: SimOptions): SimBase => {
  const clock = o.clock ?? createVirtualClock();
  const records: SimRecord[] = [];
  const counters = emptyCounters();
  const faults: Fault[] = [];
  const factsCache = new Map<string, ModelFacts>();
  const lat = o.latency ?? {};
  const base: SimBase & { faults: Fault[] } = {
    family,
    clock,
    signer: createSigner(o.secret),
    records,
    counters,
    faults,
    requireKey: o.requireKey ?? true,
    facts(model) {
      let f = factsCache.get(model);
      if (!f) factsCache.set(model, (f = factsFor(family, model)));
      return f;
    },
    record(r) {
      const costUsd = r.usage ? costOf(r.usage, base.facts(r.model).prices) : 0;
      const rec: SimRecord = { ...r, time: clock.now(), costUsd };
      records.push(rec);
      counters.requests++;
      counters.byKind[r.status >= 400 ? "error" : r.kind]++;
      if (r.usage) {
        const u = r.usage;
        counters.tokens.prompt += u.promptTokens;
        counters.tokens.cached += u.cachedTokens;
        counters.tokens.cacheWrite += u.cacheWriteTokens;
        counters.tokens.cacheWrite1h += u.cacheWrite1hTokens ?? 0;
        counters.tokens.uncached += Math.max(0, u.promptTokens - u.cachedTokens - u.cacheWriteTokens);
        counters.tokens.output += u.outputTokens;
      }
      counters.requestUsd += costUsd;
      return rec;
    },
    takeFault() {
      const f = faults[0];
      if (!f) return undefined;
      const left = (f.times ?? 1) - 1;
      if (left <= 0) faults.shift();
      else faults[0] = { ...f, times: left };
      return f;
    },
    takeHttpFault(stream) {
      const f = faults[0];
      if (!f || (f.midStream && stream)) return undefined;
      return base.takeFault();
    },
    answer: async (req) => (o.script ?? DEFAULT_SCRIPT)(req),
    prefill(uncached, cached) {
      const ms = (lat.baseMs ?? 0) + uncached * (lat.prefillMsPerToken ?? 0) + cached * (lat.cachedMsPerToken ?? 0);
      if (ms > 0) clock.advance(ms);
    },
    output(tokens) {
      const ms = tokens * (lat.outputMsPerToken ?? 0);
      if (ms > 0) clock.advance(ms);
    },
    addStorage(usd) {
      counters.storageUsd += usd;
    },
  };
  return base;
};

/** Wrap a handler into the simulator object every provider module returns. */
export const simulator = (
  base: SimBase,
  handle: (req: Request) => Promise<Response>,
  extra: { storageUsd?: () => number; evictAll: () => void },
): ProviderSimulator => {
  const safe = async (req: Request): Promise<Response> => {
    try {
      return await handle(req);
    } catch (e) {
      // A bug in a simulator must show as a 500 with its message, not hang the SDK.
      return new Response(JSON.stringify({ error: { message: `simulator: ${e instanceof Error ? e.stack ?? e.message : String(e)}`, type: "server_error" } }), {
        status: 500,
        headers: { "content-type": "application/json" },
      });
    }
  };
  const fetchFn = ((input: RequestInfo | URL, init?: RequestInit) => safe(input instanceof Request && init === undefined ? input : new Request(input, init))) as typeof fetch;
  return {
    family: base.family,
    fetch: fetchFn,
    handle: safe,
    async serve(port = 0) {
      const server = await new Promise<ReturnType<typeof serveNode>>((resolve, reject) => {
        const s = serveNode({ fetch: safe, port, hostname: "127.0.0.1" }, () => resolve(s));
        s.once("error", reject);
      });
      const addr = server.address() as AddressInfo;
      return {
        url: `http://127.0.0.1:${addr.port}`,
        close: () =>
          new Promise<void>((resolve) => {
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
            server.close(() => resolve());
          }),
      };
    },
    clock: base.clock,
    counters: base.counters,
    records: base.records,
    cost: () => base.counters.requestUsd + base.counters.storageUsd + (extra.storageUsd?.() ?? 0),
    inject: (f) => (base as unknown as { faults: Fault[] }).faults.push(f),
    evictAll: extra.evictAll,
  };
};

// ---- HTTP helpers ----

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** An SSE response from a list of events (`event` name optional), written as the provider writes them. */
export const sse = (events: readonly { event?: string; data: string }[], opts: { crlf?: boolean } = {}): Response => {
  const nl = opts.crlf ? "\r\n" : "\n";
  const text = events.map((e) => `${e.event !== undefined ? `event: ${e.event}${nl}` : ""}data: ${e.data}${nl}${nl}`).join("");
  return new Response(text, { status: 200, headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
};

export const readJson = async (req: Request): Promise<{ ok: true; body: Record<string, unknown> } | { ok: false; message: string }> => {
  const text = await req.text();
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) return { ok: false, message: "the request body must be a JSON object" };
    return { ok: true, body: v as Record<string, unknown> };
  } catch (e) {
    return { ok: false, message: `the request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
};

/** Output limited to `limit` tokens: truncated text and the finish state. */
export const limitOutput = (a: ScriptAnswer, limit: number | undefined): { text: string; reasoning: string; truncated: boolean; tokens: { text: number; reasoning: number; tools: number } } => {
  const reasoning = a.reasoning ?? "";
  let text = a.text ?? "";
  const rTok = countTokens(reasoning);
  const tTok = countTokens(text);
  const toolTok = (a.toolCalls ?? []).reduce((n, c) => n + countTokens(c.name) + countTokens(typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments)), 0);
  if (limit === undefined || rTok + tTok + toolTok <= limit) return { text, reasoning, truncated: false, tokens: { text: tTok, reasoning: rTok, tools: toolTok } };
  const left = Math.max(0, limit - rTok);
  text = firstTokens(text, left);
  return { text, reasoning, truncated: true, tokens: { text: countTokens(text), reasoning: rTok, tools: 0 } };
};

/** A script's tool-call arguments as text (objects are serialized canonically: sorted keys). */
export const argumentsText = (args: string | Record<string, unknown>): string => (typeof args === "string" ? args : canonicalJson(args));

/** The key of an object without the given top-level members (cache markers sit on the block or tool itself). */
export const keyWithout = (v: unknown, drop: ReadonlySet<string>): string => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return JSON.stringify(v);
  const o = v as Record<string, unknown>;
  let has = false;
  for (const k of drop) if (k in o) has = true;
  if (!has) return JSON.stringify(o);
  const rest: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (!drop.has(k)) rest[k] = o[k];
  return JSON.stringify(rest);
};

export const textOf = (content: unknown): string => {
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content
      .map((p) => (typeof p === "object" && p !== null && typeof (p as { text?: unknown }).text === "string" ? (p as { text: string }).text : ""))
      .join("");
  return "";
};

/**
 * What a model sees of a chat message, whatever form it is sent in (string or text parts, null or
 * "" content, cache markers): role, text, reasoning, tool calls, tool call id. Chat simulators key
 * their cache segments by this, as a provider's tokenizer sees the same tokens for either form.
 */
export const chatMessageKey = (m: unknown): string => {
  const o = (typeof m === "object" && m !== null ? m : {}) as { role?: unknown; name?: unknown; content?: unknown; reasoning_content?: unknown; tool_calls?: unknown; tool_call_id?: unknown };
  const calls = Array.isArray(o.tool_calls)
    ? (o.tool_calls as { id?: unknown; function?: { name?: unknown; arguments?: unknown } }[]).map((c) => `${String(c.id ?? "")}:${String(c.function?.name ?? "")}:${String(c.function?.arguments ?? "")}`).join(";")
    : "";
  return [String(o.role ?? ""), typeof o.name === "string" ? o.name : "", textOf(o.content), typeof o.reasoning_content === "string" ? o.reasoning_content : "", calls, typeof o.tool_call_id === "string" ? o.tool_call_id : ""].join("|");
};

import {
  SYSTEM_PROMPT_INFO,
  type CacheState,
  type ConversationLog,
  type Entry,
  type EntryInput,
  type HiddenBlob,
  type HiddenState,
  type JsonValue,
} from "@ctxsync/core";
import type { CacheHandle, CompileResult, RenderContext } from "@ctxsync/compile";
import { isProviderError, type SendResult, type SlotTarget, type StreamDelta, type Transport } from "@ctxsync/providers";
import {
  createReplayer,
  docHost,
  localLeaseService,
  type Detection,
  type GapModel,
  type GapModelOptions,
  type KeepWarmPolicy,
  type LeaseService,
  type RebuildOutcome,
  type ReplayEvent,
  type Replayer,
  type ReplayHost,
  type UsageInput,
} from "@ctxsync/replay";
import { asSyncError, syncError, type SyncError, type SyncErrorCode } from "@ctxsync/protocol";
import { httpLeaseService } from "./rebuild-lease.js";

/**
 * `session.send(...)`: one model turn, end to end (docs/replay.md, "The client API") — append the
 * input, compile the branch, send it through the provider's transport (streaming partial output to
 * other devices as awareness), append the answer and its hidden blobs, record usage, and let replay
 * keep the provider's cache in step (detect, checkpoint, keep warm, replay from scratch).
 */

export interface SessionReplayOptions {
  /** Self-hosted engine slot API (packages/local-engine, llama-server): checkpoints, probes, restores. */
  readonly engine?: SlotTarget;
  /** Keep-warm policy (default ctxsync's cost-aware one; `nonePolicy()` turns warming off). */
  readonly policy?: KeepWarmPolicy;
  readonly gapModel?: GapModel | GapModelOptions;
  /** Rebuild lease hold (default 120 s). */
  readonly leaseTtlMs?: number;
  /** The lease's compare-and-set (default: the sync server's REST endpoint when the session syncs, else local). */
  readonly leases?: LeaseService;
  /** Keep-warm pings on a timer (default true). Benchmarks drive `replay.wake()` themselves. */
  readonly timers?: boolean;
  readonly onEvent?: (e: ReplayEvent) => void;
  /** Throttle of partial-output awareness updates (default 100 ms). */
  readonly partialIntervalMs?: number;
  readonly fetch?: typeof fetch;
}

export interface SendInput {
  /** The render context: provider, model, system (default: the conversation's imported system prompt), tools, options. */
  readonly ctx: RenderContext;
  /** Appended before the request: a user message, or entries (tool results...). */
  readonly input?: string | readonly EntryInput[];
  readonly branch?: string;
  /** SSE streaming (default true). */
  readonly stream?: boolean;
  readonly signal?: AbortSignal;
  /** Partial output as it streams (it also goes to other devices as awareness). */
  readonly onDelta?: (d: StreamDelta) => void;
}

export interface SendOutcome {
  /** The appended assistant entry. */
  readonly entry: Entry;
  readonly result: SendResult;
  readonly usage: UsageInput;
  readonly detection: Detection;
  /** Set when provider-held state was gone and the turn was replayed from scratch: what was gone. */
  readonly fromScratch?: string;
}

export interface SessionTurns {
  /** One model turn (needs `transport` in the session options). */
  send(input: SendInput): Promise<SendOutcome>;
  /** Make the branch's cached prefix warm now (a device opening the conversation). */
  prewarm(ctx: RenderContext, opts?: { branch?: string }): Promise<RebuildOutcome>;
  /** Rebuild the branch's cached prefix under the lease (`force`: even if it looks warm). */
  rebuildCache(ctx: RenderContext, opts?: { branch?: string; force?: boolean }): Promise<RebuildOutcome>;
  /** The replay loop (undefined without a transport). */
  readonly replay: Replayer | undefined;
}

/** What the session hands to `createTurns` (its internals, no Yjs exposed to callers). */
export interface TurnDeps {
  readonly conversation: string;
  readonly device: string;
  readonly now: () => number;
  readonly log: ConversationLog;
  readonly cache: CacheState;
  readonly hidden: HiddenState | undefined;
  readonly url?: string;
  readonly token?: string;
  readonly transport?: Transport;
  readonly options?: SessionReplayOptions;
  /** A C/cache write through the session (scope checks, durable before it resolves). */
  readonly writeCache: <T>(fn: () => T) => Promise<T>;
  readonly emitError: (e: SyncError) => void;
  readonly currentBranch: () => string;
  readonly compile: (ctx: RenderContext, opts: { branch: string; cacheHandle?: CacheHandle; hiddenFilter?: (b: HiddenBlob) => boolean }) => CompileResult;
  readonly appendTurn: (inputs: readonly EntryInput[], opts: { branch: string; provider?: string; model?: string }) => Promise<Entry[]>;
  readonly attachHidden: (entry: string, blob: Omit<HiddenBlob, "id" | "entry" | "order" | "time"> & { order?: number }) => Promise<HiddenBlob>;
  readonly streamPartial: (p: JsonValue | null) => void;
}

const FROM_PROVIDER: Readonly<Record<string, SyncErrorCode>> = {
  "rate-limited": "rate-limited",
  unauthorized: "unauthorized",
  "bad-request": "bad-request",
  "context-too-long": "bad-request",
};

/** A provider's failure as the client's error: its code in `details.providerCode`. */
const fromProvider = (e: unknown): SyncError => {
  if (!isProviderError(e)) return asSyncError(e);
  return syncError(FROM_PROVIDER[e.code] ?? "internal", e.message, { providerCode: e.code, ...(e.status !== undefined ? { status: e.status } : {}), cause: e });
};

/** Partial assistant output, accumulated from stream deltas, published at most every `ms`. */
const partialPublisher = (publish: (p: JsonValue | null) => void, ms: number) => {
  let text = "";
  let reasoning = "";
  const calls: Array<{ id?: string; name?: string; arguments: string }> = [];
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    timer = undefined;
    last = Date.now();
    publish({ kind: "assistant", text, ...(reasoning ? { reasoning } : {}), ...(calls.length ? { toolCalls: calls.map((c) => ({ ...c })) } : {}) } as JsonValue);
  };
  return {
    delta(d: StreamDelta) {
      if (d.type === "text") text += d.text;
      else if (d.type === "reasoning") reasoning += d.text;
      else {
        const c = (calls[d.index] ??= { arguments: "" });
        if (d.id) c.id = d.id;
        if (d.name) c.name = d.name;
        c.arguments += d.argumentsDelta;
      }
      if (timer) return;
      const wait = Math.max(0, ms - (Date.now() - last));
      if (wait === 0) flush();
      else timer = setTimeout(flush, wait);
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
};

export const createTurns = (d: TurnDeps): SessionTurns & { close(): void } => {
  const o = d.options ?? {};
  const onWriteError = (e: unknown) => d.emitError(asSyncError(e));
  const host: ReplayHost = docHost({
    log: d.log,
    cache: d.cache,
    ...(d.hidden ? { hidden: d.hidden } : {}),
    device: d.device,
    conversation: d.conversation,
    now: d.now,
    write: (fn) => d.writeCache(fn).catch(onWriteError),
    leases:
      o.leases ??
      (d.url !== undefined
        ? httpLeaseService({ url: d.url, conversation: d.conversation, ...(d.token ? { token: d.token } : {}), ...(o.fetch ? { fetch: o.fetch } : {}) })
        : localLeaseService(d.cache, d.now)),
  });
  const replay = d.transport
    ? createReplayer({
        host,
        transport: d.transport,
        ...(o.policy ? { policy: o.policy } : {}),
        ...(o.engine ? { engine: o.engine } : {}),
        ...(o.gapModel ? { gapModel: o.gapModel } : {}),
        ...(o.leaseTtlMs !== undefined ? { leaseTtlMs: o.leaseTtlMs } : {}),
        ...(o.onEvent ? { onEvent: o.onEvent } : {}),
      })
    : undefined;

  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!replay || closed || o.timers === false) return;
    const at = replay.nextWakeAt();
    if (at === undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      replay
        .wake()
        .catch((e: unknown) => d.emitError(asSyncError(e)))
        .finally(arm);
    }, Math.max(0, at - d.now()));
    (timer as { unref?: () => void }).unref?.();
  };

  const need = (): Replayer => {
    if (!replay || !d.transport) throw syncError("bad-request", "this session has no transport: pass `transport` (from @ctxsync/providers) to openSession");
    return replay;
  };
  const withSystem = (ctx: RenderContext): RenderContext => {
    if (ctx.system !== undefined) return ctx;
    const s = d.log.info(SYSTEM_PROMPT_INFO);
    return typeof s === "string" ? { ...ctx, system: s } : ctx;
  };

  return {
    replay,
    async send(input) {
      const r = need();
      const transport = d.transport!;
      const branch = input.branch ?? d.currentBranch();
      const ctx = withSystem(input.ctx);
      if (typeof input.input === "string") await d.appendTurn([{ kind: "user", content: { text: input.input } }], { branch });
      else if (input.input && input.input.length > 0) await d.appendTurn(input.input, { branch });
      const before = await r.beforeTurn(branch, ctx);
      let compiled = d.compile(ctx, { branch, ...(before.cacheHandle ? { cacheHandle: before.cacheHandle } : {}), ...(before.hiddenFilter ? { hiddenFilter: before.hiddenFilter } : {}) });
      const partial = partialPublisher(d.streamPartial, o.partialIntervalMs ?? 100);
      const onDelta = (x: StreamDelta) => {
        partial.delta(x);
        input.onDelta?.(x);
      };
      const call = (c: CompileResult) =>
        transport.send({ compiled: c, model: ctx.model, stream: input.stream ?? true, onDelta, ...(input.signal ? { signal: input.signal } : {}) });
      let sentAt = d.now();
      let result: SendResult;
      let fromScratch: string | undefined;
      try {
        try {
          result = await call(compiled);
        } catch (e) {
          const plan = await r.recover(e, { branch, ctx, compiled });
          if (!plan) throw e;
          // Provider-held state is gone: the same turn again, from the log and C/hidden.
          compiled = d.compile(ctx, { branch, ...(plan.cacheHandle ? { cacheHandle: plan.cacheHandle } : {}), ...(plan.hiddenFilter ? { hiddenFilter: plan.hiddenFilter } : {}) });
          fromScratch = plan.what;
          sentAt = d.now();
          result = await call(compiled);
        }
      } catch (e) {
        partial.stop();
        d.streamPartial(null);
        throw fromProvider(e);
      } finally {
        partial.stop();
      }
      const [entry] = await d.appendTurn([result.entry], { branch, provider: result.meta.provider, model: result.meta.model });
      if (d.hidden) for (const b of result.blobs) await d.attachHidden(entry!.id, { provider: result.meta.provider, model: result.meta.model, kind: b.kind, data: b.data, order: b.order });
      const out = await r.afterTurn({ branch, ctx, compiled, result, entry: entry!.id, sentAt, ...(fromScratch ? { fromScratch } : {}) });
      arm();
      return { entry: entry!, result, usage: out.usage, detection: out.detection, ...(fromScratch ? { fromScratch } : {}) };
    },
    async prewarm(ctx, opts = {}) {
      const out = await need().prewarm(opts.branch ?? d.currentBranch(), withSystem(ctx));
      arm();
      return out;
    },
    async rebuildCache(ctx, opts = {}) {
      const out = await need().rebuild(opts.branch ?? d.currentBranch(), withSystem(ctx), opts.force !== undefined ? { force: opts.force } : {});
      arm();
      return out;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      replay?.close();
    },
  };
};

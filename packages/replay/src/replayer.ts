import {
  checkpointKey,
  sha256Hex,
  type CheckpointHandle,
  type Entry,
  type EntryId,
  type HiddenBlob,
  type PrefixHash,
  type RebuildLease,
  type UsagePurpose,
  type UsageRecord,
} from "@ctxsync/core";
import {
  checkpointIdentity,
  compile,
  explain,
  geminiCachePlan,
  RENDERER_TABLE,
  renderContextHash,
  RESPONSE_KIND,
  type CacheHandle,
  type CompileResult,
  type HiddenLookup,
  type Manifest,
  type RenderContext,
} from "@ctxsync/compile";
import {
  costOf,
  factsFor,
  isProviderError,
  listSlots,
  restoreSlot,
  saveSlot,
  warmOutputTokens,
  type NormalizedUsage,
  type SendResult,
  type SlotTarget,
  type Transport,
} from "@ctxsync/providers";
import { detect, type Detection } from "./detect.js";
import { pingEconomics, ttlOf, type ProviderFacts } from "./economics.js";
import { replayError, toReplayError } from "./errors.js";
import { createGapModel, type GapKind, type GapModel, type GapModelOptions } from "./gap-model.js";
import { handleOnPath, isLive, lapsed, observedHandle, rebuilding, rebuilt, supersededBy, touched, type HandleIdentity } from "./handle.js";
import { acquireLease, endLease, withinDeadline, type LeaseService } from "./lease.js";
import { ctxsyncPolicy, type KeepWarmPolicy } from "./policy.js";

/**
 * The replay loop of one session (docs/replay.md): it is told about every turn (`beforeTurn`,
 * `afterTurn`, `turnFailed`), keeps `C/cache` in step with what the provider reported, keeps a
 * cache warm while that pays (`nextWakeAt` / `wake`, driven by a timer or a virtual clock), and
 * rebuilds a prefix on demand (`prewarm`, `rebuild`) under the server-confirmed lease.
 */

export type UsageInput = Omit<UsageRecord, "id" | "device" | "time"> & { readonly time?: number };

/** What replay needs from the session (packages/client implements it; benchmarks use an in-memory one). */
export interface ReplayHost {
  readonly device: string;
  readonly conversation: string;
  /** Wall-clock (or virtual) time, ms. */
  now(): number;
  handles(): readonly CheckpointHandle[];
  putHandle(h: CheckpointHandle): unknown;
  removeHandle(key: string): unknown;
  recordUsage(r: UsageInput): unknown;
  /** The server-kept rebuild lease of a checkpoint key, as last synced. */
  rebuildLease(key: string): RebuildLease | undefined;
  /** Called on every change of `C/cache` (other devices' handles, lease records); returns an unsubscribe. */
  onCacheChange(fn: () => void): () => void;
  readonly leases: LeaseService;
  /** Entries from the root to `entry`, inclusive. */
  path(entry: EntryId): readonly Entry[];
  /** The head of a branch (undefined: no such branch, or empty). */
  head(branch: string): EntryId | undefined;
  prefixHash(entry: EntryId): PrefixHash;
  readonly hidden?: HiddenLookup;
}

export type ReplayEvent =
  | { readonly type: "detected"; readonly branch: string; readonly purpose: UsagePurpose; readonly detection: Detection }
  | { readonly type: "probe"; readonly branch: string; readonly resident: boolean; readonly key: string }
  | { readonly type: "rebuild-start"; readonly branch: string; readonly key: string; readonly how: RebuildHow; readonly tokens: number }
  | { readonly type: "rebuild-progress"; readonly branch: string; readonly key: string; readonly done: number; readonly total: number }
  | { readonly type: "rebuild-done"; readonly branch: string; readonly key: string; readonly how: RebuildHow; readonly tokens: number; readonly ms: number }
  | { readonly type: "rebuild-skipped"; readonly branch: string; readonly key: string; readonly reason: "held" | "stale-version" | "fenced" | "lease-expired" | "gave-up" }
  | { readonly type: "state-gone"; readonly branch: string; readonly what: string; readonly message: string }
  | { readonly type: "warmup"; readonly branch: string; readonly key: string; readonly cachedTokens: number; readonly expected: number; readonly costUsd: number }
  | { readonly type: "keep-warm-stop"; readonly branch: string; readonly key: string; readonly idleMs: number };

/** restore: a saved KV state loaded; resend: the prefix sent again (1 output token, or 0 on an engine); scratch: from the log after state was gone. */
export type RebuildHow = "restore" | "resend" | "scratch";

/** A provider's explicit cache resources (Gemini `cachedContents`); providers' GeminiTransport has them as `caches`. */
export interface ExplicitCacheApi {
  /** Create one from its REST body (compile's `geminiCachePlan(...).body`). */
  create(req: { readonly body: string }): Promise<{ readonly name?: string; readonly expireTime?: string }>;
}

export interface ReplayerOptions {
  readonly host: ReplayHost;
  readonly transport: Transport;
  /** Keep-warm policy (default ctxsync's). */
  readonly policy?: KeepWarmPolicy;
  /** A self-hosted engine's slot API: save a checkpoint after each turn, probe before one, restore instead of prefilling. */
  readonly engine?: SlotTarget;
  /** Prices and cache rules (default providers' `factsFor`). */
  readonly facts?: (provider: Transport["provider"], model: string) => ProviderFacts;
  /** The session's return model (default: a fresh one with the default priors). */
  readonly gapModel?: GapModel | GapModelOptions;
  /** The hold asked for a rebuild (default 120 s). */
  readonly leaseTtlMs?: number;
  /** Pings go out this long before the predicted expiry (default 10 s, at most a tenth of the TTL). */
  readonly pingMarginMs?: number;
  /** How long a device waits for another device's rebuild before giving up (default lease TTL + 35 s). */
  readonly waitForRebuildMs?: number;
  /** A long prefix is prefilled on an engine in chunks of about this many tokens, for progress (default 2048). */
  readonly chunkTokens?: number;
  readonly monotonic?: () => number;
  readonly onEvent?: (e: ReplayEvent) => void;
  /** Explicit caches (default: the transport's `caches`, when it has them). */
  readonly explicitCaches?: ExplicitCacheApi;
  /** Lifetime asked for an explicit cache (default 1 h). */
  readonly explicitTtlMs?: number;
}

export interface TurnReport {
  readonly branch: string;
  readonly ctx: RenderContext;
  readonly compiled: CompileResult;
  readonly result: SendResult;
  /** The assistant entry appended for the result. */
  readonly entry?: EntryId;
  /** Time the request was sent (host clock). */
  readonly sentAt: number;
  /** The request was a replay from scratch after provider-held state was gone. */
  readonly fromScratch?: string;
}

export interface TurnOutcome {
  readonly detection: Detection;
  readonly usage: UsageInput;
  readonly handle?: CheckpointHandle;
}

export interface BeforeTurn {
  /** An explicit provider cache to compile against (Gemini cachedContent), when one is live. */
  readonly cacheHandle?: CacheHandle;
  /** Compile with this blob filter: it leaves out provider-held state known to be gone (expired response ids). */
  readonly hiddenFilter?: (b: HiddenBlob) => boolean;
}

/** What to compile instead after a turn failed because provider-held state is gone. */
export interface ScratchPlan {
  readonly what: "previous-response" | "cached-content" | "engine-state";
  /** Compile with this blob filter (it drops the gone response ids)... */
  readonly hiddenFilter?: (b: HiddenBlob) => boolean;
  /** ...and with this explicit cache instead (a re-created one), or none (null). */
  readonly cacheHandle: CacheHandle | null;
}

export interface RebuildOutcome {
  readonly status: "warm" | "rebuilt" | "waited" | "skipped";
  readonly how?: RebuildHow;
  readonly key?: string;
  readonly tokens?: number;
}

export interface Replayer {
  beforeTurn(branch: string, ctx: RenderContext): Promise<BeforeTurn>;
  afterTurn(t: TurnReport): Promise<TurnOutcome>;
  /**
   * A turn failed: if provider-held state is gone, a plan to send it again from the log (re-creating an
   * explicit cache first, under the lease); undefined otherwise (the caller rethrows).
   */
  recover(err: unknown, t: { branch: string; ctx: RenderContext; compiled: CompileResult }): Promise<ScratchPlan | undefined>;
  /** A device opens a conversation: make the branch's prefix warm before the user's first turn. */
  prewarm(branch: string, ctx: RenderContext): Promise<RebuildOutcome>;
  /** Rebuild the branch's prefix now (evicted or not: `force`), under the lease. */
  rebuild(branch: string, ctx: RenderContext, opts?: { force?: boolean }): Promise<RebuildOutcome>;
  /** Host time of the next keep-warm decision (undefined: none pending). */
  nextWakeAt(): number | undefined;
  /** Make the keep-warm decisions that are due at the host's current time. */
  wake(): Promise<void>;
  readonly gapModel: GapModel;
  /** Stop keep-warm timers; pending calls finish. */
  close(): void;
}

interface BranchState {
  ctx: RenderContext;
  lastRequestAt?: number;
  /** Our last use of the prefix (request or ping): a later use is another device's. */
  lastTouchAt?: number;
  lastKind?: GapKind;
  lastManifest?: Manifest;
  key?: string;
  wakeAt?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const slotOf = (r: SendResult): number | undefined => {
  const id = r.providerMetadata?.id_slot;
  return typeof id === "number" ? id : undefined;
};

export const createReplayer = (o: ReplayerOptions): Replayer => {
  const { host, transport } = o;
  const factsOf = (model: string): ProviderFacts => (o.facts ?? factsFor)(transport.provider, model);
  const policy = o.policy ?? ctxsyncPolicy();
  const gapModel: GapModel = o.gapModel && "survival" in o.gapModel ? o.gapModel : createGapModel(o.gapModel);
  const leaseTtl = o.leaseTtlMs ?? 120_000;
  const waitFor = o.waitForRebuildMs ?? leaseTtl + 35_000;
  const mono = o.monotonic ?? (() => performance.now());
  const emit = (e: ReplayEvent) => o.onEvent?.(e);
  const branches = new Map<string, BranchState>();
  const goneResponses = new Set<string>();
  const explicitApi: ExplicitCacheApi | undefined =
    o.explicitCaches ?? ((transport as { caches?: ExplicitCacheApi }).caches?.create ? (transport as unknown as { caches: ExplicitCacheApi }).caches : undefined);
  const explicitTtl = o.explicitTtlMs ?? 3_600_000;
  const isExplicit = (h: CheckpointHandle) => h.route?.startsWith("cachedContents/") === true;
  const dropGone = (b: HiddenBlob) => !(b.kind === RESPONSE_KIND && goneResponses.has(String((b.data as { id?: unknown } | null)?.id)));
  let closed = false;

  const stateOf = (branch: string, ctx: RenderContext): BranchState => {
    let s = branches.get(branch);
    if (!s) branches.set(branch, (s = { ctx }));
    s.ctx = ctx;
    return s;
  };
  const ttlClass = (ctx: RenderContext): string | undefined => (ctx.provider === "anthropic" ? (ctx.options?.cacheTtl ?? "5m") : ctx.provider === "gemini" ? "implicit" : undefined);
  const ttlFor = (ctx: RenderContext) => ttlOf(factsOf(ctx.model), ttlClass(ctx));
  const marginFor = (ttl: number) => Math.min(o.pingMarginMs ?? 10_000, ttl / 10);
  const hashesTo = (entry: EntryId): PrefixHash[] => host.path(entry).map((e) => host.prefixHash(e.id));
  const hiddenFor = (filter?: (b: HiddenBlob) => boolean): HiddenLookup | undefined => {
    const h = host.hidden;
    if (!h) return undefined;
    return (id) => h(id).filter((b) => dropGone(b) && (!filter || filter(b)));
  };
  const compileTo = (entry: EntryId, branch: string, ctx: RenderContext): CompileResult => {
    const hidden = hiddenFor();
    return compile(host.path(entry), ctx, { conversation: host.conversation, branch, ...(hidden ? { hidden } : {}) });
  };
  const ctxIdentity = (ctx: RenderContext) => ({
    provider: ctx.provider,
    model: ctx.model,
    rendererVersion: RENDERER_TABLE[ctx.provider].version,
    renderContextHash: renderContextHash(ctx),
  });
  const identityOf = (m: Manifest): HandleIdentity | undefined => {
    if (m.lastEntryId === null) return undefined;
    const id = checkpointIdentity(m, host.prefixHash(m.lastEntryId));
    if (!id) return undefined;
    const { tokens: _estimate, ...rest } = id;
    return rest;
  };
  const handleByKey = (key: string) => host.handles().find((h) => checkpointKey(h) === key);
  const leaseVersion = (key: string) => host.rebuildLease(key)?.version ?? 0;
  const checkpointName = (branch: string, ctx: RenderContext) =>
    `cx-${sha256Hex(`${host.conversation}\u0000${branch}\u0000${ctx.provider}\u0000${ctx.model}\u0000${renderContextHash(ctx)}`).slice(0, 32)}`;

  const record = (purpose: UsagePurpose, branch: string, ctx: RenderContext, m: Manifest | undefined, u: NormalizedUsage, det: Detection, extra: Partial<UsageInput> = {}): UsageInput => {
    const facts = factsOf(ctx.model);
    const usage: UsageInput = {
      provider: ctx.provider,
      model: ctx.model,
      branch,
      promptTokens: u.promptTokens,
      cachedTokens: u.cachedTokens,
      expectedCachedTokens: det.expected,
      cacheWriteTokens: u.cacheWriteTokens,
      outputTokens: u.outputTokens,
      ...(u.ttftMs !== null ? { ttftMs: u.ttftMs } : {}),
      totalMs: u.totalMs,
      renderContextHash: m?.renderContextHash ?? renderContextHash(ctx),
      ...(det.outcome === "miss" ? { miss: { segment: det.cause === "prefix-changed" ? "prefix" : "cache", reason: `${det.cause}: ${det.message}` } } : {}),
      purpose,
      ...(purpose === "rebuild" ? { rebuild: true } : {}),
      costUsd: costOf(u, facts.prices),
      ...extra,
    };
    host.recordUsage(usage);
    return usage;
  };

  /** After a request that left `m`'s prefix cached: the new warm handle (and a checkpoint on engines). */
  const settle = async (branch: string, ctx: RenderContext, m: Manifest, r: SendResult, origin: "observed" | "warmed" | "restored"): Promise<CheckpointHandle | undefined> => {
    const idn = identityOf(m);
    if (!idn) return undefined;
    const now = host.now();
    const key = checkpointKey(idn);
    const prev = handleByKey(key);
    const slot = slotOf(r);
    const route = slot !== undefined ? `slot:${slot}` : undefined;
    let saved: CheckpointHandle["saved"] | undefined;
    if (o.engine && slot !== undefined) {
      try {
        const s = await saveSlot(o.engine, slot, { filename: checkpointName(branch, ctx) });
        saved = { name: s.filename, tokens: s.tokens, at: now, ...(s.prefixHash ? { hash: s.prefixHash } : {}) };
      } catch (e) {
        // A failed checkpoint costs only the cheap rebuild later; the turn itself stands.
        emit({ type: "state-gone", branch, what: "checkpoint", message: `saving the slot failed: ${e instanceof Error ? e.message : String(e)}` });
      }
    }
    const facts = { now, ttlMs: ttlFor(ctx), tokens: r.usage.promptTokens, ...(route ? { route } : {}), ...(saved ? { saved } : {}) };
    const h = origin === "observed" ? observedHandle(idn, facts, prev) : rebuilt(prev ?? observedHandle(idn, facts), origin, facts);
    host.putHandle(h);
    const hashes = hashesTo(m.lastEntryId!);
    for (const k of supersededBy(host.handles(), h, hashes)) {
      const o2 = handleByKey(k);
      // An explicit cache is a resource of its own (it stays until it expires): keep its handle.
      if (o2 && o2.status === "warm" && !isExplicit(o2)) host.removeHandle(k);
    }
    return h;
  };

  const schedule = (st: BranchState, h: CheckpointHandle | undefined) => {
    st.wakeAt = undefined;
    // Nothing to keep warm: no expiry (engines), or pings that cannot extend it (no refresh on hit).
    if (!h || h.expiresAt === null || closed || !factsOf(st.ctx.model).cache.refreshOnHit) return;
    const at = h.expiresAt - marginFor(ttlFor(st.ctx));
    if (at > host.now()) st.wakeAt = at;
  };

  /** Send the prefix ending at `entry` again with the smallest output: a ping, a rebuild or a pre-warm. */
  const resend = async (branch: string, ctx: RenderContext, entry: EntryId, purpose: UsagePurpose, expectHandle: CheckpointHandle | undefined) => {
    const compiled = compileTo(entry, branch, ctx);
    const result = await transport.send({ compiled, model: ctx.model, stream: false, maxOutputTokens: warmOutputTokens(transport.provider, ctx.model) });
    const det = detect({ handle: expectHandle, promptTokens: result.usage.promptTokens, cachedTokens: result.usage.cachedTokens, now: host.now(), cache: factsOf(ctx.model).cache });
    emit({ type: "detected", branch, purpose, detection: det });
    const usage = record(purpose, branch, ctx, compiled.manifest, result.usage, det);
    return { compiled, result, det, usage };
  };

  /** Prefill a long prefix on an engine in chunks (each reuses the KV of the one before), reporting progress. */
  const prefillInChunks = async (branch: string, ctx: RenderContext, entry: EntryId, key: string, purpose: UsagePurpose = "rebuild") => {
    const path = host.path(entry);
    const full = compileTo(entry, branch, ctx);
    const total = full.manifest.totals.tokens;
    const per = o.chunkTokens ?? 2048;
    // Chunk ends at entry boundaries, every `per` tokens of the manifest's count (the same units as `total`).
    const ends: Array<{ id: EntryId; at: number }> = [];
    let acc = 0;
    for (const seg of full.manifest.segments) {
      acc += seg.tokens;
      const id = seg.entryIds?.[seg.entryIds.length - 1] ?? seg.entryId;
      if (id && acc >= per * (ends.length + 1) && id !== entry && path.some((e) => e.id === id)) ends.push({ id, at: acc });
    }
    for (const end of ends) {
      await transport.send({ compiled: compileTo(end.id, branch, ctx), model: ctx.model, stream: false, maxOutputTokens: 0 });
      emit({ type: "rebuild-progress", branch, key, done: Math.min(end.at, total), total });
    }
    return resend(branch, ctx, entry, purpose, undefined);
  };

  interface LeaseRun {
    readonly status: "done" | "held" | "stale-version" | "fenced" | "lease-expired";
    readonly current?: RebuildLease | null;
    readonly how?: RebuildHow;
    readonly tokens?: number;
  }

  /** Run `action` under the server-confirmed rebuild lease of `key`, asked against `seenVersion`. */
  const underLease = async (branch: string, key: string, seenVersion: number, h: CheckpointHandle | undefined, action: () => Promise<{ how: RebuildHow; tokens: number }>): Promise<LeaseRun> => {
    const got = await acquireLease(host.leases, { key, holder: host.device, seenVersion, ttlMs: leaseTtl, monotonic: mono });
    if (!got.granted) {
      emit({ type: "rebuild-skipped", branch, key, reason: got.reason });
      return { status: got.reason, current: got.current };
    }
    const lease = got.lease;
    if (h) host.putHandle(rebuilding(h, host.device, host.now() + leaseTtl));
    // The last check before anything is sent: a holder paused past its deadline does not rebuild.
    if (!withinDeadline(lease, mono)) {
      await endLease(host.leases, lease, "release").catch(() => undefined);
      emit({ type: "rebuild-skipped", branch, key, reason: "lease-expired" });
      return { status: "lease-expired" };
    }
    let out: { how: RebuildHow; tokens: number };
    try {
      out = await action();
    } catch (e) {
      await endLease(host.leases, lease, "release").catch(() => undefined);
      if (h) {
        const cur = handleByKey(key);
        if (cur?.status === "rebuilding") host.putHandle(lapsed(cur, { reason: "evicted", at: host.now(), message: `rebuild failed: ${e instanceof Error ? e.message : String(e)}` }));
      }
      throw e;
    }
    const end = await endLease(host.leases, lease, "complete").catch(() => undefined);
    if (end && !end.granted) emit({ type: "rebuild-skipped", branch, key, reason: "fenced" });
    return { status: "done", how: out.how, tokens: out.tokens };
  };

  /** Wait until the lease record of `key` moves past `version` (synced), or `ms` passes. */
  const leaseMoved = (key: string, version: number, ms: number) =>
    new Promise<void>((resolve) => {
      let off = () => {};
      const timer = setTimeout(() => {
        off();
        resolve();
      }, Math.max(0, ms));
      off = host.onCacheChange(() => {
        if (leaseVersion(key) > version) {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
      if (leaseVersion(key) > version) {
        clearTimeout(timer);
        off();
        resolve();
      }
    });

  /**
   * Make sure the prefix of `h` is in one of the engine's slots: probe; if it is gone, restore the saved
   * state (or prefill from the log when the state is gone too) under the lease; a device refused the
   * lease waits for the holder and probes again.
   */
  const ensureResident = async (branch: string, ctx: RenderContext, h0: CheckpointHandle, force = false): Promise<RebuildOutcome> => {
    const key = checkpointKey(h0);
    const deadline = mono() + waitFor;
    let known = leaseVersion(key);
    let waited = false;
    for (;;) {
      const seen = Math.max(known, leaseVersion(key));
      const h = handleByKey(key) ?? h0;
      const slots = await listSlots(o.engine!);
      const resident = h.saved?.hash !== undefined && slots.some((s) => s.prefixHash === h.saved!.hash);
      emit({ type: "probe", branch, resident, key });
      if (resident && !force) return { status: waited ? "waited" : "warm", key, tokens: h.tokens };
      if (!resident && h.status === "warm")
        host.putHandle(lapsed(h, { reason: "evicted", at: host.now(), expected: h.tokens, got: 0, message: "no engine slot holds the saved prefix (slot probe)" }));
      const run = await underLease(branch, key, seen, handleByKey(key) ?? h, () => restoreOrScratch(branch, ctx, handleByKey(key) ?? h));
      if (run.status === "done") return { status: "rebuilt", how: run.how!, key, tokens: run.tokens! };
      if (run.status === "lease-expired" || run.status === "fenced" || mono() > deadline) {
        emit({ type: "rebuild-skipped", branch, key, reason: "gave-up" });
        return { status: "skipped", key };
      }
      // Someone else rebuilds (or just did): wait for their record to move, then look again.
      force = false;
      waited = true;
      const cur = run.current;
      known = Math.max(known, cur?.version ?? 0);
      const waitMs = cur?.state === "held" ? Math.min(deadline - mono(), Math.max(0, cur.until - host.now()) + 35_000) : 0;
      if (waitMs > 0) await leaseMoved(key, known, waitMs);
      else await sleep(25);
    }
  };

  const restoreOrScratch = async (branch: string, ctx: RenderContext, h: CheckpointHandle): Promise<{ how: RebuildHow; tokens: number }> => {
    const key = checkpointKey(h);
    const t0 = host.now();
    if (h.saved) {
      emit({ type: "rebuild-start", branch, key, how: "restore", tokens: h.saved.tokens });
      try {
        const r = await restoreSlot(o.engine!, -1, { filename: h.saved.name });
        const ms = r.ms ?? host.now() - t0;
        const u: NormalizedUsage = { promptTokens: r.tokens, cachedTokens: r.tokens, cacheWriteTokens: 0, outputTokens: 0, ttftMs: null, totalMs: ms };
        record("rebuild", branch, ctx, undefined, u, { outcome: "hit", expected: r.tokens, got: r.tokens }, { entry: h.entry });
        const now = host.now();
        host.putHandle(rebuilt(h, "restored", { now, ttlMs: ttlFor(ctx), tokens: h.tokens, route: `slot:${r.slot}`, saved: { ...h.saved, ...(r.prefixHash ? { hash: r.prefixHash } : {}) } }));
        emit({ type: "rebuild-done", branch, key, how: "restore", tokens: r.tokens, ms });
        return { how: "restore", tokens: r.tokens };
      } catch (e) {
        if (!(isProviderError(e) && e.code === "state-gone")) throw e;
        emit({ type: "state-gone", branch, what: "engine-state", message: e.message });
      }
    }
    // Replay from scratch: the prefix from the log, prefilled (in chunks, for progress).
    emit({ type: "rebuild-start", branch, key, how: "scratch", tokens: h.tokens });
    const { compiled, result } = await prefillInChunks(branch, ctx, h.entry, key);
    await settle(branch, ctx, compiled.manifest, result, "warmed");
    emit({ type: "rebuild-done", branch, key, how: "scratch", tokens: result.usage.promptTokens, ms: host.now() - t0 });
    return { how: "scratch", tokens: result.usage.promptTokens };
  };

  /** Re-send a cold prefix (automatic caches), under the lease; others wait for the holder's handle. */
  const resendUnderLease = async (branch: string, ctx: RenderContext, entry: EntryId, purpose: "rebuild" | "prewarm", h: CheckpointHandle | undefined): Promise<RebuildOutcome> => {
    const key = h ? checkpointKey(h) : (() => {
      const idn = identityOf(compileTo(entry, branch, ctx).manifest);
      if (!idn) throw replayError("no-handle", "nothing to rebuild: the branch is empty");
      return checkpointKey(idn);
    })();
    const seen = leaseVersion(key);
    const t0 = host.now();
    const run = await underLease(branch, key, seen, h, async () => {
      emit({ type: "rebuild-start", branch, key, how: "resend", tokens: h?.tokens ?? 0 });
      const { compiled, result } = o.engine ? await prefillInChunks(branch, ctx, entry, key, purpose) : await resend(branch, ctx, entry, purpose, undefined);
      await settle(branch, ctx, compiled.manifest, result, "warmed");
      emit({ type: "rebuild-done", branch, key, how: "resend", tokens: result.usage.promptTokens, ms: host.now() - t0 });
      return { how: "resend", tokens: result.usage.promptTokens };
    });
    if (run.status === "done") {
      const st = stateOf(branch, ctx);
      st.key = key;
      return { status: "rebuilt", how: run.how!, key, tokens: run.tokens! };
    }
    if (run.status === "held" && run.current) {
      await leaseMoved(key, run.current.version, Math.min(waitFor, Math.max(0, run.current.until - host.now()) + 35_000));
      return { status: "waited", key };
    }
    return { status: "skipped", key };
  };

  /** Create an explicit cache (Gemini cachedContents) holding the prefix ending at `entry`. */
  const createExplicit = async (branch: string, ctx: RenderContext, entry: EntryId, key: string): Promise<{ how: RebuildHow; tokens: number }> => {
    const hidden = hiddenFor();
    const plan = geminiCachePlan(host.path(entry), ctx as RenderContext & { provider: "gemini" }, {
      conversation: host.conversation,
      branch,
      ttl: `${Math.round(explicitTtl / 1000)}s`,
      ...(hidden ? { hidden } : {}),
    });
    const t0 = host.now();
    emit({ type: "rebuild-start", branch, key, how: "scratch", tokens: 0 });
    const res = await explicitApi!.create({ body: plan.body });
    if (!res.name) throw replayError("rebuild-failed", "the provider created a cache without a name");
    const now = host.now();
    const expires = res.expireTime ? Date.parse(res.expireTime) : now + explicitTtl;
    const idn = identityOf(compileTo(entry, branch, ctx).manifest);
    if (!idn) throw replayError("no-handle", "nothing to cache: the prefix is empty");
    const prev = handleByKey(key);
    const tokens = prev?.tokens ?? 0;
    host.putHandle(rebuilt(prev ?? observedHandle(idn, { now, ttlMs: explicitTtl, tokens }), "warmed", { now, ttlMs: Math.max(1, expires - now), tokens, route: res.name }));
    record("rebuild", branch, ctx, undefined, { promptTokens: tokens, cachedTokens: 0, cacheWriteTokens: tokens, outputTokens: 0, ttftMs: null, totalMs: now - t0 }, { outcome: "cold", expected: 0, got: 0 }, { entry });
    emit({ type: "rebuild-done", branch, key, how: "scratch", tokens, ms: now - t0 });
    return { how: "scratch", tokens };
  };
  const explicitHandleOf = (h: CheckpointHandle): CacheHandle => ({ name: h.route!, upTo: h.entry, renderContextHash: h.renderContextHash, model: h.model });

  const branchPrefix = (branch: string, ctx: RenderContext) => {
    const head = host.head(branch);
    if (head === undefined) return undefined;
    const h = handleOnPath(host.handles(), ctxIdentity(ctx), hashesTo(head));
    return { head, h };
  };

  const replayer: Replayer = {
    gapModel,

    async beforeTurn(branch, ctx) {
      const st = stateOf(branch, ctx);
      st.wakeAt = undefined;
      const filter = goneResponses.size > 0 ? { hiddenFilter: dropGone } : {};
      if (explicitApi) {
        const head = host.head(branch);
        const h = head === undefined ? undefined : handleOnPath(host.handles(), ctxIdentity(ctx), hashesTo(head), (x) => isExplicit(x) && isLive(x, host.now()));
        return { ...filter, ...(h ? { cacheHandle: explicitHandleOf(h) } : {}) };
      }
      if (!o.engine) return filter;
      const p = branchPrefix(branch, ctx);
      if (!p?.h?.saved?.hash) return {};
      try {
        await ensureResident(branch, ctx, p.h);
      } catch (e) {
        // The turn goes ahead anyway: it rebuilds the prefix itself, at prefill cost.
        emit({ type: "state-gone", branch, what: "engine-state", message: `pre-turn restore failed: ${e instanceof Error ? e.message : String(e)}` });
      }
      return {};
    },

    async afterTurn(t) {
      const st = stateOf(t.branch, t.ctx);
      const now = host.now();
      const m = t.compiled.manifest;
      const facts = factsOf(t.ctx.model);
      if (st.lastRequestAt !== undefined && st.lastKind !== undefined) gapModel.observe(st.lastKind, Math.max(0, t.sentAt - st.lastRequestAt));
      let prev: CheckpointHandle | undefined;
      if (m.server?.cachedContent) {
        // Served from an explicit cache: that is the promise.
        prev = host.handles().find((x) => x.route === m.server!.cachedContent);
      } else if (m.lastEntryId !== null && !m.server) {
        // The handle the request extended (a retry of the same prefix counts too). Requests chained on a
        // stored response are left out: the provider holds their prefix, and reports on its own terms.
        prev = handleOnPath(host.handles(), ctxIdentity(t.ctx), hashesTo(m.lastEntryId), (x) => !isExplicit(x));
      }
      let explanation: { reason: string; message: string } | undefined;
      if (st.lastManifest && prev) {
        try {
          explanation = explain(st.lastManifest, m);
        } catch {
          explanation = undefined;
        }
      }
      const det = detect({ handle: prev, promptTokens: t.result.usage.promptTokens, cachedTokens: t.result.usage.cachedTokens, now, cache: facts.cache, ...(explanation ? { explanation } : {}) });
      emit({ type: "detected", branch: t.branch, purpose: "turn", detection: det });
      if (det.outcome === "miss" && prev && det.cause !== "prefix-changed")
        host.putHandle(lapsed(prev, { reason: det.cause, at: now, expected: det.expected, got: det.got, message: det.message }));
      const usage = record("turn", t.branch, t.ctx, m, t.result.usage, det, {
        ...(t.entry ? { entry: t.entry } : {}),
        ...(t.fromScratch ? { miss: { segment: "server", reason: `state-gone: ${t.fromScratch}` } } : {}),
      });
      const h = await settle(t.branch, t.ctx, m, t.result, "observed");
      st.lastRequestAt = now;
      st.lastTouchAt = now;
      st.lastKind = (t.result.entry.content.toolCalls?.length ?? 0) > 0 ? "tool" : "user";
      st.lastManifest = m;
      st.key = h ? checkpointKey(h) : undefined;
      schedule(st, h);
      return { detection: det, usage, ...(h ? { handle: h } : {}) };
    },

    async recover(err, t) {
      if (!(isProviderError(err) && err.code === "state-gone")) return undefined;
      const server = t.compiled.manifest.server;
      if (server?.previousResponseId) {
        goneResponses.add(server.previousResponseId);
        emit({ type: "state-gone", branch: t.branch, what: "previous-response", message: err.message });
        // Stateless from the log: every stored response id of this conversation is left out, so the
        // request carries the full input with the encrypted reasoning items, byte-exact from C/hidden.
        return { what: "previous-response", hiddenFilter: (b) => b.kind !== RESPONSE_KIND, cacheHandle: null };
      }
      if (server?.cachedContent) {
        emit({ type: "state-gone", branch: t.branch, what: "cached-content", message: err.message });
        const h = host.handles().find((x) => x.route === server.cachedContent);
        if (!h || !explicitApi) return { what: "cached-content", cacheHandle: null };
        const key = checkpointKey(h);
        const seen = leaseVersion(key);
        host.putHandle(lapsed(h, { reason: "state-gone", at: host.now(), message: err.message }));
        // Re-create it (one device does, under the lease); the others wait for its handle.
        const run = await underLease(t.branch, key, seen, handleByKey(key), () => createExplicit(t.branch, t.ctx, h.entry, key));
        if (run.status === "held" && run.current) await leaseMoved(key, run.current.version, Math.min(waitFor, Math.max(0, run.current.until - host.now()) + 35_000));
        const fresh = handleByKey(key);
        return { what: "cached-content", cacheHandle: fresh && isExplicit(fresh) && isLive(fresh, host.now()) && fresh.route !== server.cachedContent ? explicitHandleOf(fresh) : null };
      }
      emit({ type: "state-gone", branch: t.branch, what: "engine-state", message: err.message });
      return { what: "engine-state", cacheHandle: null };
    },

    async prewarm(branch, ctx) {
      try {
        const p = branchPrefix(branch, ctx);
        if (!p) return { status: "skipped" };
        if (o.engine && p.h?.saved?.hash) return await ensureResident(branch, ctx, p.h);
        if (p.h && isLive(p.h, host.now())) return { status: "warm", key: checkpointKey(p.h), tokens: p.h.tokens };
        return await resendUnderLease(branch, ctx, p.h?.entry ?? p.head, "prewarm", p.h);
      } catch (e) {
        throw toReplayError(e, "rebuild-failed");
      }
    },

    async rebuild(branch, ctx, opts = {}) {
      try {
        const p = branchPrefix(branch, ctx);
        if (!p) throw replayError("no-handle", `branch ${branch} is empty or unknown`);
        if (explicitApi) {
          const live = p.h && isExplicit(p.h) && isLive(p.h, host.now());
          if (live && !opts.force) return { status: "warm", key: checkpointKey(p.h!), tokens: p.h!.tokens };
          const entry = p.h?.entry ?? p.head;
          const idn = identityOf(compileTo(entry, branch, ctx).manifest);
          if (!idn) throw replayError("no-handle", "nothing to cache: the branch is empty");
          const key = checkpointKey(idn);
          const run = await underLease(branch, key, leaseVersion(key), handleByKey(key), () => createExplicit(branch, ctx, entry, key));
          return run.status === "done" ? { status: "rebuilt", how: run.how!, key, tokens: run.tokens! } : { status: "skipped", key };
        }
        if (o.engine && p.h?.saved) return await ensureResident(branch, ctx, p.h, opts.force ?? false);
        if (!opts.force && p.h && isLive(p.h, host.now()) && !o.engine) return { status: "warm", key: checkpointKey(p.h), tokens: p.h.tokens };
        return await resendUnderLease(branch, ctx, p.h?.entry ?? p.head, "rebuild", p.h);
      } catch (e) {
        throw toReplayError(e, "rebuild-failed");
      }
    },

    nextWakeAt() {
      let at: number | undefined;
      for (const s of branches.values()) if (s.wakeAt !== undefined && (at === undefined || s.wakeAt < at)) at = s.wakeAt;
      return at;
    },

    async wake() {
      const now = host.now();
      for (const [branch, st] of branches) {
        if (closed || st.wakeAt === undefined || st.wakeAt > now) continue;
        st.wakeAt = undefined;
        const h = st.key ? handleByKey(st.key) : undefined;
        if (!h || h.status !== "warm" || st.lastRequestAt === undefined || st.lastKind === undefined || h.expiresAt === null) continue;
        // Another device used the prefix since our last request: it drives the branch now, and keeps it warm.
        if (h.lastUsedAt > (st.lastTouchAt ?? st.lastRequestAt) + 1) continue;
        const facts = factsOf(st.ctx.model);
        const ttl = ttlFor(st.ctx);
        const margin = marginFor(ttl);
        const econ = pingEconomics(facts, h.tokens, { ...(ttlClass(st.ctx) !== undefined ? { ttlClass: ttlClass(st.ctx)! } : {}) });
        const lastRequestAt = st.lastRequestAt;
        const kind = st.lastKind;
        const keep = policy({
          branch,
          kind,
          lastRequestAt,
          lapseAtMs: h.expiresAt - lastRequestAt,
          economics: { ...econ, windowMs: Math.max(1, econ.windowMs - margin) },
          survival: (ms) => gapModel.survival(kind, ms),
        });
        if (!keep) {
          emit({ type: "keep-warm-stop", branch, key: st.key!, idleMs: now - lastRequestAt });
          continue;
        }
        try {
          const { det, usage } = await resend(branch, st.ctx, h.entry, "warmup", h);
          emit({ type: "warmup", branch, key: st.key!, cachedTokens: det.got, expected: det.expected, costUsd: usage.costUsd ?? 0 });
          const cur = handleByKey(st.key!) ?? h;
          st.lastTouchAt = host.now();
          const next = touched(cur, st.lastTouchAt, ttl, facts.cache.refreshOnHit);
          host.putHandle(det.outcome === "miss" ? { ...next, cause: { reason: det.cause, at: host.now(), expected: det.expected, got: det.got, message: `before a keep-warm ping: ${det.message}` } } : next);
          schedule(st, next);
        } catch (e) {
          emit({ type: "state-gone", branch, what: "warmup", message: e instanceof Error ? e.message : String(e) });
        }
      }
    },

    close() {
      closed = true;
      for (const s of branches.values()) s.wakeAt = undefined;
    },
  };
  return replayer;
};

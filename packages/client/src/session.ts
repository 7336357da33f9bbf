import { Awareness } from "y-protocols/awareness";
import * as Y from "yjs";
import {
  LOCAL_ORIGIN,
  docNames,
  isConversationId,
  MAIN,
  newDeviceId,
  RECONCILER,
  openCache,
  openHidden,
  openLog,
  reconcile,
  SYSTEM_PROMPT_INFO,
  type AssistantContent,
  type Branch,
  type BranchName,
  type CacheState,
  type CheckpointHandle,
  type ConversationLog,
  type Entry,
  type EntryId,
  type EntryInput,
  type HiddenBlob,
  type HiddenState,
  type JsonObject,
  type JsonValue,
  type LogChange,
  type Note,
  type UsageRecord,
} from "@ctxsync/core";
import { compile as compileTranscript, isCompileError, type CompileOptions, type CompileResult, type RenderContext, type RendererId, type RequestByRenderer } from "@ctxsync/compile";
import { canWrite, syncError, type Scope, type SyncError } from "@ctxsync/protocol";
import { connectDoc, type DocConnection, type WebSocketLike } from "./connection.js";
import { toClientError } from "./errors.js";
import { createEmitter } from "./emitter.js";
import { describeHolder, leaseHolder, peersOf, type Peer, type PresenceState } from "./presence.js";
import { persistDoc, type CompactionPolicy, type Persistence } from "./storage/persist.js";
import type { ClientStorage } from "./storage/types.js";
import { tokenScopes } from "./token.js";

export type SyncStatus = "offline" | "connecting" | "synced";

export interface SessionOptions {
  readonly conversation: string;
  /** Where to keep the documents; required (memoryStorage() for an ephemeral session). */
  readonly storage: ClientStorage;
  /** Sync endpoint, e.g. `ws://localhost:8787/sync`. Without it the session is local only. */
  readonly url?: string;
  readonly token?: string;
  /** Stable id of this device (default: a random one per session). */
  readonly device?: string;
  readonly user?: string;
  /** Branch to start on (default `main`). */
  readonly branch?: string;
  /** Scopes to assume (default: read from the token; all when there is no token). */
  readonly scopes?: readonly Scope[];
  /** WebSocket constructor (default: globalThis.WebSocket; `@ctxsync/client/node` passes `ws`). */
  readonly WebSocket?: WebSocketLike;
  /** Drive leases last this long unless renewed (default 15 s; renewed every third of it). */
  readonly leaseTtlMs?: number;
  /** How long `drive()` waits for competing claims before deciding (default 400 ms). */
  readonly leaseSettleMs?: number;
  readonly compaction?: CompactionPolicy;
  readonly maxBackoffMs?: number;
  readonly now?: () => number;
}

export interface AppendOpts {
  /** Append to this branch instead of the session's current one. */
  readonly branch?: string;
  readonly time?: number;
}
export interface AssistantOpts extends AppendOpts {
  readonly provider?: string;
  readonly model?: string;
}

export type SessionChange =
  | LogChange
  | { readonly type: "cache"; readonly local: boolean }
  | { readonly type: "hidden"; readonly local: boolean };

export interface BranchSwitch {
  readonly from: string;
  readonly to: string;
  /** `switch`: asked for; `concurrent-continuation`: another device continued the same head, ours became a fork. */
  readonly reason: "switch" | "fork" | "concurrent-continuation";
}

export type LeaseEvent =
  | { readonly type: "acquired"; readonly branch: string }
  | { readonly type: "released"; readonly branch: string }
  | { readonly type: "lost"; readonly branch: string; readonly holder?: Peer };

export interface SessionEvents {
  change: SessionChange;
  status: SyncStatus;
  error: SyncError;
  presence: readonly Peer[];
  branch: BranchSwitch;
  lease: LeaseEvent;
}

export interface Lease {
  readonly branch: string;
  readonly device: string;
  release(): void;
}

export interface SessionCompileOptions extends Omit<CompileOptions, "hidden" | "conversation" | "branch"> {
  readonly branch?: string;
}

export interface BranchInfo extends Branch {
  readonly name: BranchName;
}

/** A conversation as an agent loop sees it: turns in, transcripts out, no Yjs in sight. */
export interface Session {
  readonly conversation: string;
  readonly device: string;
  /** The branch appends go to. */
  readonly branch: string;
  readonly status: SyncStatus;
  readonly scopes: readonly Scope[];
  /** Whether C/hidden is open (the token has the `hidden` scope). */
  readonly hasHidden: boolean;

  appendUser(text: string, opts?: AppendOpts): Promise<Entry>;
  appendAssistant(content: AssistantContent | string, opts?: AssistantOpts): Promise<Entry>;
  appendToolResult(callId: string, text: string, opts?: AppendOpts & { isError?: boolean }): Promise<Entry>;
  appendConfig(changes: JsonObject, opts?: AppendOpts): Promise<Entry>;
  /** Append several entries in order as one update (an assistant turn and its tool results). */
  appendTurn(inputs: readonly EntryInput[], opts?: AssistantOpts): Promise<Entry[]>;

  transcript(branch?: string): Entry[];
  entry(id: string): Entry | undefined;
  children(id: string): readonly EntryId[];
  branches(): BranchInfo[];
  /** Create a branch whose head is `at` (default name `fork/<at>`); switches to it unless `switchTo: false`. */
  fork(at: string, opts?: { name?: string; switchTo?: boolean }): Promise<BranchName>;
  switchBranch(name: string): void;
  info(key: string): JsonValue | undefined;
  /** Set a conversation-level fact once (title, the system prompt of an imported trace...). */
  setInfo(key: string, value: JsonValue): Promise<void>;
  /** Debugging note on an entry (never rendered into a prompt). */
  addNote(entry: string, text: string): Promise<Note>;
  notes(entry?: string): Note[];

  /**
   * Compile a branch (default: the current one) into a provider request plus its manifest, with
   * this conversation's hidden blobs. Without `system`, the conversation's imported system prompt is used.
   */
  compile<P extends RendererId>(ctx: RenderContext & { readonly provider: P }, opts?: SessionCompileOptions): CompileResult<RequestByRenderer[P]>;
  attachHidden(entry: string, blob: Omit<HiddenBlob, "id" | "entry" | "order" | "time"> & { order?: number }): Promise<HiddenBlob>;
  hiddenBlobs(entry: string): HiddenBlob[];
  recordUsage(r: Omit<UsageRecord, "id" | "device" | "time"> & { time?: number }): Promise<UsageRecord>;
  usage(): UsageRecord[];
  putCheckpoint(h: CheckpointHandle): Promise<string>;
  checkpoints(): CheckpointHandle[];

  /** Take the drive lease on a branch (default: the current one). Throws SyncError `conflict` naming the holder. */
  drive(branch?: string): Promise<Lease>;
  /** Who drives `branch` now (undefined: nobody). */
  driver(branch?: string): Peer | undefined;
  view(entry: string | null): void;
  /** Publish partial output (streaming text, tool progress) to other devices; null clears it. */
  streamPartial(partial: JsonValue | null): void;
  peers(): Peer[];

  on<K extends keyof SessionEvents>(event: K, listener: (v: SessionEvents[K]) => void): () => void;
  /** Resolves once every write so far is durable in local storage. */
  flush(): Promise<void>;
  /** Resolves when connected, up to date, and the server has processed everything sent so far. */
  whenSynced(timeoutMs?: number): Promise<void>;
  /** Compact local storage now (it is also compacted automatically). */
  compact(): Promise<void>;
  /** Stop syncing (writes go on locally); `connect()` resumes. */
  disconnect(): void;
  /** Resume syncing, also after the server refused the session; pass a new token after `token-expired`. */
  connect(token?: string): void;
  close(): Promise<void>;
}

const ALL_SCOPES: readonly Scope[] = ["read", "append", "hidden", "admin"];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const openSession = async (o: SessionOptions): Promise<Session> => {
  if (!isConversationId(o.conversation))
    throw syncError("bad-request", `invalid conversation id ${JSON.stringify(o.conversation)} (letters, digits, _ . : -; no /)`);
  const now = o.now ?? Date.now;
  const device = o.device ?? newDeviceId();
  const scopes: readonly Scope[] = o.scopes ?? (o.token ? (tokenScopes(o.token) ?? ["read"]) : ALL_SCOPES);
  const withHidden = scopes.includes("hidden");
  const names = docNames(o.conversation as never);
  const ttl = o.leaseTtlMs ?? 15_000;
  const settle = o.leaseSettleMs ?? 400;
  const WS = o.WebSocket ?? (globalThis as { WebSocket?: WebSocketLike }).WebSocket;
  if (o.url !== undefined && WS === undefined)
    throw syncError("bad-request", "no WebSocket implementation: pass `WebSocket` (e.g. from 'ws') or import openSession from '@ctxsync/client/node'");

  const events = createEmitter<SessionEvents>();
  const emitError = (e: SyncError) => events.emit("error", e);

  // Local state first: everything works offline.
  const docs = { log: new Y.Doc(), cache: new Y.Doc(), hidden: withHidden ? new Y.Doc() : undefined };
  const persisted: Persistence[] = [];
  for (const [kind, doc] of Object.entries(docs) as Array<[keyof typeof docs, Y.Doc | undefined]>) {
    if (doc) persisted.push(await persistDoc(doc, names[kind], o.storage, o.compaction, emitError));
  }
  const log: ConversationLog = openLog(docs.log, { device: device as never, now });
  const cache: CacheState = openCache(docs.cache);
  const hidden: HiddenState | undefined = docs.hidden ? openHidden(docs.hidden) : undefined;
  reconcile(log);

  let current = o.branch ?? MAIN;
  /** The last entry this session appended per branch: to notice when another device's continuation won the branch. */
  const myHeads = new Map<string, EntryId>();
  let closed = false;
  let fatal: SyncError | undefined;

  // ---- sync ----
  const connections: DocConnection[] = [];
  let status: SyncStatus = "offline";
  const computeStatus = (): SyncStatus => {
    if (connections.length === 0) return "offline";
    if (connections.every((c) => c.synced)) return "synced";
    if (connections.some((c) => c.stopped || (c.state !== "connected" && c.failing))) return "offline";
    return "connecting";
  };
  // ---- presence ----
  const awareness = new Awareness(docs.log);
  const selfId = awareness.clientID;
  awareness.setLocalState({ device, ...(o.user ? { user: o.user } : {}) } satisfies PresenceState);
  const local = (): PresenceState => (awareness.getLocalState() ?? { device }) as PresenceState;
  const setLocal = (patch: Partial<PresenceState>) => {
    const next: Record<string, unknown> = { ...local(), ...patch };
    for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k];
    awareness.setLocalState(next);
  };
  const peers = () => peersOf(awareness.getStates(), selfId);

  let held: { branch: string; timer: ReturnType<typeof setInterval> } | undefined;
  const dropLease = (ev: LeaseEvent) => {
    if (!held) return;
    clearInterval(held.timer);
    held = undefined;
    setLocal({ drives: undefined });
    events.emit("lease", ev);
  };
  awareness.on("change", () => {
    events.emit("presence", peers());
    if (held) {
      const holder = leaseHolder(peers(), held.branch, now());
      if (holder && !holder.self) dropLease({ type: "lost", branch: held.branch, holder });
    }
  });
  /** A holder that went offline lost the lease (others saw it go); it claims afresh when back. */
  let reclaiming: string | undefined;
  const onStatus = () => {
    if (held && status === "offline") {
      const branch = held.branch;
      dropLease({ type: "lost", branch });
      reclaiming = branch;
    } else if (reclaiming !== undefined && status === "synced") {
      const branch = reclaiming;
      reclaiming = undefined;
      session.drive(branch).catch((e: unknown) => {
        const holder = toClientError(e).details?.holder as Peer | undefined;
        events.emit("lease", { type: "lost", branch, ...(holder ? { holder } : {}) });
      });
    }
  };

  // ---- changes, reconciliation, branch following ----
  let reconcileQueued = false;
  const afterRemote = () => {
    reconcileQueued = false;
    if (closed) return;
    // Connected, the server reconciles and its fork branches arrive like any change. It also keeps what it
    // held: a write of ours that lost there is corrected a moment later, so forking locally in between
    // could fork the very leaf that is about to win (a spurious branch). Offline, nothing new arrives.
    if (connections.length === 0) reconcile(log);
    const mine = myHeads.get(current);
    const b = log.branch(current);
    if (mine && b && !log.isAncestorOrSelf(mine, b.head)) {
      // Another device's continuation won `current`; ours lives on in the branch whose head descends from ours.
      // Prefer the reconciler's branch for our leaf over a fork someone else made from our line.
      const candidates = [...log.branches()].filter(([, x]) => log.isAncestorOrSelf(mine, x.head));
      const ours = candidates.find(([, x]) => x.createdBy === RECONCILER) ?? candidates[0];
      if (ours) {
        const from = current;
        current = ours[0];
        myHeads.set(current, mine);
        events.emit("branch", { from, to: current, reason: "concurrent-continuation" });
      }
    }
  };
  log.onChange((c) => {
    events.emit("change", c);
    if (!c.local && (c.type === "entries" || c.type === "branches") && !reconcileQueued) {
      reconcileQueued = true;
      queueMicrotask(afterRemote);
    }
  });
  docs.cache.on("update", (_u: Uint8Array, origin: unknown) => events.emit("change", { type: "cache", local: origin === LOCAL_ORIGIN }));
  docs.hidden?.on("update", (_u: Uint8Array, origin: unknown) => events.emit("change", { type: "hidden", local: origin === LOCAL_ORIGIN }));

  // ---- writes ----
  const flush = async () => {
    for (const p of persisted) await p.flush();
  };
  const assertOpen = () => {
    if (closed) throw syncError("bad-request", "the session is closed");
    if (fatal) throw fatal;
  };
  const assertCanWrite = (kind: "log" | "cache" | "hidden") => {
    assertOpen();
    if (kind === "hidden" && !hidden) throw syncError("forbidden", "this session has no access to hidden blobs (the token lacks the `hidden` scope)");
    if (!canWrite(scopes, kind)) {
      const what = kind === "log" ? "the conversation" : `C/${kind}`;
      throw syncError("forbidden", `the token does not allow writing ${what} (needs the ${kind === "hidden" ? "hidden and append scopes" : "append scope"})`);
    }
  };
  const assertDriver = (branch: string) => {
    const holder = leaseHolder(peers(), branch, now());
    if (holder && !holder.self)
      throw syncError("conflict", `branch ${branch} is driven by ${describeHolder(holder)}: hand the input to the driver or fork`, { holder });
  };
  const write = async <T>(kind: "log" | "cache" | "hidden", fn: () => T): Promise<T> => {
    assertCanWrite(kind);
    let out: T;
    try {
      out = fn();
    } catch (e) {
      throw toClientError(e);
    }
    await flush();
    return out;
  };
  const appendEntries = (inputs: readonly EntryInput[], opts: AssistantOpts = {}): Promise<Entry[]> => {
    const branch = opts.branch ?? current;
    return write("log", () => {
      assertDriver(branch);
      const made = log.appendMany(branch, inputs, {
        ...(opts.time !== undefined ? { time: opts.time } : {}),
        ...(opts.provider !== undefined ? { provider: opts.provider } : {}),
        ...(opts.model !== undefined ? { model: opts.model } : {}),
      });
      if (made.length > 0) myHeads.set(branch, made[made.length - 1]!.id);
      if (inputs.some((i) => i.kind === "assistant") && local().partial !== undefined) setLocal({ partial: undefined });
      return made;
    });
  };
  const one = async (input: EntryInput, opts?: AssistantOpts) => (await appendEntries([input], opts))[0]!;
  const branchOrThrow = (name: string) => {
    const b = log.branch(name);
    if (!b) throw syncError("not-found", `no branch ${JSON.stringify(name)} in conversation ${o.conversation}`);
    return b;
  };

  const session: Session = {
    conversation: o.conversation,
    device,
    get branch() {
      return current;
    },
    get status() {
      return status;
    },
    scopes,
    hasHidden: hidden !== undefined,

    appendUser: (text, opts) => one({ kind: "user", content: { text } }, opts),
    appendAssistant: (content, opts) => one({ kind: "assistant", content: typeof content === "string" ? { text: content } : content }, opts),
    appendToolResult: (callId, text, opts) =>
      one({ kind: "tool_result", content: { callId, text, ...(opts?.isError ? { isError: true } : {}) } }, opts),
    appendConfig: (changes, opts) => one({ kind: "config", content: { changes } }, opts),
    appendTurn: (inputs, opts) => appendEntries(inputs, opts),

    transcript(branch = current) {
      if (branch === current && !log.branch(branch)) return [];
      branchOrThrow(branch);
      return log.transcript(branch);
    },
    entry: (id) => log.get(id as EntryId),
    children: (id) => log.children(id as EntryId),
    branches: () => [...log.branches()].map(([name, b]) => ({ name, ...b })).sort((a, b) => (a.name < b.name ? -1 : 1)),
    async fork(at, opts = {}) {
      const name = await write("log", () => log.fork(at as EntryId, opts.name));
      if (opts.switchTo !== false && name !== current) {
        const from = current;
        current = name;
        events.emit("branch", { from, to: name, reason: "fork" });
      }
      return name;
    },
    switchBranch(name) {
      assertOpen();
      branchOrThrow(name);
      if (name === current) return;
      const from = current;
      current = name;
      events.emit("branch", { from, to: name, reason: "switch" });
    },
    info: (key) => log.info(key),
    setInfo: (key, value) => write("log", () => log.setInfo(key, value)),
    addNote: (entry, text) => write("log", () => log.addNote(entry as EntryId, text, o.user ?? device)),
    notes: (entry) => log.notes(entry as EntryId | undefined),

    compile(ctx, opts = {}) {
      const { branch = current, ...rest } = opts;
      const system = ctx.system ?? log.info(SYSTEM_PROMPT_INFO);
      try {
        return compileTranscript(session.transcript(branch), { ...ctx, ...(typeof system === "string" ? { system } : {}) }, {
          ...rest,
          conversation: o.conversation,
          branch,
          ...(hidden ? { hidden: (id: EntryId) => hidden.blobs(id) } : {}),
        });
      } catch (e) {
        if (isCompileError(e)) throw syncError("bad-request", e.message, { compileCode: e.code });
        throw toClientError(e);
      }
    },
    attachHidden: (entry, blob) =>
      write("hidden", () => {
        if (!log.get(entry as EntryId)) throw syncError("not-found", `no entry ${entry} to attach a hidden blob to`);
        return hidden!.attach({ ...blob, entry: entry as EntryId });
      }),
    hiddenBlobs: (entry) => hidden?.blobs(entry as EntryId) ?? [],
    recordUsage: (r) => write("cache", () => cache.recordUsage({ ...r, device, time: r.time ?? now() })),
    usage: () => cache.usage(),
    putCheckpoint: (h) => write("cache", () => cache.putHandle(h)),
    checkpoints: () => cache.handles(),

    async drive(branch = current) {
      assertCanWrite("log");
      if (held?.branch === branch) return lease(branch);
      if (held) dropLease({ type: "released", branch: held.branch });
      // Just opened and still connecting: give the others' presence a moment to arrive first.
      for (const end = now() + 2_000; status === "connecting" && now() < end; ) await sleep(25);
      const existing = leaseHolder(peers(), branch, now());
      if (existing && !existing.self)
        throw syncError("conflict", `branch ${branch} is driven by ${describeHolder(existing)}`, { holder: existing });
      const claimedAt = now();
      setLocal({ drives: { branch, claimedAt, until: claimedAt + ttl } });
      // Let competing claims arrive; then every device applies the same tie-break.
      if (connections.length > 0) await sleep(settle);
      const winner = leaseHolder(peers(), branch, now());
      if (!winner?.self) {
        if (local().drives?.claimedAt === claimedAt) setLocal({ drives: undefined });
        throw syncError("conflict", `branch ${branch} is driven by ${winner ? describeHolder(winner) : "another device"}`, winner ? { holder: winner } : {});
      }
      const timer = setInterval(() => {
        const d = local().drives;
        if (d) setLocal({ drives: { ...d, until: now() + ttl } });
      }, Math.max(50, Math.floor(ttl / 3)));
      held = { branch, timer };
      events.emit("lease", { type: "acquired", branch });
      return lease(branch);
    },
    driver: (branch = current) => leaseHolder(peers(), branch, now()),
    view: (entry) => setLocal({ viewing: { entry, branch: current } }),
    streamPartial: (partial) => setLocal({ partial: partial ?? undefined }),
    peers: () => peers().filter((p) => !p.self),

    on: (event, listener) => events.on(event, listener),
    flush,
    async whenSynced(timeoutMs = 30_000) {
      if (connections.length === 0) throw syncError("bad-request", "this session has no sync url");
      const deadline = now() + timeoutMs;
      const timeout = (what: string) =>
        syncError("internal", `not synced after ${timeoutMs} ms (${what}; status ${status})`, { status });
      while (status !== "synced") {
        if (fatal) throw fatal;
        if (now() > deadline) throw timeout("waiting for the connection");
        await sleep(25);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.max(0, deadline - now()))));
      const ok = await Promise.race([Promise.all(connections.map((c) => c.roundTrip())).then(() => true), expired]);
      clearTimeout(timer);
      if (!ok) throw timeout("waiting for the server's reply");
      if (fatal) throw fatal;
    },
    compact: async () => {
      for (const p of persisted) await p.compact();
    },
    disconnect: () => connections.forEach((c) => c.disconnect()),
    connect: (token) => {
      fatal = undefined;
      connections.forEach((c) => c.reconnect(token));
    },
    async close() {
      if (closed) return;
      if (held) dropLease({ type: "released", branch: held.branch });
      closed = true;
      try {
        await flush();
      } finally {
        awareness.setLocalState(null);
        for (const c of connections) c.destroy();
        if (status !== "offline") events.emit("status", (status = "offline"));
        awareness.destroy();
        for (const p of persisted) p.destroy();
        log.destroy();
        events.clear();
      }
    },
  };
  const onConnChange = () => {
    if (closed) return;
    const next = computeStatus();
    if (next !== status) {
      status = next;
      events.emit("status", status);
      onStatus();
    }
  };
  const onConnError = (e: SyncError) => {
    if (!fatal && connections.some((c) => c.stopped === e)) fatal = e;
    emitError(e);
  };
  if (o.url !== undefined) {
    const common = { url: o.url, WebSocket: WS!, onChange: onConnChange, onError: onConnError, ...(o.token ? { token: o.token } : {}), ...(o.maxBackoffMs !== undefined ? { maxBackoffMs: o.maxBackoffMs } : {}) };
    connections.push(connectDoc({ ...common, room: names.log, doc: docs.log, awareness }));
    connections.push(connectDoc({ ...common, room: names.cache, doc: docs.cache }));
    if (docs.hidden) connections.push(connectDoc({ ...common, room: names.hidden, doc: docs.hidden }));
  }
  const lease = (branch: string): Lease => ({ branch, device, release: () => held?.branch === branch && dropLease({ type: "released", branch }) });
  return session;
};

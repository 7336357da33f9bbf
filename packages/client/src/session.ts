import { Awareness } from "y-protocols/awareness";
import * as Y from "yjs";
import {
  asDeviceId,
  HIDDEN_ROOTS,
  insertedValues,
  isConversationId,
  isEntryId,
  LOCAL_ORIGIN,
  MAIN,
  newDeviceId,
  openCache,
  openHidden,
  openLog,
  reconcile,
  SYSTEM_PROMPT_INFO,
  type CacheState,
  type ConversationLog,
  type Entry,
  type EntryId,
  type EntryInput,
  type HiddenBlob,
  type HiddenState,
} from "@ctxsync/core";
import { compile as compileTranscript, createRenderCache, isCompileError } from "@ctxsync/compile";
import { asSyncError, docNames, syncError, tokenScopes, type Scope, type SyncError } from "@ctxsync/protocol";
import { branchCarrying } from "./branch-following.js";
import { connectDoc, type DocConnection, type WebSocketLike } from "./connection.js";
import { createEmitter } from "./emitter.js";
import { createLeaseKeeper } from "./lease.js";
import { createLocalPresence } from "./local-presence.js";
import type { PresenceState } from "./presence.js";
import type { AssistantOpts, Session, SessionEvents, SessionOptions, SyncStatus } from "./session-types.js";
import { persistDoc, type Persistence } from "./storage/persist.js";
import { syncStatusOf } from "./sync-status.js";
import { createTurns } from "./turns.js";
import { createWriteGuard } from "./writes.js";

const ALL_SCOPES: readonly Scope[] = ["read", "append", "hidden", "admin"];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** An entry id given to the API as a string: parsed, never cast (a bad one is a bad request). */
const entryIdOf = (id: string): EntryId => {
  if (!isEntryId(id)) throw syncError("bad-request", `invalid entry id ${JSON.stringify(id)}`);
  return id;
};

export const openSession = async (o: SessionOptions): Promise<Session> => {
  const conversation = o.conversation;
  if (!isConversationId(conversation))
    throw syncError("bad-request", `invalid conversation id ${JSON.stringify(conversation)} (letters, digits, _ . : -; no /)`);
  const now = o.now ?? Date.now;
  const device = o.device ?? newDeviceId();
  const scopes: readonly Scope[] = o.scopes ?? (o.token ? (tokenScopes(o.token) ?? ["read"]) : ALL_SCOPES);
  const withHidden = scopes.includes("hidden");
  const names = docNames(conversation);
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
  const log: ConversationLog = openLog(docs.log, { device: asDeviceId(device), now });
  const cache: CacheState = openCache(docs.cache);
  const hidden: HiddenState | undefined = docs.hidden ? openHidden(docs.hidden) : undefined;
  // Compiles of a branch are memoized (a request after an append renders only the last turns); a blob
  // that arrives for an entry compiled before (C/hidden synced after C) makes it render that history again.
  const renderCache = createRenderCache();
  const hiddenLookup = hidden ? (id: EntryId) => hidden.blobs(id) : undefined;
  if (docs.hidden) {
    const yBlobs = docs.hidden.getArray<HiddenBlob>(HIDDEN_ROOTS.blobs);
    yBlobs.observe((_, tr) => renderCache.invalidate(insertedValues(tr, yBlobs).map((b) => b.entry)));
  }
  reconcile(log);

  let current = o.branch ?? MAIN;
  /** The last entry this session appended per branch: to notice when another device's continuation won the branch. */
  const myHeads = new Map<string, EntryId>();
  let closed = false;
  let fatal: SyncError | undefined;

  // ---- sync ----
  const connections: DocConnection[] = [];
  let status: SyncStatus = "offline";

  // ---- presence and the drive lease ----
  const awareness = new Awareness(docs.log);
  const presence = createLocalPresence(awareness, { device, ...(o.user ? { user: o.user } : {}) } satisfies PresenceState);
  const leases = createLeaseKeeper({
    presence,
    device,
    now,
    ttlMs: o.leaseTtlMs ?? 15_000,
    settleMs: o.leaseSettleMs ?? 400,
    status: () => status,
    syncing: () => connections.length > 0,
    emit: (ev) => events.emit("lease", ev),
    reclaim: (branch) => session.drive(branch),
  });
  awareness.on("change", () => {
    events.emit("presence", presence.peers());
    leases.presenceChanged();
  });

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
    const ours = branchCarrying(log, current, mine);
    if (ours !== undefined && mine !== undefined) {
      const from = current;
      current = ours;
      myHeads.set(current, mine);
      events.emit("branch", { from, to: current, reason: "concurrent-continuation" });
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
  const guard = createWriteGuard({ scopes, hasHidden: hidden !== undefined, closed: () => closed, fatal: () => fatal, flush });
  const { write } = guard;
  const appendEntries = (inputs: readonly EntryInput[], opts: AssistantOpts = {}): Promise<Entry[]> => {
    const branch = opts.branch ?? current;
    return write("log", () => {
      leases.assertDriver(branch);
      const made = log.appendMany(branch, inputs, {
        ...(opts.time !== undefined ? { time: opts.time } : {}),
        ...(opts.provider !== undefined ? { provider: opts.provider } : {}),
        ...(opts.model !== undefined ? { model: opts.model } : {}),
      });
      if (made.length > 0) myHeads.set(branch, made[made.length - 1]!.id);
      if (inputs.some((i) => i.kind === "assistant") && presence.state().partial !== undefined) presence.set({ partial: undefined });
      return made;
    });
  };
  const one = async (input: EntryInput, opts?: AssistantOpts) => (await appendEntries([input], opts))[0]!;
  const branchOrThrow = (name: string) => {
    const b = log.branch(name);
    if (!b) throw syncError("not-found", `no branch ${JSON.stringify(name)} in conversation ${conversation}`);
    return b;
  };

  // Model turns and replay (turns.ts): the session hands over its documents and write path.
  const turns = createTurns({
    conversation,
    device,
    now,
    log,
    cache,
    hidden,
    ...(o.url !== undefined ? { url: o.url } : {}),
    ...(o.token !== undefined ? { token: o.token } : {}),
    ...(o.transport ? { transport: o.transport } : {}),
    ...(o.replay ? { options: o.replay } : {}),
    writeCache: (fn) => write("cache", fn),
    emitError,
    currentBranch: () => current,
    compile: (ctx, opts) => session.compile(ctx, opts),
    appendTurn: (inputs, opts) => appendEntries(inputs, opts),
    attachHidden: (entry, blob) => session.attachHidden(entry, blob),
    streamPartial: (p) => session.streamPartial(p),
  });

  const session: Session = {
    conversation,
    device,
    send: turns.send,
    prewarm: turns.prewarm,
    rebuildCache: turns.rebuildCache,
    get replay() {
      return turns.replay;
    },
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
    entry: (id) => (isEntryId(id) ? log.get(id) : undefined),
    children: (id) => (isEntryId(id) ? log.children(id) : []),
    branches: () => [...log.branches()].map(([name, b]) => ({ name, ...b })).sort((a, b) => (a.name < b.name ? -1 : 1)),
    async fork(at, opts = {}) {
      const name = await write("log", () => log.fork(entryIdOf(at), opts.name));
      if (opts.switchTo !== false && name !== current) {
        const from = current;
        current = name;
        events.emit("branch", { from, to: name, reason: "fork" });
      }
      return name;
    },
    switchBranch(name) {
      guard.assertOpen();
      branchOrThrow(name);
      if (name === current) return;
      const from = current;
      current = name;
      events.emit("branch", { from, to: name, reason: "switch" });
    },
    info: (key) => log.info(key),
    setInfo: (key, value) => write("log", () => log.setInfo(key, value)),
    addNote: (entry, text) => write("log", () => log.addNote(entryIdOf(entry), text, o.user ?? device)),
    notes: (entry) => (entry === undefined ? log.notes() : isEntryId(entry) ? log.notes(entry) : []),

    compile(ctx, opts = {}) {
      const { branch = current, hiddenFilter, ...rest } = opts;
      const system = ctx.system ?? log.info(SYSTEM_PROMPT_INFO);
      try {
        return compileTranscript(session.transcript(branch), { ...ctx, ...(typeof system === "string" ? { system } : {}) }, {
          ...rest,
          conversation,
          branch,
          // A filtered view of C/hidden (replay from scratch) is rendered afresh, not from the memo.
          ...(hiddenFilter ? {} : { cache: rest.cache ?? renderCache }),
          ...(hiddenLookup ? { hidden: hiddenFilter ? (id: EntryId) => hiddenLookup(id).filter(hiddenFilter) : hiddenLookup } : {}),
        });
      } catch (e) {
        if (isCompileError(e)) throw syncError("bad-request", e.message, { compileCode: e.code });
        throw asSyncError(e);
      }
    },
    attachHidden: (entry, blob) =>
      write("hidden", () => {
        const id = entryIdOf(entry);
        if (!log.get(id)) throw syncError("not-found", `no entry ${entry} to attach a hidden blob to`);
        return hidden!.attach({ ...blob, entry: id });
      }),
    hiddenBlobs: (entry) => (hidden && isEntryId(entry) ? hidden.blobs(entry) : []),
    recordUsage: (r) => write("cache", () => cache.recordUsage({ ...r, device, time: r.time ?? now() })),
    usage: () => cache.usage(),
    putCheckpoint: (h) => write("cache", () => cache.putHandle(h)),
    checkpoints: () => cache.handles(),

    async drive(branch = current) {
      guard.assertCanWrite("log");
      return leases.drive(branch);
    },
    driver: (branch = current) => leases.holder(branch),
    view: (entry) => presence.set({ viewing: { entry, branch: current } }),
    streamPartial: (partial) => presence.set({ partial: partial ?? undefined }),
    peers: () => presence.peers().filter((p) => !p.self),

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
      leases.release();
      turns.close();
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
    const next = syncStatusOf(connections);
    if (next !== status) {
      status = next;
      events.emit("status", status);
      leases.statusChanged(status);
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
  return session;
};

import {
  applyKeepingHeld,
  asDeviceId,
  isServerClientId,
  LOG_ROOTS,
  openCache,
  openHidden,
  openLog,
  reconcile,
  SERVER_CLIENT_ID_BASE,
  validateDocUpdate,
  validateLogUpdate,
  type CacheState,
  type ConversationLog,
  type DeviceId,
  type DocKind,
  type Entry,
  type EntryId,
  type HiddenState,
  type ValidationCode,
  type ValidationResult,
} from "@ctxsync/core";
import * as Y from "yjs";
import { createRng, type Rng } from "./rng.js";

/**
 * A seeded network of replicas of one conversation. Messages follow the y-websocket sync protocol
 * (update, sync step 1 = state vector, sync step 2 = the diff it asks for) and travel through a
 * queue that drops, duplicates, delays and reorders them; replicas go offline (their connections
 * close, messages in flight are lost) and come back (sync step 1 both ways, as y-websocket does on
 * reconnect). Every incoming update is validated against the receiving replica's state before it is
 * applied, as the server does; the reconciler runs after every remote update.
 *
 * In a star, servers act as the sync server does: they write with server client ids, judge a client's
 * update by its net effect and keep what they held (`applyKeepingHeld`: a later concurrent write is
 * corrected in the same transaction, and the correction goes back to the sender too), enforce client-id
 * ownership (a client may not add structs under another client's id; held until they arrive from
 * their owner, as a refused client retries on reconnect), and are the only replicas that reconcile:
 * their fork branches reach the clients. Updates between servers (Redis fan-out) are only validated.
 */

export type MessageType = "update" | "sync1" | "sync2";

export interface Message {
  readonly seq: number;
  readonly from: number;
  readonly to: number;
  readonly doc: DocKind;
  readonly type: MessageType;
  /** An update (update, sync2) or an encoded state vector (sync1). */
  readonly payload: Uint8Array;
  readonly deliverAt: number;
}

export interface Faults {
  /** Probability that a message is lost. */
  readonly drop: number;
  /** Probability that a message is delivered twice. */
  readonly duplicate: number;
  /** A message is delayed by 0..maxDelay ticks (messages sent at the same tick are delivered in random order anyway). */
  readonly maxDelay: number;
  /** Probability per tick that a random online replica runs sync step 1 with a random neighbour (y-websocket's resync). */
  readonly resync: number;
}

export const DEFAULT_FAULTS: Faults = { drop: 0.1, duplicate: 0.1, maxDelay: 4, resync: 0.1 };
export const NO_FAULTS: Faults = { drop: 0, duplicate: 0, maxDelay: 0, resync: 0 };

export interface NetworkOptions {
  readonly seed: number;
  readonly replicas: number;
  /** Which documents of the conversation each replica holds (default: only the log `C`). */
  readonly docs?: readonly DocKind[];
  /**
   * "mesh": every replica talks to every other. "star": replicas 0..servers-1 are servers that validate,
   * reconcile and relay; every other replica is a client connected to one server at a time.
   */
  readonly topology?: "mesh" | "star";
  /**
   * Star only: how many server instances (default 1). With more than one, servers relay to each other
   * (as instances share rooms through Redis) and a client lands on a random server at every reconnect.
   */
  readonly servers?: number;
  /** Yjs garbage collection of deleted content, per replica (default true, as y-websocket). */
  readonly gc?: boolean | ((replica: number) => boolean);
  readonly faults?: Partial<Faults>;
  /** Run the reconciler after remote updates (default true). */
  readonly reconcile?: boolean;
  /** Validate every incoming update before applying it (default true). */
  readonly validate?: boolean;
  /** Return false to discard a message at delivery (to model a broken replica). Applies while settling too. */
  readonly intercept?: (m: Message, net: Network) => boolean;
  /** Simulated wall clock at tick 0 (ms). */
  readonly startTime?: number;
}

/** One device (or server instance) holding a copy of the conversation. */
export interface Replica {
  readonly index: number;
  readonly name: string;
  readonly device: DeviceId;
  readonly docs: ReadonlyMap<DocKind, Y.Doc>;
  readonly log: ConversationLog;
  readonly cache: CacheState | undefined;
  readonly hidden: HiddenState | undefined;
  online: boolean;
  /** The branch this device works on (driver state, not part of the document). */
  branch: string;
  /** Updates held back because something they depend on has not arrived yet (retried after every apply). */
  readonly pending: Map<DocKind, Message[]>;
  /**
   * The order in which this replica learned each entry, recorded by a Yjs observer of its own,
   * independent of the log's index: used to check that every entry's author had seen all its ancestors.
   */
  readonly learned: Map<EntryId, number>;
}

/** An entry as its author appended it, recorded at the author when the write happened. */
export interface Authored {
  readonly replica: number;
  readonly entry: Entry;
}

/** An update that a replica refused although it was produced by another replica. */
export interface Violation {
  readonly replica: number;
  readonly from: number;
  readonly doc: DocKind;
  readonly type: MessageType;
  readonly code: ValidationCode;
  readonly message: string;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  /** Updates held back (a dependency was missing) and retried later. */
  deferred: number;
  /** Updates that Yjs could not integrate at once although the validator accepted them (kept pending by Yjs). */
  yjsPending: number;
  resyncs: number;
  reconciled: number;
  /** Messages lost because an endpoint was offline. */
  lostOffline: number;
  /** Keys a server wrote back because a client's concurrent write would have changed what it held. */
  keptHeld: number;
}

export interface Network {
  readonly seed: number;
  /** The network's own stream (faults, delivery order). Drivers should fork their own. */
  readonly rng: Rng;
  readonly replicas: readonly Replica[];
  readonly docKinds: readonly DocKind[];
  readonly topology: "mesh" | "star";
  /** Number of server replicas (0 in a mesh); servers are replicas 0..servers-1. */
  readonly servers: number;
  /** The server a client is connected to (itself for a server; undefined in a mesh). */
  serverOf(i: number): number | undefined;
  readonly queue: readonly Message[];
  readonly authored: ReadonlyMap<EntryId, Authored>;
  readonly violations: readonly Violation[];
  readonly stats: Readonly<NetworkStats>;
  readonly tick: number;
  /** The simulated wall clock (ms). */
  now(): number;
  /** A fresh entry id from the seeded stream (so a seed replays the same ids). */
  nextEntryId(): EntryId;
  neighbours(i: number): number[];
  /** Advance the clock by one tick and deliver every message that is due, in random order. */
  step(): number;
  goOffline(i: number): void;
  /** Reconnect: sync step 1 both ways with every online neighbour (subject to faults). */
  goOnline(i: number): void;
  /** Run sync step 1 from `i` to `j` (and back when `both`); messages go through the queue. */
  resync(i: number, j: number, both?: boolean): void;
  /** Bring everyone online and sync to quiescence without faults. Returns the number of rounds used. */
  settle(maxRounds?: number): number;
  /** Recent events, for failure reports. */
  trace(): string[];
  /** Record a line in the event trace. */
  note(line: string): void;
  destroy(): void;
}

export const emptyStats = (): NetworkStats => ({
  sent: 0,
  delivered: 0,
  dropped: 0,
  duplicated: 0,
  deferred: 0,
  yjsPending: 0,
  resyncs: 0,
  reconciled: 0,
  lostOffline: 0,
  keptHeld: 0,
});

/** Marks a transaction that applied an update received from another replica. */
export interface RemoteOrigin {
  readonly remoteFrom: number;
  /** A server corrected the update in the same transaction: the sender gets the relay too. */
  relayToSender?: boolean;
}
const isRemote = (origin: unknown): origin is RemoteOrigin =>
  typeof origin === "object" && origin !== null && "remoteFrom" in origin;

/** Codes that mean "not yet": something the update depends on has not arrived. The update is held and retried. */
const NOT_YET: ReadonlySet<ValidationCode | "client-id-owned"> = new Set(["missing-dependency", "missing-parent", "unknown-head", "client-id-owned"]);
const MAX_PENDING = 256;
const TRACE_LINES = 400;

export const createNetwork = (opts: NetworkOptions): Network => {
  if (!Number.isInteger(opts.replicas) || opts.replicas < 1) throw new Error("a network needs at least one replica");
  const seed = opts.seed;
  const rng = createRng(seed);
  const idRng = rng.fork();
  const faults: Faults = { ...DEFAULT_FAULTS, ...opts.faults };
  const docKinds: readonly DocKind[] = opts.docs ?? ["log"];
  if (!docKinds.includes("log")) throw new Error("every replica holds the log document");
  const topology = opts.topology ?? "mesh";
  const doReconcile = opts.reconcile ?? true;
  const doValidate = opts.validate ?? true;
  const servers = topology === "star" ? (opts.servers ?? 1) : 0;
  if (topology === "star" && (servers < 1 || servers >= opts.replicas)) throw new Error("a star needs at least one server and one client");
  const isServer = (i: number) => i < servers;
  /** For each client of a star, the server it is connected to. */
  const connectedTo: number[] = Array.from({ length: opts.replicas }, (_, i) => (i < servers ? i : i % servers));
  const startTime = opts.startTime ?? 1_700_000_000_000;

  let tick = 0;
  let seq = 0;
  let calm = false;
  /** Client-id ownership as the servers share it (per document kind): client id → the replica that first wrote with it. */
  const owners = new Map<DocKind, Map<number, number>>();
  /** Client ids that add structs `doc` does not have. */
  const newClients = (doc: Y.Doc, update: Uint8Array): number[] => {
    const out = new Set<number>();
    for (const st of Y.decodeUpdate(update).structs) if (st.id.clock + st.length > Y.getState(doc.store, st.id.client)) out.add(st.id.client);
    return [...out];
  };
  const queue: Message[] = [];
  const authored = new Map<EntryId, Authored>();
  const violations: Violation[] = [];
  const events: string[] = [];
  const stats = emptyStats();
  const note = (line: string) => {
    events.push(`t${tick} ${line}`);
    if (events.length > TRACE_LINES) events.splice(0, events.length - TRACE_LINES);
  };
  const now = () => startTime + tick * 1000;

  const neighbours = (i: number): number[] => {
    const all = replicas.map((r) => r.index).filter((j) => j !== i);
    if (topology === "mesh") return all;
    if (!isServer(i)) return [connectedTo[i]!];
    return all.filter((j) => isServer(j) || connectedTo[j] === i);
  };

  const send = (from: number, to: number, doc: DocKind, type: MessageType, payload: Uint8Array): void => {
    stats.sent++;
    const reliable = calm;
    if (!reliable && rng.chance(faults.drop)) {
      stats.dropped++;
      note(`drop ${type}:${doc} r${from}->r${to}`);
      return;
    }
    const copies = !reliable && rng.chance(faults.duplicate) ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    for (let c = 0; c < copies; c++) {
      const delay = reliable ? 0 : rng.int(0, faults.maxDelay);
      queue.push({ seq: seq++, from, to, doc, type, payload, deliverAt: tick + delay });
    }
  };

  const validate = (r: Replica, kind: DocKind, update: Uint8Array): ValidationResult | { ok: true } =>
    !doValidate ? { ok: true } : kind === "log" ? validateLogUpdate(r.log, update) : validateDocUpdate(kind, { doc: r.docs.get(kind)! }, update);

  /** Validate and apply; returns "applied", "held" (a dependency is missing) or "refused". */
  const integrate = (r: Replica, m: Message): "applied" | "held" | "refused" => {
    const doc = r.docs.get(m.doc)!;
    // A server takes new structs from a client only under client ids that client owns (or nobody does).
    const authority = isServer(r.index) && !isServer(m.from);
    const byKind = owners.get(m.doc) ?? new Map<number, number>();
    owners.set(m.doc, byKind);
    const adds = authority ? newClients(doc, m.payload).filter((c) => !isServerClientId(c)) : [];
    if (adds.some((c) => byKind.has(c) && byKind.get(c) !== m.from)) return "held";
    const res = validate(r, m.doc, m.payload);
    if (!res.ok) {
      if (NOT_YET.has(res.code)) return "held";
      violations.push({ replica: r.index, from: m.from, doc: m.doc, type: m.type, code: res.code, message: res.message });
      note(`REFUSED ${m.type}:${m.doc} r${m.from}->r${r.index}: ${res.code} ${res.message}`);
      return "refused";
    }
    for (const c of adds) if (!byKind.has(c)) byKind.set(c, m.from);
    const origin: RemoteOrigin = { remoteFrom: m.from };
    if (authority && m.doc === "log" && "net" in res) {
      const corrected = applyKeepingHeld(r.log, m.payload, res, origin, { onCorrections: () => (origin.relayToSender = true) });
      if (corrected.length > 0) {
        stats.keptHeld += corrected.length;
        note(`r${r.index} kept what it held: ${corrected.map((c) => `${c.root}.${c.key}`).join(",")} (update from r${m.from})`);
      }
    } else Y.applyUpdate(doc, m.payload, origin);
    if (doc.store.pendingStructs !== null || doc.store.pendingDs !== null) {
      stats.yjsPending++;
      note(`yjs holds part of ${m.type}:${m.doc} r${m.from}->r${r.index} pending`);
    }
    return "applied";
  };

  const retryPending = (r: Replica, kind: DocKind): void => {
    const held = r.pending.get(kind)!;
    let progress = true;
    while (progress && held.length > 0) {
      progress = false;
      for (let k = 0; k < held.length; k++) {
        const outcome = integrate(r, held[k]!);
        if (outcome !== "held") {
          held.splice(k, 1);
          k--;
          if (outcome === "applied") progress = true;
        }
      }
    }
  };

  const receive = (m: Message): void => {
    const r = replicas[m.to]!;
    const doc = r.docs.get(m.doc)!;
    if (m.type === "sync1") {
      send(m.to, m.from, m.doc, "sync2", Y.encodeStateAsUpdate(doc, m.payload));
      return;
    }
    const outcome = integrate(r, m);
    if (outcome === "held") {
      stats.deferred++;
      const held = r.pending.get(m.doc)!;
      held.push(m);
      if (held.length > MAX_PENDING) held.shift(); // resync recovers whatever is forgotten here
      note(`hold ${m.type}:${m.doc} r${m.from}->r${m.to}`);
      return;
    }
    if (outcome !== "applied") return;
    retryPending(r, m.doc);
    // In a star only servers reconcile (their fork branches reach the clients): a client would otherwise fork
    // a leaf that is about to win, in the moment between another device's write and the server's correction.
    if (m.doc === "log" && doReconcile && (topology === "mesh" || isServer(r.index))) {
      const made = reconcile(r.log);
      if (made.length > 0) {
        stats.reconciled += made.length;
        note(`r${r.index} reconciled ${made.join(",")}`);
      }
    }
  };

  const deliver = (m: Message): void => {
    const from = replicas[m.from]!;
    const to = replicas[m.to]!;
    if (!from.online || !to.online || !neighbours(m.from).includes(m.to)) {
      stats.lostOffline++; // the connection it travelled on is closed
      return;
    }
    if (opts.intercept && !opts.intercept(m, network)) {
      note(`intercepted ${m.type}:${m.doc} r${m.from}->r${m.to}`);
      return;
    }
    stats.delivered++;
    receive(m);
  };

  const shuffle = <T>(a: T[]): T[] => {
    for (let i = a.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  };

  const takeDue = (all: boolean): Message[] => {
    const due: Message[] = [];
    for (let k = 0; k < queue.length; k++) {
      if (all || queue[k]!.deliverAt <= tick) {
        due.push(queue[k]!);
        queue.splice(k, 1);
        k--;
      }
    }
    return shuffle(due);
  };

  const resync = (i: number, j: number, both = false): void => {
    const a = replicas[i]!;
    const b = replicas[j]!;
    if (!a.online || !b.online) return;
    stats.resyncs++;
    for (const kind of docKinds) {
      send(i, j, kind, "sync1", Y.encodeStateVector(a.docs.get(kind)!));
      if (both) send(j, i, kind, "sync1", Y.encodeStateVector(b.docs.get(kind)!));
    }
  };

  const makeReplica = (index: number): Replica => {
    const device = asDeviceId(`dev${index}`);
    const docs = new Map<DocKind, Y.Doc>();
    const usedClients = new Set<number>();
    const gc = typeof opts.gc === "function" ? opts.gc(index) : (opts.gc ?? true);
    for (const kind of docKinds) {
      const doc = new Y.Doc({ gc });
      // Deterministic client ids, so a seed replays the same conflict resolution. Servers write with
      // server client ids (2^32 and up), as the sync server does.
      const draw = () => (isServer(index) ? SERVER_CLIENT_ID_BASE + idRng.int(0, 2 ** 40) : idRng.int(1, 0x7fffffff));
      let client = draw();
      while (usedClients.has(client)) client = draw();
      usedClients.add(client);
      doc.clientID = client;
      docs.set(kind, doc);
    }
    const logDoc = docs.get("log")!;
    const learned = new Map<EntryId, number>();
    // Our own record of what this replica has seen, and of who wrote each entry (not the log's index).
    logDoc.getArray<Entry>(LOG_ROOTS.entries).observe((ev, tr) => {
      for (const d of ev.changes.delta) {
        if (!d.insert) continue;
        for (const e of d.insert as Entry[]) {
          if (!learned.has(e.id)) learned.set(e.id, learned.size);
          if (!isRemote(tr.origin) && !authored.has(e.id)) authored.set(e.id, { replica: index, entry: e });
        }
      }
    });
    const replica: Replica = {
      index,
      name: `r${index}`,
      device,
      docs,
      log: openLog(logDoc, { device, now }),
      cache: docs.has("cache") ? openCache(docs.get("cache")!) : undefined,
      hidden: docs.has("hidden") ? openHidden(docs.get("hidden")!) : undefined,
      online: true,
      branch: "main",
      pending: new Map(docKinds.map((k) => [k, []])),
      learned,
    };
    for (const kind of docKinds) {
      docs.get(kind)!.on("update", (update: Uint8Array, origin: unknown) => {
        if (!replica.online) return; // written offline: goes out with sync step 2 on reconnect
        if (isRemote(origin)) {
          // A server relays what it accepted to its other clients, as the update its own document
          // emits (like the stock y-websocket server: only what was new to the server, self-contained
          // against its state). Relaying the received bytes instead would forward a sync step 2 that
          // is a diff against the server's state, not the clients'. Peers in a mesh do not relay.
          if (isServer(index))
            for (const j of neighbours(index))
              if ((j !== origin.remoteFrom || origin.relayToSender) && replicas[j]!.online) send(index, j, kind, "update", update);
          return;
        }
        for (const j of neighbours(index)) if (replicas[j]!.online) send(index, j, kind, "update", update);
      });
    }
    return replica;
  };

  const replicas: Replica[] = [];
  for (let i = 0; i < opts.replicas; i++) replicas.push(makeReplica(i));

  const network: Network = {
    seed,
    rng,
    replicas,
    docKinds,
    topology,
    servers,
    serverOf: (i) => (topology === "star" ? connectedTo[i] : undefined),
    queue,
    authored,
    violations,
    stats,
    get tick() {
      return tick;
    },
    now,
    nextEntryId: () => `e${idRng.id(15)}` as EntryId,
    neighbours,
    step() {
      tick++;
      if (!calm && rng.chance(faults.resync)) {
        const online = replicas.filter((r) => r.online);
        if (online.length > 0) {
          const a = rng.pick(online);
          const ns = neighbours(a.index).filter((j) => replicas[j]!.online);
          if (ns.length > 0) resync(a.index, rng.pick(ns));
        }
      }
      const due = takeDue(false);
      for (const m of due) deliver(m);
      return due.length;
    },
    goOffline(i) {
      const r = replicas[i]!;
      if (!r.online) return;
      r.online = false;
      note(`r${i} offline`);
    },
    goOnline(i) {
      const r = replicas[i]!;
      if (r.online) return;
      r.online = true;
      if (servers > 1 && !isServer(i)) connectedTo[i] = rng.int(0, servers - 1); // any instance behind the load balancer
      note(`r${i} online${topology === "star" ? ` (server r${connectedTo[i]})` : ""}`);
      for (const j of neighbours(i)) resync(i, j, true);
    },
    resync,
    settle(maxRounds = 12) {
      calm = true;
      try {
        for (const r of replicas) network.goOnline(r.index);
        let rounds = 0;
        while (rounds < maxRounds) {
          rounds++;
          // Deliver until the queue is empty, then a full round of sync step 1 between all neighbours.
          for (let guard = 0; queue.length > 0 && guard < 10_000; guard++) for (const m of takeDue(true)) deliver(m);
          if (quiet()) return rounds;
          // Only pairs that differ need a round trip (an identical pair would exchange empty diffs).
          for (const r of replicas)
            for (const j of neighbours(r.index)) if (j > r.index && differ(r, replicas[j]!)) resync(r.index, j, true);
          for (let guard = 0; queue.length > 0 && guard < 10_000; guard++) for (const m of takeDue(true)) deliver(m);
          if (quiet()) return rounds;
        }
        note(`settle: not quiet after ${maxRounds} rounds`);
        return rounds;
      } finally {
        calm = false;
      }
    },
    trace: () => [...events],
    note,
    destroy() {
      for (const r of replicas) {
        r.log.destroy();
        for (const d of r.docs.values()) d.destroy();
      }
      queue.length = 0;
    },
  };

  const differ = (a: Replica, b: Replica): boolean =>
    docKinds.some((k) => !bytesEqual(Y.encodeStateVector(a.docs.get(k)!), Y.encodeStateVector(b.docs.get(k)!)));

  /** Quiet: nothing in flight, nothing held, and every document has the same state vector everywhere. */
  const quiet = (): boolean => {
    if (queue.length > 0) return false;
    for (const r of replicas) for (const held of r.pending.values()) if (held.length > 0) return false;
    for (const kind of docKinds) {
      const first = Y.encodeStateVector(replicas[0]!.docs.get(kind)!);
      for (const r of replicas) if (!bytesEqual(Y.encodeStateVector(r.docs.get(kind)!), first)) return false;
    }
    return true;
  };

  return network;
};

export const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

import { reconcile, type DocKind, type EntryId } from "@ctxsync/core";
import * as Y from "yjs";
import { integrate, retryPending, type IntegrateContext } from "./integrate.js";
import {
  DEFAULT_FAULTS,
  emptyStats,
  isRemote,
  type Authored,
  type Faults,
  type Message,
  type MessageType,
  type Network,
  type NetworkOptions,
  type Replica,
  type Violation,
} from "./network-types.js";
import { createReplica } from "./replica.js";
import { createRng } from "./rng.js";

export { DEFAULT_FAULTS, emptyStats, NO_FAULTS } from "./network-types.js";
export type {
  Authored,
  Faults,
  Message,
  MessageType,
  Network,
  NetworkOptions,
  NetworkStats,
  RemoteOrigin,
  Replica,
  Violation,
} from "./network-types.js";

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
 * ownership, and are the only replicas that reconcile: their fork branches reach the clients. Updates
 * between servers (Redis fan-out) are only validated.
 */

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

  const integration: IntegrateContext = {
    validate: doValidate,
    violations,
    stats,
    note,
    ...(topology === "star" ? { isServer, owners: new Map() } : {}),
  };

  const receive = (m: Message): void => {
    const r = replicas[m.to]!;
    const doc = r.docs.get(m.doc)!;
    if (m.type === "sync1") {
      send(m.to, m.from, m.doc, "sync2", Y.encodeStateAsUpdate(doc, m.payload));
      return;
    }
    const outcome = integrate(integration, r, m);
    if (outcome === "held") {
      stats.deferred++;
      const held = r.pending.get(m.doc)!;
      held.push(m);
      if (held.length > MAX_PENDING) held.shift(); // resync recovers whatever is forgotten here
      note(`hold ${m.type}:${m.doc} r${m.from}->r${m.to}`);
      return;
    }
    if (outcome !== "applied") return;
    retryPending(integration, r, m.doc);
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

  const onUpdate = (replica: Replica, kind: DocKind, update: Uint8Array, origin: unknown): void => {
    if (!replica.online) return; // written offline: goes out with sync step 2 on reconnect
    const index = replica.index;
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
  };
  const makeReplica = (index: number): Replica =>
    createReplica(index, {
      idRng,
      docKinds,
      gc: typeof opts.gc === "function" ? opts.gc(index) : (opts.gc ?? true),
      server: isServer(index),
      authored,
      now,
      onUpdate,
    });

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

import * as Y from "yjs";
import * as awarenessProtocol from "y-protocols/awareness";
import {
  applyKeepingHeld,
  asDeviceId,
  decodeUpdate,
  openLog,
  reconcile,
  validateDocUpdate,
  validateLogUpdate,
  type ConversationId,
  type ConversationLog,
  type DecodedUpdate,
  type DocKind,
} from "@ctxsync/core";
import { encodeSyncStep1, encodeSyncStep2, encodeSyncUpdate, parseDocName, syncError, toSyncError, type SyncErrorCode } from "@ctxsync/protocol";
import { createAwarenessRelay, type AwarenessRelay } from "./awareness-relay.js";
import { loadClientOwners, type ClientOwners } from "./client-owners.js";
import type { Limits, Timings } from "./config.js";
import { createGroupCommit } from "./group-commit.js";
import type { Logger } from "./logger.js";
import { isNoopUpdate } from "./noop-update.js";
import type { ServerMetrics } from "./server-metrics.js";
import type { DocStore } from "./storage/types.js";

/** One connection as a room sees it. */
export interface RoomPeer {
  readonly id: number;
  readonly closed: boolean;
  /** Who is writing: the token's subject; undefined for anonymous connections (see client-owners.ts). */
  readonly identity: string | undefined;
  /** Awareness client ids this peer owns (announced first; removed when it leaves). */
  readonly awarenessIds: Set<number>;
  /**
   * Updates this peer sent before its sync step 2 that depend on structs the server does not have
   * yet (after a reconnect the stock client sends new local updates as soon as the socket opens,
   * before answering our step 1). Held, merged, until the step 2 brings what they depend on.
   */
  held: Uint8Array | null;
  /** Set once the peer's sync step 2 has been applied: from then on it refers only to what we have. */
  synced: boolean;
  send(frame: Uint8Array): void;
  close(code: SyncErrorCode, message: string): void;
}

export interface RoomDeps {
  readonly store: DocStore;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly limits: Limits;
  readonly timings: Timings;
  /** This server process's Yjs client id (server-client.ts): every write the server makes uses it. */
  readonly clientId: number;
  /** Called when the room's memory may disagree with storage (a local write could not be stored). */
  readonly onBroken: (room: Room) => void;
}

/**
 * One loaded document. All writes go through one queue per room, in arrival order:
 * validate → apply → reconcile; the resulting document updates are appended to storage in
 * batches (one commit for everything applied in the same turn of the event loop: group commit)
 * and relayed only once their batch is durable. A rejected update is never applied, stored or
 * relayed. If a batch cannot be stored, the room is dropped from memory and every peer is closed
 * with 4504, so nobody ever sees what was not stored; clients resend on reconnect.
 */
export interface Room {
  readonly name: string;
  readonly kind: DocKind;
  readonly conversation: ConversationId;
  readonly doc: Y.Doc;
  /** The typed log view (document `C` only). */
  readonly log: ConversationLog | undefined;
  readonly awareness: awarenessProtocol.Awareness;
  readonly peers: ReadonlySet<RoomPeer>;
  /** Who may write under each Yjs client id of this document. */
  readonly owners: ClientOwners;
  /** Stored size: snapshot plus updates since (an upper bound between compactions). */
  bytes(): number;
  join(peer: RoomPeer): void;
  leave(peer: RoomPeer): void;
  answerStep1(stateVector: Uint8Array, peer: RoomPeer): Promise<void>;
  /**
   * A sync step 2 (`step2`) or update from a peer. Throws SyncError: forbidden,
   * append-only-violation, malformed-message, message-too-large, document-too-large, storage-unavailable.
   */
  receiveUpdate(update: Uint8Array, from: RoomPeer, writable: boolean, step2?: boolean): Promise<void>;
  /** Throws SyncError malformed-message on a bad awareness update; entries `from` may not send are dropped. */
  receiveAwareness(update: Uint8Array, from: RoomPeer): void;
  sendAllAwareness(peer: RoomPeer): void;
  /** A server-side change (REST fork, import...): stored, relayed, reconciled like a peer's update. */
  mutate<T>(fn: (room: Room) => T): Promise<T>;
  compact(): Promise<void>;
  /** Resolves when everything applied so far is durable (and relayed). */
  durable(): Promise<void>;
  /** Run `fn` once everything applied so far is durable: reads that must not see unstored state. */
  read<T>(fn: (room: Room) => T): Promise<T>;
  /** Drain the queue, optionally compact, free memory. */
  close(opts: { compact: boolean }): Promise<void>;
}

const SERVER_DEVICE = asDeviceId("ctxsync-server");
const isPeer = (o: unknown): o is RoomPeer => typeof o === "object" && o !== null && "awarenessIds" in o && "send" in o;

/**
 * The origin of a transaction that applied a peer's update. Its relay skips that peer — unless the
 * server corrected the update in the same transaction (keep-held): then the peer needs the correction too.
 */
interface PeerWrite {
  readonly peerWrite: RoomPeer;
  relayToSender: boolean;
}
const isPeerWrite = (o: unknown): o is PeerWrite => typeof o === "object" && o !== null && "peerWrite" in o;

export const loadRoom = async (name: string, deps: RoomDeps): Promise<Room> => {
  const { conversation, kind } = parseDocName(name);
  const [stored, owners] = await Promise.all([deps.store.load(name), loadClientOwners(name, deps.store, deps.logger)]);
  // The log keeps deleted content (gc off): a replaced branch value must stay readable, because the
  // validator checks a head move against the value the writer replaced — with gc on, a stale
  // replica could move a head backwards past a garbage-collected value. Only branch values are
  // ever replaced in C, so this costs one small object per head move. Cache and hidden collect.
  const doc = new Y.Doc({ gc: kind !== "log" });
  try {
    doc.transact(() => {
      if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
      for (const u of stored.updates) Y.applyUpdate(doc, u);
    });
  } catch (e) {
    doc.destroy();
    throw syncError("internal", `stored document ${name} could not be loaded: ${(e as Error).message}`);
  }
  // Set after loading: Yjs gives a document a new client id when a remote transaction (loading is one)
  // changes its own client's state, and this process may have written to this document before.
  doc.clientID = deps.clientId;
  deps.metrics.roomLoads.inc({ kind });
  const room = createRoom(name, conversation, kind, doc, stored, owners, deps);
  // Stored data may predate a reconciler run (e.g. a crash between apply and reconcile).
  if (room.log) await room.mutate(() => undefined);
  return room;
};

const createRoom = (
  name: string,
  conversation: ConversationId,
  kind: DocKind,
  doc: Y.Doc,
  stored: { seq: number; bytes: number; updates: Uint8Array[]; snapshot?: Uint8Array },
  owners: ClientOwners,
  deps: RoomDeps,
): Room => {
  const { store, logger, metrics, limits, timings } = deps;
  const log = kind === "log" ? openLog(doc, { device: SERVER_DEVICE }) : undefined;
  const awareness = new awarenessProtocol.Awareness(doc);
  awareness.setLocalState(null);
  const peers = new Set<RoomPeer>();
  let seq = stored.seq;
  let snapshotBytes = stored.snapshot?.byteLength ?? 0;
  let since = { count: stored.updates.length, bytes: stored.bytes - snapshotBytes };
  let compacting: Promise<void> | null = null;
  let compactScheduled = false;
  let broken = false;
  let closed = false;

  let tail: Promise<unknown> = Promise.resolve();
  const enqueue = <T>(fn: () => T | Promise<T>): Promise<T> => {
    const p = tail.then(fn);
    tail = p.catch(() => undefined);
    return p;
  };

  const broadcast = (frame: Uint8Array, except: RoomPeer | null) => {
    for (const p of peers) if (p !== except && !p.closed) p.send(frame);
  };

  /** Applied but not yet stored: appended as one batch per event-loop turn, then relayed. */
  const commits = createGroupCommit<{ update: Uint8Array; origin: unknown }>(async (items) => {
    let seqs: number[];
    try {
      // After a failed batch, later ones depend on what was not stored: store nothing more.
      if (broken) throw syncError("storage-unavailable", `document ${name} is being reloaded after a storage failure`);
      seqs = await store.appendMany(name, items.map((i) => i.update));
    } catch (e) {
      // Memory holds what storage does not: drop this copy of the room so nobody sees or builds on it.
      broken = true;
      deps.onBroken(room);
      throw toSyncError(e, "storage-unavailable");
    }
    items.forEach((item, i) => {
      appended(seqs[i]!, item.update.byteLength);
      const o = item.origin;
      const sender = isPeerWrite(o) ? o.peerWrite : isPeer(o) ? o : null;
      metrics.updates.inc({ kind, origin: sender ? "peer" : "server" });
      broadcast(encodeSyncUpdate(item.update), isPeerWrite(o) && o.relayToSender ? null : sender);
    });
    maybeCompact();
  });
  const durable = () => commits.durable();

  doc.on("update", (update: Uint8Array, origin: unknown) => commits.push({ update, origin }, update.byteLength));

  const presence: AwarenessRelay = createAwarenessRelay(awareness, {
    flushMs: timings.awarenessFlushMs,
    maxIdsPerConnection: limits.maxAwarenessIdsPerConnection,
    perConnectionPerSecond: limits.maxAwarenessMessagesPerSecond,
    peers: () => peers,
    onDrop: (reason) => metrics.awarenessDropped.inc({ reason }),
    // The stock client announces its document's client id before it sends its offline work.
    onAnnounce: (peer, client) => owners.claim(client, (peer as RoomPeer).identity),
    mayClaim: (peer, client) => {
      const owner = owners.owner(client);
      return owner === undefined || owner === (peer as RoomPeer).identity;
    },
    sameIdentity: (a, b) => (a as RoomPeer).identity !== undefined && (a as RoomPeer).identity === (b as RoomPeer).identity,
  });

  const appended = (s: number, n: number) => {
    seq = Math.max(seq, s);
    since = { count: since.count + 1, bytes: since.bytes + n };
  };

  const maybeCompact = () => {
    if (compacting || compactScheduled || closed || since.count < timings.compactAfterUpdates) return;
    // Off the hot path: the snapshot is encoded after the current write has been relayed.
    compactScheduled = true;
    setImmediate(() => {
      compactScheduled = false;
      room.compact().catch((e) => logger.warn("compaction-failed", { room: name, error: String(e) }));
    });
  };

  const checkOpen = () => {
    if (broken || closed) throw syncError("storage-unavailable", `document ${name} is being unloaded; reconnect`);
  };

  const room: Room = {
    name,
    kind,
    conversation,
    doc,
    log,
    awareness,
    peers,
    owners,
    bytes: () => snapshotBytes + since.bytes + commits.pendingBytes(),
    join(peer) {
      peers.add(peer);
      peer.send(encodeSyncStep1(Y.encodeStateVector(doc)));
      room.sendAllAwareness(peer);
    },
    leave(peer) {
      if (!peers.delete(peer)) return;
      presence.leave(peer);
    },
    answerStep1: (stateVector, peer) =>
      enqueue(async () => {
        await durable(); // never send what is not stored yet
        if (!peer.closed && !closed && !broken) peer.send(encodeSyncStep2(Y.encodeStateAsUpdate(doc, stateVector)));
      }),
    receiveUpdate: (incoming, from, writable, step2 = false) =>
      enqueue(async () => {
        if (from.closed) return; // an earlier message of this peer was refused: drop the rest
        checkOpen();
        const t0 = performance.now();
        let update: Uint8Array;
        let decoded: DecodedUpdate; // decoded once, for the no-op check and the validator
        let noop: boolean;
        try {
          update = from.held ? Y.mergeUpdates([from.held, incoming]) : incoming;
          decoded = decodeUpdate(update);
          noop = isNoopUpdate(doc, decoded);
        } catch (e) {
          throw syncError("malformed-message", `malformed update: ${(e as Error).message}`);
        }
        if (noop) {
          // e.g. a reconnecting client's step 2 that holds nothing new
          from.held = null;
          if (step2) from.synced = true;
          return;
        }
        if (!writable) throw syncError("forbidden", `read-only connection: updates to ${name} are not accepted`);
        if (room.bytes() + update.byteLength > limits.maxDocumentBytes)
          throw syncError("document-too-large", `document ${name} would exceed ${limits.maxDocumentBytes} bytes`);
        const taken = owners.violation(decoded, doc, from.identity);
        if (taken)
          throw syncError("forbidden", `client id ${taken.client} belongs to another device: a connection may only add structs under its own client ids`, {
            client: taken.client,
          });
        const v = log ? validateLogUpdate(log, decoded) : validateDocUpdate(kind, { doc }, decoded);
        metrics.validateSeconds.observe((performance.now() - t0) / 1000, { kind });
        if (!v.ok && v.code === "missing-dependency" && !from.synced && !step2) {
          if (update.byteLength > limits.maxMessageBytes)
            throw syncError("message-too-large", `updates held until sync step 2 exceed ${limits.maxMessageBytes} bytes`);
          from.held = update; // neither applied, stored nor relayed until its dependencies arrive
          return;
        }
        from.held = null;
        if (!v.ok)
          throw syncError(v.code === "malformed" ? "malformed-message" : "append-only-violation", `${v.code}: ${v.message}`, {
            validation: v.code,
          });
        owners.claimWritten(decoded, doc, from.identity);
        try {
          // Stored, then relayed, by the next batch. The log keeps what it held (keep-held.ts): a
          // correction is written in the same transaction and relayed to the sender as well.
          if (log) {
            const origin: PeerWrite = { peerWrite: from, relayToSender: false };
            const corrected = applyKeepingHeld(log, update, v, origin, { onCorrections: () => (origin.relayToSender = true) });
            if (corrected.length > 0) {
              for (const c of corrected) metrics.keptHeld.inc({ root: c.root });
              logger.info("kept-held", { room: name, peer: from.id, keys: corrected.map((c) => `${c.root}.${c.key}`) });
            }
            reconcile(log);
          } else Y.applyUpdate(doc, update, from);
        } catch (e) {
          // Validated but Yjs still failed part-way: memory may now differ from storage. Drop this
          // copy (the pending batch is then not stored) and reload from storage on next use.
          broken = true;
          deps.onBroken(room);
          throw syncError("malformed-message", `update could not be applied: ${(e as Error).message}`);
        }
        if (step2) from.synced = true;
      }),
    receiveAwareness(update, from) {
      presence.receive(update, from);
    },
    sendAllAwareness(peer) {
      const all = presence.snapshot();
      if (all) peer.send(all);
    },
    mutate: (fn) =>
      enqueue(async () => {
        checkOpen();
        let out: ReturnType<typeof fn>;
        try {
          out = fn(room);
          if (log) reconcile(log);
        } finally {
          await durable(); // whatever reached the document must reach storage before we answer
        }
        return out;
      }),
    durable,
    read: (fn) =>
      enqueue(async () => {
        await durable();
        checkOpen();
        return fn(room);
      }),
    compact() {
      if (compacting) return compacting;
      const run = async () => {
        const snap = await enqueue(async () => {
          await durable(); // the snapshot holds only stored updates, up to `seq`
          if (broken || closed || since.count === 0) return undefined;
          return { data: Y.encodeStateAsUpdate(doc), upTo: seq, count: since.count, bytes: since.bytes };
        });
        if (!snap || snap.count === 0) return;
        await store.compact(name, snap.data, snap.upTo);
        since = { count: since.count - snap.count, bytes: since.bytes - snap.bytes };
        snapshotBytes = snap.data.byteLength;
        metrics.compactions.inc({ kind });
        logger.debug("compacted", { room: name, snapshotBytes, folded: snap.count });
      };
      compacting = run().finally(() => {
        compacting = null;
      });
      return compacting;
    },
    async close({ compact }) {
      await enqueue(() => durable()).catch(() => undefined);
      if (compact && !broken && since.count > 0) await room.compact().catch((e) => logger.warn("compaction-failed", { room: name, error: String(e) }));
      else if (compacting) await compacting.catch(() => undefined);
      closed = true;
      presence.destroy();
      awareness.destroy();
      log?.destroy();
      doc.destroy();
      metrics.roomUnloads.inc({ kind });
    },
  };
  return room;
};

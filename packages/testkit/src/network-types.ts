import type { CacheState, ConversationLog, DeviceId, DocKind, Entry, EntryId, HiddenState, ValidationCode } from "@ctxsync/core";
import type * as Y from "yjs";
import type { Rng } from "./rng.js";

/** The types of the seeded replica network (see network.ts). */

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
export const isRemote = (origin: unknown): origin is RemoteOrigin =>
  typeof origin === "object" && origin !== null && "remoteFrom" in origin;

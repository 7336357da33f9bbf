import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as awarenessProtocol from "y-protocols/awareness";
import { encodeAwareness, syncError } from "@ctxsync/protocol";

/**
 * Presence (awareness) for one room, with two protections for bystanders.
 *
 * 1. A connection may only speak for the awareness client ids it owns: the first live connection to
 *    announce an id owns it (at most `maxIdsPerConnection`) until it leaves. Entries about other ids are
 *    dropped, never relayed. Without this, a peer could remove or overwrite others' presence — and
 *    y-protocols makes a client whose own state a remote update removes broadcast it again, so a flood
 *    naming other clients' ids makes every bystander send.
 * 2. Relays are coalesced per room: changes are collected and sent at most once per `flushMs`, one
 *    message holding the latest state of every changed id, to every connection. The stock y-websocket
 *    client re-sends every awareness change it applies back to the server (its update handler does not
 *    look at the origin), so each relay costs each bystander one message: coalescing bounds that at
 *    1000/flushMs per second, whatever anyone else sends, and a bystander is never pushed over its
 *    message rate limit by traffic it did not originate. Those echoes name other clients' ids and are
 *    dropped by rule 1.
 * Awareness messages are also metered per connection apart from document messages: past
 * `perConnectionPerSecond` they are dropped (presence is ephemeral), never a reason to close.
 */
export interface AwarenessRelay {
  readonly awareness: awarenessProtocol.Awareness;
  /** Apply an awareness message from `peer`, keeping only the entries it may send. Throws SyncError malformed-message. */
  receive(update: Uint8Array, peer: AwarenessPeer): { applied: number; dropped: number };
  /** Everything known, for a connection that just joined or asked (query-awareness). */
  snapshot(): Uint8Array | undefined;
  /** Remove `peer`'s states and release its ids. */
  leave(peer: AwarenessPeer): void;
  destroy(): void;
}

export interface AwarenessPeer {
  readonly id: number;
  readonly closed: boolean;
  /** Awareness client ids this peer owns (filled and emptied by the relay). */
  readonly awarenessIds: Set<number>;
  send(frame: Uint8Array): void;
}

export interface AwarenessOptions {
  readonly flushMs: number;
  readonly maxIdsPerConnection: number;
  readonly perConnectionPerSecond: number;
  readonly peers: () => Iterable<AwarenessPeer>;
  /** A peer announced an id nobody owned (it now owns it). */
  readonly onAnnounce?: (peer: AwarenessPeer, client: number) => void;
  /**
   * May `peer` take up `client` when no live connection speaks for it? (The room answers with document
   * client-id ownership, so that nobody squats the id of a device that is offline for a while.)
   */
  readonly mayClaim?: (peer: AwarenessPeer, client: number) => boolean;
  /** Two connections of one identity (a device reconnecting before its old connection timed out): the new one takes over. */
  readonly sameIdentity?: (a: AwarenessPeer, b: AwarenessPeer) => boolean;
  /** Counted: entries dropped because the sender did not own them, or messages past the rate. */
  readonly onDrop?: (reason: "not-owner" | "rate") => void;
}

interface Entry {
  readonly client: number;
  readonly clock: number;
  readonly state: string;
}

const decodeEntries = (update: Uint8Array): Entry[] => {
  const d = decoding.createDecoder(update);
  const n = decoding.readVarUint(d);
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const client = decoding.readVarUint(d);
    const clock = decoding.readVarUint(d);
    const state = decoding.readVarString(d);
    JSON.parse(state); // throws on garbage, as y-protocols would
    out.push({ client, clock, state });
  }
  if (d.pos !== update.length) throw new Error(`${update.length - d.pos} trailing bytes`);
  return out;
};

const encodeEntries = (entries: readonly Entry[]): Uint8Array => {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, entries.length);
  for (const x of entries) {
    encoding.writeVarUint(e, x.client);
    encoding.writeVarUint(e, x.clock);
    encoding.writeVarString(e, x.state);
  }
  return encoding.toUint8Array(e);
};

export const createAwarenessRelay = (awareness: awarenessProtocol.Awareness, o: AwarenessOptions): AwarenessRelay => {
  const owners = new Map<number, AwarenessPeer>();
  const budget = new WeakMap<AwarenessPeer, { tokens: number; at: number }>();
  const changed = new Set<number>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let destroyed = false;

  const flush = () => {
    timer = undefined;
    if (destroyed || changed.size === 0) return;
    const ids = [...changed];
    changed.clear();
    const frame = encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(awareness, ids));
    for (const p of o.peers()) if (!p.closed) p.send(frame);
  };
  const schedule = () => {
    if (timer === undefined && !destroyed) timer = setTimeout(flush, o.flushMs);
  };
  const onUpdate = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
    for (const id of added) changed.add(id);
    for (const id of updated) changed.add(id);
    for (const id of removed) changed.add(id);
    if (changed.size > 0) schedule();
  };
  awareness.on("update", onUpdate);

  const allow = (peer: AwarenessPeer): boolean => {
    const now = performance.now();
    const b = budget.get(peer) ?? { tokens: o.perConnectionPerSecond, at: now };
    b.tokens = Math.min(o.perConnectionPerSecond, b.tokens + ((now - b.at) * o.perConnectionPerSecond) / 1000);
    b.at = now;
    budget.set(peer, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };

  return {
    awareness,
    receive(update, peer) {
      let entries: Entry[];
      try {
        entries = decodeEntries(update);
      } catch (e) {
        throw syncError("malformed-message", `malformed awareness update: ${(e as Error).message}`);
      }
      if (!allow(peer)) {
        o.onDrop?.("rate");
        return { applied: 0, dropped: entries.length };
      }
      const mine: Entry[] = [];
      for (const x of entries) {
        const owner = owners.get(x.client);
        if (owner === peer) {
          mine.push(x);
          continue;
        }
        const free = owner === undefined || owner.closed || (o.sameIdentity?.(owner, peer) ?? false);
        if (free && peer.awarenessIds.size < o.maxIdsPerConnection && x.state !== "null" && (o.mayClaim?.(peer, x.client) ?? true)) {
          if (owner) owner.awarenessIds.delete(x.client);
          owners.set(x.client, peer);
          peer.awarenessIds.add(x.client);
          o.onAnnounce?.(peer, x.client);
          mine.push(x);
        } else o.onDrop?.("not-owner");
      }
      if (mine.length > 0) awarenessProtocol.applyAwarenessUpdate(awareness, encodeEntries(mine), peer);
      return { applied: mine.length, dropped: entries.length - mine.length };
    },
    snapshot() {
      const ids = [...awareness.getStates().keys()];
      return ids.length > 0 ? encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(awareness, ids)) : undefined;
    },
    leave(peer) {
      const ids = [...peer.awarenessIds];
      for (const id of ids) if (owners.get(id) === peer) owners.delete(id);
      peer.awarenessIds.clear();
      const present = ids.filter((id) => awareness.getStates().has(id));
      if (present.length > 0) awarenessProtocol.removeAwarenessStates(awareness, present, null);
    },
    destroy() {
      destroyed = true;
      if (timer !== undefined) clearTimeout(timer);
      awareness.off("update", onUpdate);
    },
  };
};

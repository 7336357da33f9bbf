import * as Y from "yjs";
import { keyOutcome, type NewMapValue } from "./map-net-effect.js";
import { isServerClientId } from "./server-client.js";

/**
 * Validating a Yjs update against a document *before* applying it: the update is decoded (not
 * applied, the document is not copied) and every new struct and every deletion is checked against
 * per-root rules, and so is the update's net effect on every map key it touches (what the key holds
 * once the update is integrated, whatever the update's shape: a value set and deleted in one
 * transaction, several writers, reused client ids). Cost is proportional to the update; only a map
 * write whose writer had not seen the key's current value adds the walk over that key's history that
 * Yjs itself makes to integrate it (see map-net-effect.ts).
 */

export type ValidationCode =
  | "malformed"
  | "unknown-type"
  | "nested-type"
  | "bad-content"
  | "not-append"
  | "delete"
  | "invalid-value"
  | "duplicate-id"
  | "missing-parent"
  | "missing-dependency"
  | "head-not-descendant"
  | "unknown-head"
  | "immutable"
  | "own-client-id";

/** What a map key touched by an update holds once the update is integrated. */
export interface NetValue {
  /** False when the key had no value and still has none (only possible for keys that may be deleted). */
  readonly live: boolean;
  /** The value afterwards (undefined when not live). */
  readonly value: unknown;
  /** Whether one of the update's values ends up as the key's value (false: the key keeps its current value, or loses it). */
  readonly replaced: boolean;
}

export type ValidationResult =
  | {
      readonly ok: true;
      readonly arrays: ReadonlyMap<string, unknown[]>;
      /** Every value the update writes, per map root and key (for a key written twice, the later write). */
      readonly maps: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
      /** Per map root, every key whose value the update may change, and what it holds afterwards. */
      readonly net: ReadonlyMap<string, ReadonlyMap<string, NetValue>>;
    }
  | { readonly ok: false; readonly code: ValidationCode; readonly message: string };

export interface MapSet {
  readonly key: string;
  readonly value: unknown;
  /** The value this write replaced, as the writer saw it (from the item's origin), if any. */
  readonly previous: unknown;
  readonly hasPrevious: boolean;
  /**
   * Written by a ctxsync server (a server client id, see server-client.ts): the server's correcting
   * writes restore a value the server held, which need not descend from the value they replace.
   */
  readonly byServer: boolean;
}

export type RootRule =
  | { readonly type: "array"; readonly allowDelete: boolean; readonly value: (v: unknown) => string | undefined }
  | {
      readonly type: "map";
      /**
       * A key, once set, always holds a value: judged on the update's net effect, so a value set and
       * deleted in one transaction is a deletion too. An update that would leave a key without a value
       * is "missing-dependency" (early), not "delete": a value that lost to a concurrent write elsewhere
       * can arrive (relayed, or in a sync step 2) as a deleted item before the write that beat it; it is
       * held until the winner arrives. A real deletion never applies. Otherwise values may be deleted.
       */
      readonly keepsValue: boolean;
      readonly value: (key: string, v: unknown) => string | undefined;
    };

export interface UpdateRules {
  readonly roots: Readonly<Record<string, RootRule>>;
  /** Checks across the whole update (parents exist, heads descend...), after per-value checks. */
  readonly finish?: (ctx: {
    readonly arrays: ReadonlyMap<string, unknown[]>;
    readonly sets: ReadonlyMap<string, readonly MapSet[]>;
  }) => { code: ValidationCode; message: string } | undefined;
}

type Where = { root: string; sub: string | null };
class Reject extends Error {
  constructor(readonly code: ValidationCode, message: string) {
    super(message);
  }
}
const reject = (code: ValidationCode, message: string): never => {
  throw new Reject(code, message);
};

const idKey = (id: Y.ID) => `${id.client}:${id.clock}`;

/** A Yjs (v1) update, decoded once: callers that also need its structs (e.g. a no-op check) share it with the validator. */
export interface DecodedUpdate {
  readonly structs: Array<Y.Item | Y.GC | Y.Skip>;
  readonly ds: { readonly clients: Map<number, Array<{ clock: number; len: number }>> };
}

/** Decode an update without applying it; throws on bytes that are not an update. */
export const decodeUpdate = (update: Uint8Array): DecodedUpdate => Y.decodeUpdate(update) as unknown as DecodedUpdate;

export const validateUpdate = (doc: Y.Doc, update: Uint8Array | DecodedUpdate, rules: UpdateRules): ValidationResult => {
  try {
    return run(doc, update, rules);
  } catch (e) {
    if (e instanceof Reject) return { ok: false, code: e.code, message: e.message };
    return { ok: false, code: "malformed", message: `malformed update: ${e instanceof Error ? e.message : String(e)}` };
  }
};

const run = (doc: Y.Doc, update: Uint8Array | DecodedUpdate, rules: UpdateRules): ValidationResult => {
  let decoded: DecodedUpdate;
  try {
    decoded = update instanceof Uint8Array ? decodeUpdate(update) : update;
  } catch (e) {
    return { ok: false, code: "malformed", message: `malformed update: ${e instanceof Error ? e.message : String(e)}` };
  }
  const store = doc.store;
  const state = (client: number) => Y.getState(store, client);

  // New items of this update, by client, for origin lookups.
  const newItems = new Map<number, Y.Item[]>();
  for (const s of decoded.structs) {
    if (s instanceof Y.Item) {
      const list = newItems.get(s.id.client);
      if (list) list.push(s);
      else newItems.set(s.id.client, [s]);
    }
  }
  // Structs of one client come in clock order: binary search.
  const findNew = (id: Y.ID): Y.Item | undefined => {
    const list = newItems.get(id.client);
    if (!list) return undefined;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const it = list[mid]!;
      if (id.clock < it.id.clock) hi = mid - 1;
      else if (id.clock >= it.id.clock + it.length) lo = mid + 1;
      else return it;
    }
    return undefined;
  };
  const findStored = (id: Y.ID): Y.Item | undefined => {
    if (id.clock >= state(id.client)) return undefined;
    const s = Y.getItem(store, id);
    return s instanceof Y.Item ? s : undefined;
  };

  const rootKeyOf = (type: Y.AbstractType<unknown>): string => {
    if (type._item !== null) return reject("nested-type", "nested shared types are not allowed");
    return Y.findRootTypeKey(type);
  };
  const whereCache = new Map<string, Where>();
  /** Where an item lives. Iterative: a long chain of new items (a big offline backlog) must not overflow the stack. */
  const whereOf = (start: Y.Item, startStored: boolean): Where => {
    const pending: Y.Item[] = [];
    const seen = new Set<Y.Item>();
    let item = start;
    let stored = startStored;
    let w: Where | undefined;
    // Cached per struct, stored and new apart: a writer reusing a client id can send a struct whose id
    // is one this document already has for something else.
    const cacheKey = (i: Y.Item, isStored: boolean) => `${isStored ? "s" : "n"}${idKey(i.id)}`;
    for (;;) {
      const cached = whereCache.get(cacheKey(item, stored));
      if (cached) {
        w = cached;
        break;
      }
      if (stored) {
        w = { root: rootKeyOf(item.parent as Y.AbstractType<unknown>), sub: item.parentSub };
        break;
      }
      if (typeof item.parent === "string") {
        w = { root: item.parent, sub: item.parentSub };
        break;
      }
      if (item.parent !== null) return reject("nested-type", "items inside nested types are not allowed");
      const ref = item.origin ?? item.rightOrigin;
      if (ref === null) return reject("malformed", "item without parent or neighbours");
      pending.push(item);
      seen.add(item);
      const next = resolve(ref);
      item = next.item;
      stored = next.stored;
      if (seen.has(item)) return reject("malformed", "origin cycle");
    }
    whereCache.set(cacheKey(item, stored), w);
    for (const p of pending) whereCache.set(cacheKey(p, false), w);
    return w;
  };
  const resolve = (id: Y.ID): { item: Y.Item; stored: boolean } => {
    const stored = findStored(id);
    if (stored) return { item: stored, stored: true };
    const fresh = findNew(id);
    if (fresh) return { item: fresh, stored: false };
    return reject("missing-dependency", `update refers to ${idKey(id)}, which this document does not have`);
  };
  /** The value an item holds at clock `clock` (maps hold one value per item). */
  const valueAt = (item: Y.Item, clock: number): { known: boolean; value: unknown } => {
    if (item.content instanceof Y.ContentAny) return { known: true, value: item.content.arr[clock - item.id.clock] };
    return { known: false, value: undefined };
  };

  const arrays = new Map<string, unknown[]>();
  const sets = new Map<string, MapSet[]>();
  /** Per map root and key: the new values (logical items) of this update, and whether the key is touched at all. */
  const mapWrites = new Map<string, Map<string, NewMapValue[]>>();
  const touch = (root: string, key: string): NewMapValue[] => {
    let byKey = mapWrites.get(root);
    if (!byKey) mapWrites.set(root, (byKey = new Map()));
    let list = byKey.get(key);
    if (!list) byKey.set(key, (list = []));
    return list;
  };
  // The update's delete set, per client, sorted (when first needed): to tell whether it covers a given clock.
  const dsSorted = new Map<number, Array<{ clock: number; len: number }>>();
  const dsCovers = (client: number, clock: number): boolean => {
    let ranges = dsSorted.get(client);
    if (!ranges) {
      const raw = decoded.ds.clients.get(client);
      if (!raw) return false;
      dsSorted.set(client, (ranges = [...raw].sort((a, b) => a.clock - b.clock)));
    }
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = ranges[mid]!;
      if (clock < r.clock) hi = mid - 1;
      else if (clock >= r.clock + r.len) lo = mid + 1;
      else return true;
    }
    return false;
  };

  // Per client, the clock at which the next new struct must start. Yjs integrates a client's structs
  // in clock order only: what follows a gap would wait in Yjs's pending store, never checked against
  // what later fills the gap. Such an update is not invalid but early: "missing-dependency".
  const nextClock = new Map<number, number>();
  for (const s of decoded.structs) {
    const known = state(s.id.client);
    if (s.id.clock + s.length <= known) continue; // already integrated: a duplicate delivery
    const expected = nextClock.get(s.id.client) ?? known;
    if (s.id.clock > expected || s instanceof Y.Skip)
      reject("missing-dependency", `update continues client ${s.id.client} at clock ${s.id.clock}; this document has it up to ${expected}`);
    nextClock.set(s.id.client, s.id.clock + s.length);
    // Only this replica writes with its own client id: new structs under it come from an impostor, and
    // integrating them would make Yjs give this replica another id (and a server's correcting writes
    // would no longer be recognised as its own).
    if (s.id.client === doc.clientID) reject("own-client-id", `update writes with client id ${s.id.client}, which is this replica's own`);
    const offset = Math.max(0, known - s.id.clock);
    if (!(s instanceof Y.Item)) reject("bad-content", "garbage-collected structs are not accepted here");
    const item = s as Y.Item;
    const where = whereOf(item, false);
    // A struct this document has in part: Yjs integrates only the rest, linked after this document's
    // own item at the clock before, but keeps the parent the struct declares. A writer reusing a client
    // id can make those two disagree (the rest would be linked into another key's or type's list): only
    // a struct that continues where this document's item is may be integrated in part.
    let left: Y.Item | undefined;
    if (offset > 0) {
      const leftId = Y.createID(item.id.client, item.id.clock + offset - 1);
      left = findStored(leftId);
      const here = left ? whereOf(left, true) : undefined;
      if (!here || here.root !== where.root || here.sub !== where.sub)
        reject("malformed", `update continues ${idKey(leftId)} elsewhere than this document has it (a reused client id)`);
    }
    const rule = rules.roots[where.root];
    if (!rule) reject("unknown-type", `unknown shared type ${JSON.stringify(where.root)}`);
    const content = item.content;
    const isAny = content instanceof Y.ContentAny;
    if (!isAny && !(content instanceof Y.ContentDeleted)) {
      reject("bad-content", `only plain JSON values are accepted in ${where.root}`);
    }
    if (rule!.type === "array") {
      if (where.sub !== null) reject("malformed", `${where.root} is an array, not a map`);
      if (item.rightOrigin !== null) reject("not-append", `${where.root} is append-only: insertion before an existing item`);
      if (!isAny) {
        if (!rule!.allowDelete) reject("delete", `${where.root} is append-only: an item was removed`);
        continue;
      }
      const values = (content as Y.ContentAny).arr.slice(offset);
      for (const v of values) {
        const p = rule!.value(v);
        if (p) reject("invalid-value", `${where.root}: ${p}`);
      }
      const list = arrays.get(where.root);
      if (list) list.push(...values);
      else arrays.set(where.root, [...values]);
    } else {
      if (where.sub === null) reject("malformed", `${where.root} is a map, not an array`);
      // Yjs writes map values after the value the writer saw and never before another one; an item that
      // names a right neighbour is not a map write (and would make the net effect below unpredictable).
      if (item.rightOrigin !== null) reject("malformed", `${where.root}.${where.sub}: a map value may not name a right neighbour`);
      const key = where.sub!;
      // Logical items: one struct may hold several values of one client written one after the other
      // (Yjs merges them once they are deleted); only the part this document lacks is new.
      const fresh = touch(where.root, key);
      const values = isAny ? (content as Y.ContentAny).arr : undefined;
      for (let k = offset; k < item.length; k++) {
        const clock = item.id.clock + k;
        fresh.push({
          client: item.id.client,
          clock,
          parent: k === 0 ? item.origin : Y.createID(item.id.client, clock - 1),
          deleted: !isAny || dsCovers(item.id.client, clock),
          value: values?.[k],
          hasValue: isAny,
        });
      }
      if (!isAny) continue; // values set and replaced before they were sent
      // Every value ever written stays in the document (the server keeps deleted content): check each.
      for (let k = offset; k < item.length; k++) {
        const p = rule!.value(key, values![k]);
        if (p) reject("invalid-value", `${where.root}.${key}: ${p}`);
      }
      const list = sets.get(where.root) ?? [];
      sets.set(where.root, list);
      const byServer = isServerClientId(item.id.client);
      for (let k = offset; k < item.length; k++) {
        // The value this write replaced, as its writer saw it: the one before it in the same struct, or
        // the first known value up the origin chain.
        let previous: unknown = undefined;
        let hasPrevious = false;
        if (k > offset) {
          previous = values![k - 1];
          hasPrevious = true;
        } else if (k > 0) {
          // The first new value follows this document's item at the clock before (see `left` above).
          const v = left ? valueAt(left, item.id.clock + k - 1) : { known: false, value: undefined };
          previous = v.value;
          hasPrevious = v.known;
        } else {
          let ref = item.origin;
          while (ref !== null) {
            const r = resolve(ref);
            const v = valueAt(r.item, ref.clock);
            if (v.known) {
              previous = v.value;
              hasPrevious = true;
              break;
            }
            ref = r.item.origin;
          }
        }
        list.push({ key, value: values![k], previous, hasPrevious, byServer });
      }
    }
  }

  // Deletions.
  for (const [client, ranges] of decoded.ds.clients) {
    for (const { clock, len } of ranges) {
      let c = clock;
      const end = clock + len;
      while (c < end) {
        const r = resolve(Y.createID(client, c));
        const item = r.item;
        const itemEnd = item.id.clock + item.length;
        if (!(r.stored && item.deleted)) {
          const where = whereOf(item, r.stored);
          const rule = rules.roots[where.root];
          if (!rule) reject("unknown-type", `unknown shared type ${JSON.stringify(where.root)}`);
          if (rule!.type === "array" && !rule!.allowDelete) reject("delete", `${where.root} is append-only: an item was deleted`);
          if (rule!.type === "map") touch(where.root, where.sub!); // judged on the net effect below
        }
        c = itemEnd;
      }
    }
  }

  // Net effect per touched map key: what the key holds once the update is integrated.
  const net = new Map<string, Map<string, NetValue>>();
  for (const [root, byKey] of mapWrites) {
    const rule = rules.roots[root] as Extract<RootRule, { type: "map" }>;
    const type = doc.share.get(root);
    const out = new Map<string, NetValue>();
    net.set(root, out);
    for (const [key, fresh] of byKey) {
      const current = type?._map.get(key);
      const lastClock = current ? current.id.clock + current.length - 1 : 0;
      const outcome = keyOutcome(store, current, fresh, current !== undefined && dsCovers(current.id.client, lastClock));
      const value = !outcome.live ? undefined : outcome.winner === "new" ? outcome.item.value : (current!.content as Y.ContentAny).arr[current!.length - 1];
      out.set(key, { live: outcome.live, value, replaced: outcome.winner === "new" });
      const hadValue = current !== undefined && !current.deleted;
      // A key that keeps its value is never left without one (a key already without one is not this update's doing).
      if (rule.keepsValue && !outcome.live && (hadValue || current === undefined))
        reject(
          "missing-dependency",
          `${root}.${key}: the update would leave it without a value (values may only be replaced, never deleted; or the write that replaces it has not arrived yet)`,
        );
    }
  }

  const problem = rules.finish?.({ arrays, sets });
  if (problem) return { ok: false, code: problem.code, message: problem.message };
  const maps = new Map<string, Map<string, unknown>>();
  for (const [root, list] of sets) maps.set(root, new Map(list.map((s) => [s.key, s.value])));
  return { ok: true, arrays, maps, net };
};

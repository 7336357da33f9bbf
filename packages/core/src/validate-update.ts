import * as Y from "yjs";

/**
 * Validating a Yjs update against a document *before* applying it: the update is decoded (not
 * applied, the document is not copied) and every new struct and every deletion is checked against
 * per-root rules. Cost is proportional to the update, not to the document.
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
  | "immutable";

export type ValidationResult =
  | { readonly ok: true; readonly arrays: ReadonlyMap<string, unknown[]>; readonly maps: ReadonlyMap<string, ReadonlyMap<string, unknown>> }
  | { readonly ok: false; readonly code: ValidationCode; readonly message: string };

export interface MapSet {
  readonly key: string;
  readonly value: unknown;
  /** The value this write replaced, as the writer saw it (from the item's origin), if any. */
  readonly previous: unknown;
  readonly hasPrevious: boolean;
}

export type RootRule =
  | { readonly type: "array"; readonly allowDelete: boolean; readonly value: (v: unknown) => string | undefined }
  | {
      readonly type: "map";
      /**
       * "never", "always", or "replace": only as part of setting the same key again. Under "replace", a
       * deletion without a new value is "missing-dependency" (early), not "delete": see the deletion check.
       */
      readonly delete: "never" | "always" | "replace";
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
    for (;;) {
      const cached = whereCache.get(idKey(item.id));
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
    whereCache.set(idKey(item.id), w);
    for (const p of pending) whereCache.set(idKey(p.id), w);
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
  const newlySetKeys = new Set<string>();

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
    const offset = Math.max(0, known - s.id.clock);
    if (!(s instanceof Y.Item)) reject("bad-content", "garbage-collected structs are not accepted here");
    const item = s as Y.Item;
    const where = whereOf(item, false);
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
      if (item.length !== 1 && isAny) reject("malformed", `${where.root}: a map item holds one value`);
      const key = where.sub!;
      newlySetKeys.add(`${where.root}\u0000${key}`);
      if (!isAny) continue; // a value set and replaced before it was sent
      const value = (content as Y.ContentAny).arr[0];
      const p = rule!.value(key, value);
      if (p) reject("invalid-value", `${where.root}.${key}: ${p}`);
      // Walk the origin chain to the value the writer replaced.
      let previous: unknown = undefined;
      let hasPrevious = false;
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
      const list = sets.get(where.root) ?? [];
      list.push({ key, value, previous, hasPrevious });
      sets.set(where.root, list);
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
          if (rule!.type === "map") {
            if (rule!.delete === "never") reject("delete", `${where.root}.${where.sub}: values may not be deleted`);
            // A deletion with no new value for the key in this update is not necessarily a deletion:
            // a value that lost to a concurrent write arrives from a relaying server as a deleted item,
            // and a replica that has not seen the winner yet carries that deletion in its own sync step 2.
            // A server instance that has not seen the winner either (instances behind a load balancer
            // lag each other) cannot tell, so the update is early: held until the winner arrives, when
            // the value is deleted here too and the update applies. A real deletion never applies.
            if (rule!.delete === "replace" && !newlySetKeys.has(`${where.root}\u0000${where.sub}`))
              reject(
                "missing-dependency",
                `${where.root}.${where.sub}: the update deletes its value without replacing it (values may only be replaced; the replacing write may not have arrived yet)`,
              );
          }
        }
        c = itemEnd;
      }
    }
  }

  const problem = rules.finish?.({ arrays, sets });
  if (problem) return { ok: false, code: problem.code, message: problem.message };
  const maps = new Map<string, Map<string, unknown>>();
  for (const [root, list] of sets) maps.set(root, new Map(list.map((s) => [s.key, s.value])));
  return { ok: true, arrays, maps };
};

import * as Y from "yjs";

/**
 * What one key of a root `Y.Map` will hold once an update is integrated, computed without applying it.
 *
 * The values ever written to a map key form a list; the key holds the last one. Every value is written
 * after the value its writer saw (its origin; `null` for a writer that saw none) and never names a right
 * neighbour (Yjs map writes have no right origin; the validator refuses map items that do). For such a
 * list Yjs's integration (YATA) reduces to a tree: each value hangs below its origin, siblings are ordered
 * by ascending client id (one client's siblings by descending clock), and the list is the tree's
 * pre-order. The key's value is therefore the node reached from the root by always taking the last child.
 *
 * Today's last value R ends the current rightmost path P. A new value N can only end up after R if its
 * origin lies on P and it sorts after P's child there (or its origin is R itself). So the result needs
 * the new values of the update plus, only when one of them hangs off a point of P above R (a writer
 * that had not seen the current value), a walk up P from R to that point — the same stretch of the
 * key's history that Yjs walks to integrate that write. The common case (every writer saw R) costs
 * O(new values).
 */

/** One new value of the key, as a logical item (Yjs may merge several into one struct). */
export interface NewMapValue {
  readonly client: number;
  readonly clock: number;
  /** The logical item it was written after: an existing one, another new one, or null (none seen). */
  readonly parent: Y.ID | null;
  /** Deleted once the update is integrated (its content is gone, or the update's delete set covers it). */
  readonly deleted: boolean;
  readonly value: unknown;
  readonly hasValue: boolean;
}

export type KeyOutcome =
  /** The key keeps its current last item (maybe deleted by the update: `live` says). */
  | { readonly winner: "current"; readonly live: boolean }
  /** A new value ends up last. */
  | { readonly winner: "new"; readonly item: NewMapValue; readonly live: boolean };

const key = (client: number, clock: number) => `${client}:${clock}`;
const ROOT = "root";
/** The sibling that sorts last: highest client id; within one client, the lowest clock. */
const later = (a: NewMapValue, b: NewMapValue) => (a.client !== b.client ? a.client > b.client : a.clock < b.clock);

/**
 * @param store the document's struct store
 * @param current the key's current last item (`map._map.get(key)`), if the key was ever written
 * @param fresh the update's new values for the key
 * @param currentDeletedByUpdate does the update's delete set cover the current last item's last clock?
 */
export const keyOutcome = (
  store: Y.Doc["store"],
  current: Y.Item | undefined,
  fresh: readonly NewMapValue[],
  currentDeletedByUpdate: boolean,
): KeyOutcome => {
  const currentLive = current !== undefined && !current.deleted && !currentDeletedByUpdate;
  if (fresh.length === 0) return { winner: "current", live: currentLive };
  // The common case: one new value, written after the current one (its writer saw it).
  if (fresh.length === 1) {
    const v = fresh[0]!;
    const p = v.parent;
    if (current ? p !== null && p.client === current.id.client && p.clock === current.id.clock + current.length - 1 : p === null)
      return { winner: "new", item: v, live: !v.deleted };
  }

  // The new values as a forest: children by parent.
  const byId = new Map<string, NewMapValue>();
  for (const v of fresh) byId.set(key(v.client, v.clock), v);
  const children = new Map<string, NewMapValue[]>();
  const attached: NewMapValue[] = []; // new values whose parent is not new (an existing item, or the root)
  for (const v of fresh) {
    const p = v.parent === null ? ROOT : key(v.parent.client, v.parent.clock);
    if (byId.has(p)) {
      const list = children.get(p);
      if (list) list.push(v);
      else children.set(p, [v]);
    } else attached.push(v);
  }
  const descend = (v: NewMapValue): NewMapValue => {
    for (;;) {
      const kids = children.get(key(v.client, v.clock));
      if (!kids || kids.length === 0) return v;
      v = kids.reduce((best, k) => (later(k, best) ? k : best));
    }
  };

  // The current rightmost path P, walked up lazily from R: for each point, its child towards R and its height above R.
  const towardR = new Map<string, { client: number; clock: number }>();
  const height = new Map<string, number>();
  let walked: { client: number; clock: number } | null = null;
  let walkDone = current === undefined;
  if (current) {
    walked = { client: current.id.client, clock: current.id.clock + current.length - 1 };
    height.set(key(walked.client, walked.clock), 0);
  } else height.set(ROOT, 0);
  const parentOf = (id: { client: number; clock: number }): Y.ID | null => {
    const s = Y.getItem(store, Y.createID(id.client, id.clock)) as Y.Item;
    return id.clock > s.id.clock ? Y.createID(id.client, id.clock - 1) : s.origin;
  };
  /** One step up P: the key of the point reached, or undefined once the root has been passed. */
  const stepP = (): string | undefined => {
    if (walkDone || walked === null) return undefined;
    const h = height.get(key(walked.client, walked.clock))!;
    const p = parentOf(walked);
    const pk = p === null ? ROOT : key(p.client, p.clock);
    towardR.set(pk, walked);
    height.set(pk, h + 1);
    if (p === null) {
      walkDone = true;
      walked = null;
    } else walked = { client: p.client, clock: p.clock };
    return pk;
  };
  /**
   * Is `target` on P? Walks up from R and from the target in turns: the target is on P when the walk
   * from R meets it; it is not when the two walks meet anywhere else (a writer continuing a line that
   * already lost joins P at the lines' common ancestor). So a writer a few steps off P costs a few
   * steps, not the key's whole history.
   */
  const onPath = (target: string): boolean => {
    if (height.has(target)) return true;
    const seen = new Set<string>([target]);
    let up: { client: number; clock: number } | undefined =
      target === ROOT
        ? undefined
        : (() => {
            const [c, k] = target.split(":");
            return { client: Number(c), clock: Number(k) };
          })();
    for (;;) {
      const reached = stepP();
      if (reached === undefined) return height.has(target);
      if (reached === target) return true;
      if (seen.has(reached)) return false;
      if (up !== undefined) {
        const p = parentOf(up);
        const pk = p === null ? ROOT : key(p.client, p.clock);
        if (height.has(pk)) return false;
        seen.add(pk);
        up = p === null ? undefined : { client: p.client, clock: p.clock };
      }
    }
  };

  // Among new values hung on P that sort after P's child there, the highest point wins.
  let best: { v: NewMapValue; h: number } | undefined;
  for (const v of attached) {
    const p = v.parent === null ? ROOT : key(v.parent.client, v.parent.clock);
    if (!onPath(p)) continue; // hangs off a branch that already lost: ends up before R
    const child = towardR.get(p); // undefined when p is R's last item (or the root of an empty key)
    if (child !== undefined && !(v.client > child.client)) continue;
    const h = height.get(p)!;
    if (!best || h > best.h || (h === best.h && later(v, best.v))) best = { v, h };
  }
  if (!best) return { winner: "current", live: currentLive };
  const last = descend(best.v);
  return { winner: "new", item: last, live: !last.deleted };
};

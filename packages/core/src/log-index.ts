import { canonicalEntry, type Entry } from "./entry.js";
import { chainHash, ROOT_HASH, type PrefixHash } from "./hash.js";
import type { EntryId } from "./ids.js";

/**
 * In-memory index over the entries of a log: by id, children, leaves, depth and prefix hashes.
 * Updated one entry at a time (O(1) per entry); depth and hashes are memoized on first use, so
 * hashing after an append costs O(new entry) and an unchanged prefix keeps its hash.
 */
export interface LogIndex {
  add(entry: Entry): boolean;
  get(id: EntryId): Entry | undefined;
  has(id: EntryId): boolean;
  readonly size: number;
  children(id: EntryId): readonly EntryId[];
  leaves(): ReadonlySet<EntryId>;
  depth(id: EntryId): number;
  hash(id: EntryId): PrefixHash;
  /** Entries from the root to `head`, inclusive. */
  path(head: EntryId): Entry[];
  /** Is `ancestor` equal to `id` or on its parent chain? Costs O(depth difference). */
  isAncestorOrSelf(ancestor: EntryId, id: EntryId): boolean;
}

export const createLogIndex = (): LogIndex => {
  const byId = new Map<EntryId, Entry>();
  const children = new Map<EntryId, EntryId[]>();
  const leaves = new Set<EntryId>();
  const depths = new Map<EntryId, number>();
  const hashes = new Map<EntryId, PrefixHash>();
  const EMPTY: readonly EntryId[] = [];

  const require = (id: EntryId): Entry => {
    const e = byId.get(id);
    if (!e) throw new Error(`unknown entry ${id}`);
    return e;
  };

  /** Walk up from `id` to the first memoized ancestor, then fill in downwards (no recursion). */
  const memoChain = <T>(id: EntryId, memo: Map<EntryId, T>, rootValue: T, step: (parentValue: T, e: Entry) => T): T => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const stack: Entry[] = [];
    let cur: Entry | undefined = require(id);
    let base = rootValue;
    while (cur) {
      const m = memo.get(cur.id);
      if (m !== undefined) {
        base = m;
        break;
      }
      stack.push(cur);
      cur = cur.parent === null ? undefined : require(cur.parent);
    }
    let value = base;
    for (let i = stack.length - 1; i >= 0; i--) {
      const e = stack[i]!;
      value = step(value, e);
      memo.set(e.id, value);
    }
    return value;
  };

  const index: LogIndex = {
    add(entry) {
      if (byId.has(entry.id)) return false;
      byId.set(entry.id, entry);
      if (!children.has(entry.id)) leaves.add(entry.id);
      if (entry.parent !== null) {
        const siblings = children.get(entry.parent);
        if (siblings) siblings.push(entry.id);
        else children.set(entry.parent, [entry.id]);
        leaves.delete(entry.parent);
      }
      return true;
    },
    get: (id) => byId.get(id),
    has: (id) => byId.has(id),
    get size() {
      return byId.size;
    },
    children: (id) => children.get(id) ?? EMPTY,
    leaves: () => leaves,
    depth: (id) => memoChain(id, depths, -1, (d) => d + 1),
    hash: (id) => memoChain(id, hashes, ROOT_HASH, (h, e) => chainHash(h, canonicalEntry(e))),
    path(head) {
      const out: Entry[] = [];
      let cur: Entry | undefined = require(head);
      while (cur) {
        out.push(cur);
        cur = cur.parent === null ? undefined : require(cur.parent);
      }
      return out.reverse();
    },
    isAncestorOrSelf(ancestor, id) {
      if (!byId.has(ancestor) || !byId.has(id)) return false;
      const target = index.depth(ancestor);
      let cur = require(id);
      let d = index.depth(id);
      while (d > target && cur.parent !== null) {
        cur = require(cur.parent);
        d--;
      }
      return cur.id === ancestor;
    },
  };
  return index;
};

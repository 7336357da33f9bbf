import { forkBranchName, RECONCILER, type Branch } from "./branch.js";
import type { BranchName, EntryId } from "./ids.js";
import { hidden, type ConversationLog } from "./log.js";
import { LOG_ROOTS } from "./names.js";

/** Leaves that no branch points to. Costs O(leaves + branches), not O(entries). */
export const orphanedLeaves = (log: ConversationLog): EntryId[] => {
  const heads = new Set<EntryId>();
  for (const b of log.branches().values()) heads.add(b.head);
  return [...log.index.leaves()].filter((leaf) => !heads.has(leaf)).sort();
};

/** The nearest ancestor of `leaf` with more than one child: where the leaf's line split off. */
const forkPoint = (log: ConversationLog, leaf: EntryId): EntryId | null => {
  let cur = log.get(leaf);
  while (cur && cur.parent !== null) {
    if (log.children(cur.parent).length > 1) return cur.parent;
    cur = log.get(cur.parent);
  }
  return null;
};

/**
 * After any merge: give every orphaned leaf a branch named `fork/<leaf>`. The name and record
 * depend only on the leaf, so all replicas compute the same branch map, and concurrent
 * continuations of one head end up as separate branches instead of one interleaved transcript.
 * Returns the branches it created (none when the map is already complete).
 */
export const reconcile = (log: ConversationLog): BranchName[] => {
  const orphans = orphanedLeaves(log);
  if (orphans.length === 0) return [];
  const yBranches = log.doc.getMap<Branch>(LOG_ROOTS.branches);
  const created: BranchName[] = [];
  log.transact(() => {
    for (const leaf of orphans) {
      const name = forkBranchName(leaf);
      // A hidden key has a live value elsewhere that has not arrived yet (see `hidden`). Writing it
      // again would only add another losing value, which hides the key on the next replica in turn.
      if (yBranches.has(name) || hidden(yBranches, name)) continue;
      const entry = log.get(leaf)!;
      yBranches.set(name, { head: leaf, base: forkPoint(log, leaf), createdBy: RECONCILER, createdAt: entry.meta.time });
      created.push(name);
    }
  });
  return created;
};

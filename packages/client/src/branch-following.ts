import { RECONCILER, type BranchName, type ConversationLog, type EntryId } from "@ctxsync/core";

/**
 * Branch following: after remote changes, has another device's continuation won `current`? If the
 * last entry this device appended there (`mine`) is no longer an ancestor of the head, our line
 * lives on in a branch whose head descends from it; return that branch (the reconciler's branch for
 * our leaf first, over a fork someone else made from our line). Undefined: stay on `current`.
 */
export const branchCarrying = (log: ConversationLog, current: string, mine: EntryId | undefined): BranchName | undefined => {
  const b = log.branch(current);
  if (!mine || !b || log.isAncestorOrSelf(mine, b.head)) return undefined;
  const candidates = [...log.branches()].filter(([, x]) => log.isAncestorOrSelf(mine, x.head));
  const ours = candidates.find(([, x]) => x.createdBy === RECONCILER) ?? candidates[0];
  return ours?.[0];
};

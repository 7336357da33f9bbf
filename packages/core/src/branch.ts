import { isBranchName, isEntryId, type BranchName, type EntryId } from "./ids.js";
import { isJsonObject } from "./json.js";

/** A branch: a named pointer at a head entry. Its transcript is the parent chain of the head. */
export interface Branch {
  readonly head: EntryId;
  /** The entry it was forked from (null for a branch that starts at a root). */
  readonly base: EntryId | null;
  /** A device id, or "reconciler" for branches made for orphaned leaves. */
  readonly createdBy: string;
  readonly createdAt: number;
}

export const MAIN = "main" as BranchName;
export const RECONCILER = "reconciler";

/**
 * The reconciler's naming rule: the branch for an orphaned leaf L is `fork/<L>`.
 * Derived from the leaf alone, so every replica picks the same name.
 */
export const forkBranchName = (leaf: EntryId): BranchName => `fork/${leaf}` as BranchName;

export const branchProblem = (name: unknown, v: unknown): string | undefined => {
  if (!isBranchName(name)) return `invalid branch name ${JSON.stringify(name)}`;
  if (!isJsonObject(v)) return "branch must be an object";
  const extra = Object.keys(v).find((k) => !["head", "base", "createdBy", "createdAt"].includes(k));
  if (extra) return `branch has unknown field ${extra}`;
  if (!isEntryId(v.head)) return "branch head must be an entry id";
  if (v.base !== null && !isEntryId(v.base)) return "branch base must be an entry id or null";
  if (typeof v.createdBy !== "string") return "branch createdBy must be a string";
  if (typeof v.createdAt !== "number" || !Number.isFinite(v.createdAt)) return "branch createdAt must be a number";
  return undefined;
};

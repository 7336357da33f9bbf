import type * as Y from "yjs";
import { branchProblem, type Branch } from "./branch.js";
import { handleProblem, usageProblem } from "./cache-doc.js";
import { leaseProblem } from "./rebuild-lease.js";
import { entryProblem, type Entry } from "./entry.js";
import { blobProblem } from "./hidden-doc.js";
import type { EntryId } from "./ids.js";
import type { ConversationLog } from "./log.js";
import { CACHE_ROOTS, HIDDEN_ROOTS, LOG_ROOTS, type DocKind } from "./names.js";
import { noteProblem, type Note } from "./note.js";
import { validateUpdate, type DecodedUpdate, type UpdateRules, type ValidationResult } from "./validate-update.js";

export type { ValidationCode, ValidationResult } from "./validate-update.js";

/**
 * The rules of the canonical log `C`, given its current state:
 * - entries and notes are append-only (no deletion, no insertion before an existing item);
 * - every new entry is well-formed, has a fresh id, and its parent exists (in `C` or in the update);
 * - a branch or info key, once set, always holds a value, judged on the update's net effect (a value
 *   set and deleted in one transaction is a deletion);
 * - a branch's head must exist, and a writer may only move a head to a descendant of the head it
 *   replaced (the value it saw);
 * - conversation info keys are set once: a writer may not replace a value it has seen.
 * Values written by a server (server client ids) are exempt from the last two: a server's correcting
 * write restores the value the server held (keep-held.ts).
 *
 * These rules judge each write against what its writer saw, which is all a replica can judge. Two
 * devices that write the same key concurrently (neither saw the other's value) are both accepted —
 * refusing the second would leave its device unable ever to sync — and the server, the authority,
 * then keeps what it held: see `applyKeepingHeld`.
 */
export const logRules = (log: ConversationLog): UpdateRules => ({
  roots: {
    [LOG_ROOTS.entries]: { type: "array", allowDelete: false, value: entryProblem },
    [LOG_ROOTS.notes]: { type: "array", allowDelete: false, value: noteProblem },
    [LOG_ROOTS.branches]: { type: "map", keepsValue: true, value: branchProblem },
    [LOG_ROOTS.info]: { type: "map", keepsValue: true, value: () => undefined },
  },
  finish({ arrays, sets }) {
    const fresh = new Map<EntryId, Entry>();
    for (const v of (arrays.get(LOG_ROOTS.entries) ?? []) as Entry[]) {
      if (log.index.has(v.id) || fresh.has(v.id)) return { code: "duplicate-id", message: `entry ${v.id} already exists` };
      fresh.set(v.id, v);
    }
    const exists = (id: EntryId) => fresh.has(id) || log.index.has(id);
    const descends = descendsWith(log, fresh);
    for (const e of fresh.values()) {
      if (e.parent !== null && !exists(e.parent))
        return { code: "missing-parent", message: `entry ${e.id} names parent ${e.parent}, which does not exist` };
      if (e.kind === "summary" && (!exists(e.content.from) || !exists(e.content.to)))
        return { code: "missing-parent", message: `summary ${e.id} stands for entries that do not exist` };
    }
    for (const n of (arrays.get(LOG_ROOTS.notes) ?? []) as Note[]) {
      if (!exists(n.entry)) return { code: "missing-parent", message: `note ${n.id} is on unknown entry ${n.entry}` };
    }
    for (const s of sets.get(LOG_ROOTS.branches) ?? []) {
      const b = s.value as Branch;
      if (!exists(b.head)) return { code: "unknown-head", message: `branch ${s.key} points at unknown entry ${b.head}` };
      const prev = s.previous as Branch | undefined;
      if (!s.byServer && s.hasPrevious && prev && !descends(prev.head, b.head))
        return {
          code: "head-not-descendant",
          message: `branch ${s.key}: head moved from ${prev.head} to ${b.head}, which does not descend from it`,
        };
    }
    for (const s of sets.get(LOG_ROOTS.info) ?? []) {
      if (s.hasPrevious && !s.byServer) return { code: "immutable", message: `conversation info ${s.key} is already set` };
    }
    return undefined;
  },
});

/**
 * "Is `ancestor` equal to `id` or on its parent chain?" over the log plus entries not in it yet (an
 * update's new entries, before its transaction has ended and the log's index has seen them).
 * Costs O(new entries on the path + depth difference in the log).
 */
export const descendsWith =
  (log: ConversationLog, fresh: ReadonlyMap<EntryId, Entry>) =>
  (ancestor: EntryId, id: EntryId): boolean => {
    let cur: EntryId | null = id;
    while (cur !== null && fresh.has(cur)) {
      if (cur === ancestor) return true;
      cur = fresh.get(cur)!.parent;
    }
    return cur !== null && log.index.isAncestorOrSelf(ancestor, cur);
  };

export const cacheRules: UpdateRules = {
  roots: {
    [CACHE_ROOTS.handles]: { type: "map", keepsValue: false, value: handleProblem },
    [CACHE_ROOTS.usage]: { type: "array", allowDelete: true, value: usageProblem },
    // Written by the sync server's compare-and-set only (clients read it); shape-checked like the rest,
    // and never deleted: a lost record would reset the version devices ask against.
    [CACHE_ROOTS.leases]: { type: "map", keepsValue: true, value: leaseProblem },
  },
};

export const hiddenRules: UpdateRules = {
  roots: { [HIDDEN_ROOTS.blobs]: { type: "array", allowDelete: false, value: blobProblem } },
};

/** Accept or reject an incoming update to the canonical log `C`, without applying it. */
export const validateLogUpdate = (log: ConversationLog, update: Uint8Array | DecodedUpdate): ValidationResult =>
  validateUpdate(log.doc, update, logRules(log));

/** Validate an update to any of the three documents. The log needs its index (an open ConversationLog). */
export const validateDocUpdate = (
  kind: DocKind,
  target: { log: ConversationLog } | { doc: Y.Doc },
  update: Uint8Array | DecodedUpdate,
): ValidationResult => {
  if (kind === "log") {
    if (!("log" in target)) throw new Error("validating the log needs an open ConversationLog");
    return validateLogUpdate(target.log, update);
  }
  const doc = "log" in target ? target.log.doc : target.doc;
  return validateUpdate(doc, update, kind === "cache" ? cacheRules : hiddenRules);
};

import * as Y from "yjs";
import type { Branch } from "./branch.js";
import { canonicalJson } from "./canonical.js";
import type { Entry } from "./entry.js";
import { coreError } from "./errors.js";
import type { EntryId } from "./ids.js";
import type { JsonValue } from "./json.js";
import type { ConversationLog } from "./log.js";
import { LOG_ROOTS } from "./names.js";
import { isServerClientId } from "./server-client.js";
import type { ValidationResult } from "./validate-update.js";
import { descendsWith } from "./validate.js";

/** A key whose value a server wrote back because the incoming update would have changed it. */
export interface Correction {
  readonly root: typeof LOG_ROOTS.branches | typeof LOG_ROOTS.info;
  readonly key: string;
}

/**
 * The server's rule for concurrent writes: **the server keeps what it held.** Two devices that write
 * the same branch or info key without having seen each other's value are both valid (neither can be
 * refused: a refused update is final for the stock client, and its device's offline work would never
 * sync). Yjs settles such a key by client id; the server instead keeps what reached it first:
 * - a branch head only moves to a descendant of the head the server holds — a later continuation of
 *   the same head keeps its entries, and its leaf becomes a fork through the reconciler;
 * - an info key keeps the value the server holds.
 *
 * `applyKeepingHeld` applies a validated update and, in the same transaction (so that no replica ever
 * sees the state in between), writes the held value back for every key the update would otherwise
 * have changed that way. The correcting write is a causally later write by the server: it follows the
 * value that beat the held one, and server client ids (from 2^32 up, above every device's 32-bit id)
 * sort after any concurrent device write of the key, so it settles the key on every replica. Every
 * validating replica accepts it because values written under server ids are exempt from the
 * writer-relative rules (see validate.ts); devices cannot write under the server's current id
 * (`own-client-id`), and a device writing under another server id gains nothing, since the server
 * judges every write by its net effect.
 *
 * The log's document must write with a server client id (`newServerClientId`).
 * Costs O(keys the update touches + new entries on the paths compared).
 */
export const applyKeepingHeld = (
  log: ConversationLog,
  update: Uint8Array,
  validation: Extract<ValidationResult, { ok: true }>,
  origin: unknown,
  opts: {
    /** Called with the corrections inside the transaction, before its update is emitted (to decide who gets it). */
    readonly onCorrections?: (corrections: readonly Correction[]) => void;
  } = {},
): Correction[] => {
  const doc = log.doc;
  if (!isServerClientId(doc.clientID)) throw coreError("internal", "applyKeepingHeld needs a document that writes with a server client id");
  const branches = doc.getMap<Branch>(LOG_ROOTS.branches);
  const info = doc.getMap<JsonValue>(LOG_ROOTS.info);
  const touchedBranches = [...(validation.net.get(LOG_ROOTS.branches) ?? new Map())].filter(([, n]) => n.replaced).map(([k]) => k);
  const touchedInfo = [...(validation.net.get(LOG_ROOTS.info) ?? new Map())].filter(([, n]) => n.replaced).map(([k]) => k);
  const heldBranches = touchedBranches.map((k) => [k, branches.get(k)] as const).filter((x): x is readonly [string, Branch] => x[1] !== undefined);
  const heldInfo = touchedInfo.filter((k) => info.has(k)).map((k) => [k, info.get(k)!] as const);
  const corrections: Correction[] = [];
  if (heldBranches.length === 0 && heldInfo.length === 0) {
    Y.applyUpdate(doc, update, origin);
    return corrections;
  }
  const fresh = new Map<EntryId, Entry>();
  for (const e of (validation.arrays.get(LOG_ROOTS.entries) ?? []) as Entry[]) fresh.set(e.id, e);
  const descends = descendsWith(log, fresh);
  doc.transact((tr) => {
    Y.applyUpdate(doc, update, origin);
    // Applying an update marks the transaction remote, and Yjs gives a document a new client id when a
    // remote transaction changes its own client's state (it assumes another replica is using its id).
    // The writes below are this server's own: the update carries nothing under its id (own-client-id),
    // so the transaction is marked local again. A remote transaction also makes Yjs drop the search
    // markers (cached index positions) of arrays, which the update may have shifted: drop them here.
    tr.local = true;
    for (const type of doc.share.values()) {
      const markers = (type as unknown as { _searchMarker: unknown[] | null })._searchMarker;
      if (markers) markers.length = 0;
    }
    for (const [key, held] of heldBranches) {
      const now = branches.get(key);
      if (now !== undefined && descends(held.head, now.head)) continue;
      branches.set(key, held);
      corrections.push({ root: LOG_ROOTS.branches, key });
    }
    for (const [key, held] of heldInfo) {
      const now = info.get(key);
      if (now !== undefined && canonicalJson(now) === canonicalJson(held)) continue;
      info.set(key, held);
      corrections.push({ root: LOG_ROOTS.info, key });
    }
    if (corrections.length > 0) opts.onCorrections?.(corrections);
  }, origin);
  return corrections;
};

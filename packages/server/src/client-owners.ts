import * as Y from "yjs";
import { isServerClientId, type DecodedUpdate } from "@ctxsync/core";
import type { Logger } from "./logger.js";
import type { DocStore } from "./storage/types.js";

/**
 * Who may write under each Yjs client id of one document.
 *
 * A Yjs client id is a device's pen: its structs are numbered (client id, clock), and a device's next
 * update continues its clocks. A connection that wrote structs under another device's client id, at
 * the clocks that device had used offline, would make that device's own structs duplicates of the
 * impostor's and its later updates unapplyable — its offline work could never sync. So the first
 * identity that uses a client id owns it: by writing structs under it, or by announcing it in
 * awareness (the stock y-websocket client announces its document's client id as soon as it connects,
 * before it sends its offline work). Afterwards only that identity may add structs under the id;
 * anyone may still send structs the server already has (a sync step 2 repeats them).
 *
 * The identity is the token's subject (`sub`). Connections without one (an open server, tokens issued
 * without `--subject`) are anonymous: they may write under any client id nobody owns and never own
 * one. Ownership is stored next to the document (`<doc>#owners`), so it outlives connections, room
 * unloads and restarts. Server client ids (2^32 and up) are never owned here: the document refuses new
 * structs under its own server id, and other server ids are judged by the validator.
 */
export interface ClientOwners {
  /** The first client id in `update` that adds structs `identity` may not write, with its owner; undefined when all are allowed. */
  violation(update: DecodedUpdate, doc: Y.Doc, identity: string | undefined): { client: number; owner: string } | undefined;
  /** Record `identity` as the owner of every client id in `update` that adds structs and has no owner yet. */
  claimWritten(update: DecodedUpdate, doc: Y.Doc, identity: string | undefined): void;
  /** Record `identity` as the owner of `client` unless someone owns it (an awareness announcement). */
  claim(client: number, identity: string | undefined): void;
  owner(client: number): string | undefined;
}

/** Name of the internal document holding the owners of document `name` (never a room: `#` is not allowed in ids). */
export const ownersDocName = (name: string) => `${name}#owners`;

const ROOT = "owners";
/** Past this many stored updates the owner list is rewritten as one snapshot when the document loads. */
const COMPACT_AFTER = 64;

export const loadClientOwners = async (name: string, store: DocStore, logger: Logger): Promise<ClientOwners> => {
  const docName = ownersDocName(name);
  const stored = await store.load(docName);
  const doc = new Y.Doc();
  if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
  for (const u of stored.updates) Y.applyUpdate(doc, u);
  const map = doc.getMap<string>(ROOT);
  const owners = new Map<number, string>();
  for (const [k, v] of map) owners.set(Number(k), v);
  if (stored.updates.length > COMPACT_AFTER)
    await store.compact(docName, Y.encodeStateAsUpdate(doc), stored.seq).catch((e) => logger.warn("owners-compaction-failed", { room: name, error: String(e) }));
  doc.on("update", (u: Uint8Array) => {
    store.append(docName, u).catch((e) => logger.error("owners-store-failed", { room: name, error: String(e) }));
  });

  const adds = function* (update: DecodedUpdate, d: Y.Doc): Generator<number> {
    const seen = new Set<number>();
    for (const s of update.structs) {
      const client = s.id.client;
      if (seen.has(client) || isServerClientId(client)) continue;
      if (s.id.clock + s.length > Y.getState(d.store, client)) {
        seen.add(client);
        yield client;
      }
    }
  };
  const record = (clients: number[], identity: string) => {
    const fresh = clients.filter((c) => !owners.has(c));
    if (fresh.length === 0) return;
    for (const c of fresh) owners.set(c, identity);
    doc.transact(() => {
      for (const c of fresh) map.set(String(c), identity);
    });
  };

  return {
    violation(update, d, identity) {
      for (const client of adds(update, d)) {
        const owner = owners.get(client);
        if (owner !== undefined && owner !== identity) return { client, owner };
      }
      return undefined;
    },
    claimWritten(update, d, identity) {
      if (identity === undefined) return;
      record([...adds(update, d)], identity);
    },
    claim(client, identity) {
      if (identity === undefined || isServerClientId(client)) return;
      record([client], identity);
    },
    owner: (client) => owners.get(client),
  };
};

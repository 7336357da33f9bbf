import * as Y from "yjs";
import { decodeUpdate, type DecodedUpdate } from "@ctxsync/core";

/**
 * Does `update` carry nothing `doc` lacks? A read-only client answers the server's step 1 with a
 * step 2 that holds no new structs but (Yjs always sends it) its whole delete set; that must not
 * count as a write. Cost is proportional to the update.
 */
export const isNoopUpdate = (doc: Y.Doc, update: Uint8Array | DecodedUpdate): boolean => {
  const { structs, ds } = update instanceof Uint8Array ? decodeUpdate(update) : update;
  for (const s of structs) {
    if (s instanceof Y.Skip) continue;
    if (s.id.clock + s.length > Y.getState(doc.store, s.id.client)) return false;
  }
  for (const [client, ranges] of ds.clients) {
    const known = Y.getState(doc.store, client);
    for (const { clock, len } of ranges) {
      if (clock + len > known) return false;
      let c = clock;
      while (c < clock + len) {
        const item = Y.getItem(doc.store, Y.createID(client, c)) as { deleted: boolean; id: Y.ID; length: number };
        if (!item.deleted) return false;
        c = item.id.clock + item.length;
      }
    }
  }
  return true;
};

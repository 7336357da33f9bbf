import * as Y from "yjs";
import { openLog, type ConversationLog } from "@ctxsync/core";
import type { SyncServer } from "../sync-server.js";

/** A fresh Y.Doc holding exactly what the server has stored for `name` (what a synced client would hold). */
export const storedDoc = async (server: SyncServer, name: string): Promise<Y.Doc> => {
  const s = await server.store.load(name);
  const doc = new Y.Doc();
  if (s.snapshot) Y.applyUpdate(doc, s.snapshot);
  for (const u of s.updates) Y.applyUpdate(doc, u);
  return doc;
};

/** Everything stored for `name`, as JSON (order-preserving), to assert that a refusal changed nothing. */
export const storedJson = async (server: SyncServer, name: string): Promise<string> => {
  const doc = await storedDoc(server, name);
  const out: Record<string, unknown> = {};
  for (const key of [...doc.share.keys()].sort()) {
    const t = doc.share.get(key)!;
    out[key] = t._map.size > 0 ? doc.getMap(key).toJSON() : doc.getArray(key).toJSON();
  }
  doc.destroy();
  return JSON.stringify(out);
};

/** A client-side replica of the stored log, to craft updates against. */
export const replicaLog = async (server: SyncServer, name: string): Promise<ConversationLog> => openLog(await storedDoc(server, name));

/** Deterministic PRNG (mulberry32) so that random-frame tests print a replayable seed. */
export const prng = (seed: number) => () => {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

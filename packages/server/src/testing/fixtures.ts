import * as Y from "yjs";
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


/** A valid usage record for C/cache (core's usageProblem accepts it). */
export const USAGE = {
  time: 1,
  device: "dev-b",
  provider: "openai",
  model: "o3",
  renderContextHash: "rc",
  promptTokens: 10,
  cachedTokens: 0,
  expectedCachedTokens: 0,
  cacheWriteTokens: 0,
  outputTokens: 1,
};

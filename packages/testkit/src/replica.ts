import { asDeviceId, LOG_ROOTS, openCache, openHidden, openLog, SERVER_CLIENT_ID_BASE, type DocKind, type Entry, type EntryId } from "@ctxsync/core";
import * as Y from "yjs";
import { isRemote, type Authored, type Replica } from "./network-types.js";
import type { Rng } from "./rng.js";

export interface ReplicaContext {
  /** The stream that draws Yjs client ids (seeded, so a seed replays the same conflict resolution). */
  readonly idRng: Rng;
  readonly docKinds: readonly DocKind[];
  readonly gc: boolean;
  /** A server instance: it writes with server client ids (2^32 and up), as the sync server does. */
  readonly server?: boolean;
  /** Every entry any replica wrote, recorded at its author. */
  readonly authored: Map<EntryId, Authored>;
  readonly now: () => number;
  /** Called for every update of one of the replica's documents (local writes and applied remote updates). */
  readonly onUpdate: (replica: Replica, kind: DocKind, update: Uint8Array, origin: unknown) => void;
}

/**
 * One device (or server instance): its documents with deterministic client ids, the typed views,
 * and its own record (a Yjs observer, independent of the log's index) of the order in which it
 * learned each entry and of the entries it authored.
 */
export const createReplica = (index: number, ctx: ReplicaContext): Replica => {
  const device = asDeviceId(`dev${index}`);
  const docs = new Map<DocKind, Y.Doc>();
  const usedClients = new Set<number>();
  for (const kind of ctx.docKinds) {
    const doc = new Y.Doc({ gc: ctx.gc });
    // Deterministic client ids, so a seed replays the same conflict resolution.
    const draw = () => (ctx.server ? SERVER_CLIENT_ID_BASE + ctx.idRng.int(0, 2 ** 40) : ctx.idRng.int(1, 0x7fffffff));
    let client = draw();
    while (usedClients.has(client)) client = draw();
    usedClients.add(client);
    doc.clientID = client;
    docs.set(kind, doc);
  }
  const logDoc = docs.get("log")!;
  const learned = new Map<EntryId, number>();
  // Our own record of what this replica has seen, and of who wrote each entry (not the log's index).
  logDoc.getArray<Entry>(LOG_ROOTS.entries).observe((ev, tr) => {
    for (const d of ev.changes.delta) {
      if (!d.insert) continue;
      for (const e of d.insert as Entry[]) {
        if (!learned.has(e.id)) learned.set(e.id, learned.size);
        if (!isRemote(tr.origin) && !ctx.authored.has(e.id)) ctx.authored.set(e.id, { replica: index, entry: e });
      }
    }
  });
  const replica: Replica = {
    index,
    name: `r${index}`,
    device,
    docs,
    log: openLog(logDoc, { device, now: ctx.now }),
    cache: docs.has("cache") ? openCache(docs.get("cache")!) : undefined,
    hidden: docs.has("hidden") ? openHidden(docs.get("hidden")!) : undefined,
    online: true,
    branch: "main",
    pending: new Map(ctx.docKinds.map((k) => [k, []])),
    learned,
  };
  for (const kind of ctx.docKinds) docs.get(kind)!.on("update", (update: Uint8Array, origin: unknown) => ctx.onUpdate(replica, kind, update, origin));
  return replica;
};

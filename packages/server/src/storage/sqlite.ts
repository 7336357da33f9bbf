import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { basename, dirname } from "node:path";
import { syncError, toSyncError } from "@ctxsync/protocol";
import { lockDataDir } from "./data-lock.js";
import type { DocInfo, DocStore, StoredDoc } from "./types.js";

export interface SqliteStoreOptions {
  /** A file path, or ":memory:". The directory is created if needed. */
  readonly path: string;
  /**
   * `full` (default): every append is fsynced before it resolves, so it survives a power cut.
   * `normal`: WAL without an fsync per commit; survives a process crash (SIGKILL), not a power cut.
   */
  readonly synchronous?: "full" | "normal";
  /**
   * Who holds the file, for the message another process gets: a file store takes a lock
   * (`<name>.pid` beside `<name>.db`) while it is open, and a second process opening the same
   * file is refused with SyncError `conflict` until the first closes (or dies).
   */
  readonly owner?: string;
}

/**
 * The embedded default store: one SQLite file in WAL mode. Appends are single-row inserts (never a
 * rewrite of the document); compaction swaps a prefix of rows for one snapshot in one transaction.
 */
export const createSqliteStore = (opts: SqliteStoreOptions): DocStore => {
  let unlock = () => {};
  if (opts.path !== ":memory:") {
    mkdirSync(dirname(opts.path), { recursive: true });
    unlock = lockDataDir(dirname(opts.path), opts.owner ?? "another ctxsync process", `${basename(opts.path).replace(/\.db$/, "")}.pid`);
  }
  let db: Database.Database;
  try {
    db = new Database(opts.path);
  } catch (e) {
    unlock();
    throw e;
  }
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${opts.synchronous === "normal" ? "NORMAL" : "FULL"}`);
  db.pragma("busy_timeout = 5000");
  db.exec(`
    CREATE TABLE IF NOT EXISTS docs (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS snapshots (name TEXT PRIMARY KEY, data BLOB NOT NULL, upto INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS updates (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, data BLOB NOT NULL);
    CREATE INDEX IF NOT EXISTS updates_by_name ON updates (name, seq);
  `);
  // Named parameters only where a value repeats (better-sqlite3 does not bind numbered ones positionally).
  const q = {
    snapshot: db.prepare<[string], { data: Buffer; upto: number }>("SELECT data, upto FROM snapshots WHERE name = ?"),
    updates: db.prepare<[string], { seq: number; data: Buffer }>("SELECT seq, data FROM updates WHERE name = ? ORDER BY seq"),
    insert: db.prepare<[string, Buffer]>("INSERT INTO updates (name, data) VALUES (?, ?)"),
    touch: db.prepare<[string, number, number]>(
      "INSERT INTO docs (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET updated_at = excluded.updated_at",
    ),
    putSnapshot: db.prepare<[string, Buffer, number]>(
      "INSERT INTO snapshots (name, data, upto) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET data = excluded.data, upto = excluded.upto",
    ),
    dropUpdates: db.prepare<[string, number]>("DELETE FROM updates WHERE name = ? AND seq <= ?"),
    list: db.prepare<[{ p: string }], { name: string; created_at: number; updated_at: number }>(
      "SELECT name, created_at, updated_at FROM docs WHERE substr(name, 1, length(@p)) = @p ORDER BY name",
    ),
    has: db.prepare<[string], { n: number }>("SELECT 1 AS n FROM docs WHERE name = ?"),
    del: [
      db.prepare<[string]>("DELETE FROM updates WHERE name = ?"),
      db.prepare<[string]>("DELETE FROM snapshots WHERE name = ?"),
      db.prepare<[string]>("DELETE FROM docs WHERE name = ?"),
    ],
  };
  let closed = false;
  const guard = <T>(what: string, fn: () => T): Promise<T> => {
    if (closed) return Promise.reject(syncError("storage-unavailable", `sqlite store is closed (${what})`));
    try {
      flush(); // queued appends first: program order holds across operations
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(toSyncError(e, "storage-unavailable"));
    }
  };
  const appendTx = db.transaction((name: string, updates: readonly Uint8Array[]): number[] => {
    const now = Date.now();
    q.touch.run(name, now, now);
    return updates.map((u) => Number(q.insert.run(name, Buffer.from(u.buffer, u.byteOffset, u.byteLength)).lastInsertRowid));
  });
  const compactTx = db.transaction((name: string, snapshot: Uint8Array, upTo: number) => {
    const cur = q.snapshot.get(name);
    if (cur && cur.upto > upTo) return; // a newer compaction already happened
    q.putSnapshot.run(name, Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength), upTo);
    q.dropUpdates.run(name, upTo);
    const now = Date.now();
    q.touch.run(name, now, now);
  });
  const deleteTx = db.transaction((name: string) => q.del.forEach((s) => s.run(name)));

  /*
   * Group commit across documents: every room commits its own batch once per event-loop turn, so
   * under load one turn would run one transaction — one fsync with `full` — per busy room, each
   * blocking the event loop. Appends requested during one turn are written in one transaction at the
   * start of the next turn instead (one fsync for all of them); each promise still resolves only once
   * its rows are durable. Any other operation first writes what is queued, so program order holds.
   */
  type Pending = { name: string; updates: readonly Uint8Array[]; resolve: (seqs: number[]) => void; reject: (e: unknown) => void };
  let pending: Pending[] = [];
  let scheduled = false;
  const appendAllTx = db.transaction((batch: readonly Pending[]) => batch.map((p) => appendTx(p.name, p.updates)));
  const flush = () => {
    scheduled = false;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    let results: number[][];
    try {
      if (closed) throw syncError("storage-unavailable", "sqlite store is closed (append)");
      results = appendAllTx(batch);
    } catch (e) {
      const err = toSyncError(e, "storage-unavailable");
      batch.forEach((p) => p.reject(err));
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
  };
  const enqueueAppend = (name: string, updates: readonly Uint8Array[]): Promise<number[]> => {
    if (closed) return Promise.reject(syncError("storage-unavailable", "sqlite store is closed (append)"));
    return new Promise<number[]>((resolve, reject) => {
      pending.push({ name, updates, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
  };
  const toBytes = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

  return {
    kind: "sqlite",
    load: (name) =>
      guard("load", (): StoredDoc => {
        const snap = q.snapshot.get(name);
        const rows = q.updates.all(name);
        let bytes = snap ? snap.data.byteLength : 0;
        for (const r of rows) bytes += r.data.byteLength;
        const seq = rows.length > 0 ? rows[rows.length - 1]!.seq : (snap?.upto ?? 0);
        return { ...(snap ? { snapshot: toBytes(snap.data) } : {}), updates: rows.map((r) => toBytes(r.data)), seq, bytes };
      }),
    append: (name, update) => enqueueAppend(name, [update]).then((seqs) => seqs[0]!),
    appendMany: (name, updates) => enqueueAppend(name, updates),
    compact: (name, snapshot, upToSeq) => guard("compact", () => compactTx(name, snapshot, upToSeq)),
    list: (prefix = "") =>
      guard("list", (): DocInfo[] => q.list.all({ p: prefix }).map((r) => ({ name: r.name, createdAt: r.created_at, updatedAt: r.updated_at }))),
    has: (name) => guard("has", () => q.has.get(name) !== undefined),
    delete: (name) => guard("delete", () => deleteTx(name)),
    close: async () => {
      if (closed) return;
      flush(); // what was acknowledged as queued is written before the file closes
      closed = true;
      db.close();
      unlock();
    },
  };
};

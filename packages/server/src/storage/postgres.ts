import pg from "pg";
import { syncError, toSyncError } from "@ctxsync/protocol";
import type { DocInfo, DocStore, StoredDoc } from "./types.js";

export interface PostgresStoreOptions {
  /** postgres://user@host:port/db */
  readonly url: string;
  /** Prefix of the three tables (default `ctxsync_`); lets several deployments or test runs share a database. */
  readonly tablePrefix?: string;
  readonly maxConnections?: number;
}

/**
 * The store for more than one machine: the same layout as SQLite (docs, snapshots, an append-only
 * updates table) in PostgreSQL. An append is one INSERT in one transaction, durable at COMMIT.
 */
export const createPostgresStore = async (opts: PostgresStoreOptions): Promise<DocStore> => {
  const p = opts.tablePrefix ?? "ctxsync_";
  if (!/^[a-z_][a-z0-9_]*$/.test(p)) throw syncError("bad-request", `invalid table prefix ${JSON.stringify(p)}`);
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.maxConnections ?? 8 });
  // An idle client that loses its connection emits 'error' on the pool; without a listener Node exits.
  pool.on("error", () => {});
  const t = { docs: `${p}docs`, snapshots: `${p}snapshots`, updates: `${p}updates` };
  let closed = false;
  const run = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    if (closed) throw syncError("storage-unavailable", `postgres store is closed (${what})`);
    try {
      return await fn();
    } catch (e) {
      throw toSyncError(e, "storage-unavailable");
    }
  };
  const tx = <T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> =>
    (async () => {
      const c = await pool.connect();
      try {
        await c.query("BEGIN");
        const out = await fn(c);
        await c.query("COMMIT");
        return out;
      } catch (e) {
        await c.query("ROLLBACK").catch(() => {});
        throw e;
      } finally {
        c.release();
      }
    })();

  await run("migrate", () =>
    pool.query(`
      CREATE TABLE IF NOT EXISTS ${t.docs} (name TEXT PRIMARY KEY, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
      CREATE TABLE IF NOT EXISTS ${t.snapshots} (name TEXT PRIMARY KEY, data BYTEA NOT NULL, upto BIGINT NOT NULL);
      CREATE TABLE IF NOT EXISTS ${t.updates} (seq BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, data BYTEA NOT NULL);
      CREATE INDEX IF NOT EXISTS ${t.updates}_by_name ON ${t.updates} (name, seq);
    `),
  ).catch(async (e) => {
    await pool.end().catch(() => {});
    throw e;
  });
  const touch = (c: pg.PoolClient | pg.Pool, name: string) => {
    const now = Date.now();
    return c.query(
      `INSERT INTO ${t.docs} (name, created_at, updated_at) VALUES ($1, $2, $2) ON CONFLICT (name) DO UPDATE SET updated_at = EXCLUDED.updated_at`,
      [name, now],
    );
  };
  const bytes = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  const appendMany = (name: string, updates: readonly Uint8Array[]): Promise<number[]> =>
    run("append", () =>
      tx(async (c) => {
        await touch(c, name);
        const seqs: number[] = [];
        for (const u of updates) {
          const r = await c.query<{ seq: string }>(`INSERT INTO ${t.updates} (name, data) VALUES ($1, $2) RETURNING seq`, [name, Buffer.from(u)]);
          seqs.push(Number(r.rows[0]!.seq));
        }
        return seqs;
      }),
    );

  return {
    kind: "postgres",
    load: (name) =>
      run("load", async (): Promise<StoredDoc> => {
        // One snapshot-consistent read of both tables.
        const { snap, rows } = await tx(async (c) => {
          await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
          const s = await c.query<{ data: Buffer; upto: string }>(`SELECT data, upto FROM ${t.snapshots} WHERE name = $1`, [name]);
          const u = await c.query<{ seq: string; data: Buffer }>(`SELECT seq, data FROM ${t.updates} WHERE name = $1 ORDER BY seq`, [name]);
          return { snap: s.rows[0], rows: u.rows };
        });
        let size = snap ? snap.data.byteLength : 0;
        for (const r of rows) size += r.data.byteLength;
        const seq = rows.length > 0 ? Number(rows[rows.length - 1]!.seq) : snap ? Number(snap.upto) : 0;
        return { ...(snap ? { snapshot: bytes(snap.data) } : {}), updates: rows.map((r) => bytes(r.data)), seq, bytes: size };
      }),
    append: async (name, update) => (await appendMany(name, [update]))[0]!,
    appendMany,
    compact: (name, snapshot, upToSeq) =>
      run("compact", () =>
        tx(async (c) => {
          // Row lock on the snapshot serializes concurrent compactions of one document.
          const cur = await c.query<{ upto: string }>(`SELECT upto FROM ${t.snapshots} WHERE name = $1 FOR UPDATE`, [name]);
          if (cur.rows[0] && Number(cur.rows[0].upto) > upToSeq) return;
          await c.query(
            `INSERT INTO ${t.snapshots} (name, data, upto) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET data = EXCLUDED.data, upto = EXCLUDED.upto`,
            [name, Buffer.from(snapshot), upToSeq],
          );
          await c.query(`DELETE FROM ${t.updates} WHERE name = $1 AND seq <= $2`, [name, upToSeq]);
          await touch(c, name);
        }),
      ),
    list: (prefix = "") =>
      run("list", async (): Promise<DocInfo[]> => {
        const r = await pool.query<{ name: string; created_at: string; updated_at: string }>(
          `SELECT name, created_at, updated_at FROM ${t.docs} WHERE left(name, length($1)) = $1 ORDER BY name COLLATE "C"`,
          [prefix],
        );
        return r.rows.map((x) => ({ name: x.name, createdAt: Number(x.created_at), updatedAt: Number(x.updated_at) }));
      }),
    has: (name) => run("has", async () => (await pool.query(`SELECT 1 FROM ${t.docs} WHERE name = $1`, [name])).rowCount! > 0),
    delete: (name) =>
      run("delete", () =>
        tx(async (c) => {
          await c.query(`DELETE FROM ${t.updates} WHERE name = $1`, [name]);
          await c.query(`DELETE FROM ${t.snapshots} WHERE name = $1`, [name]);
          await c.query(`DELETE FROM ${t.docs} WHERE name = $1`, [name]);
        }),
      ),
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
};

import pg from "pg";
import { runStorageConformance } from "./conformance.js";
import { createPostgresStore } from "./postgres.js";
import type { DocStore } from "./types.js";

/**
 * PostgreSQL runs the same conformance suite when DATABASE_URL reaches a server (required when
 * CTXSYNC_REQUIRE_SERVICES=1). Each store gets its own table prefix; tables are dropped afterwards.
 */
const url = process.env.DATABASE_URL;
const reachable = async (): Promise<string | undefined> => {
  if (!url) return "DATABASE_URL is not set";
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query("SELECT 1");
    return undefined;
  } catch (e) {
    return `PostgreSQL at DATABASE_URL is unreachable (${(e as Error).message})`;
  } finally {
    await c.end().catch(() => undefined);
  }
};
const skip = await reachable();
if (skip && process.env.CTXSYNC_REQUIRE_SERVICES === "1") throw new Error(`CTXSYNC_REQUIRE_SERVICES=1 but ${skip}`);

const prefixes: string[] = [];
const prefixOf = new Map<DocStore, string>();
const run = `t${process.pid}_${Date.now() % 1e6}`;
let n = 0;
runStorageConformance(
  "postgres",
  async () => {
    const tablePrefix = `ctxsync_${run}_${n++}_`;
    prefixes.push(tablePrefix);
    const s = await createPostgresStore({ url: url!, tablePrefix, maxConnections: 4 });
    prefixOf.set(s, tablePrefix);
    return s;
  },
  {
    ...(skip ? { skipReason: skip } : {}),
    reopen: (closed) => createPostgresStore({ url: url!, tablePrefix: prefixOf.get(closed)!, maxConnections: 2 }),
  },
);

if (!skip) {
  const { afterAll } = await import("vitest");
  afterAll(async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    for (const p of prefixes) await c.query(`DROP TABLE IF EXISTS ${p}docs, ${p}snapshots, ${p}updates`);
    await c.end();
  });
}

import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { openLog } from "@ctxsync/core";
import { CLOSE_CODES } from "@ctxsync/protocol";
import { startTestServer, waitFor } from "../testing/harness.js";
import { registerDocStoreConformance } from "./conformance-vitest.js";
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
registerDocStoreConformance(
  "postgres",
  {
    fresh: async () => {
      const tablePrefix = `ctxsync_${run}_${n++}_`;
      prefixes.push(tablePrefix);
      const s = await createPostgresStore({ url: url!, tablePrefix, maxConnections: 4 });
      prefixOf.set(s, tablePrefix);
      return s;
    },
    reopen: (closed) => createPostgresStore({ url: url!, tablePrefix: prefixOf.get(closed)!, maxConnections: 2 }),
  },
  skip ? { skipReason: skip } : {},
);

if (!skip) {
  afterAll(async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    for (const p of prefixes) await c.query(`DROP TABLE IF EXISTS ${p}docs, ${p}snapshots, ${p}updates, ${p}updates_gone`);
    await c.end();
  });
}

describe.skipIf(skip !== undefined)("server on PostgreSQL", () => {
  it("stores synced writes; when the database goes away the writer gets 4504 and nothing is relayed; after recovery the client's copy fills in", async () => {
    const tablePrefix = `ctxsync_${run}_srv_`;
    prefixes.push(tablePrefix);
    const store = await createPostgresStore({ url: url!, tablePrefix, maxConnections: 4 });
    const t = await startTestServer({ store: () => store });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const mk = (doc: Y.Doc) => new WebsocketProvider(t.wsUrl, "pgconv", doc, { WebSocketPolyfill: WebSocket as never, disableBc: true, maxBackoffTime: 200 });
    const wd = new Y.Doc();
    const vd = new Y.Doc();
    const writer = mk(wd);
    const watcher = mk(vd);
    try {
      const closes: number[] = [];
      writer.on("connection-close", (e: { code: number } | null) => e && closes.push(e.code));
      await waitFor(() => writer.synced && watcher.synced, "synced", 5000);
      const wl = openLog(wd);
      const vl = openLog(vd);
      wl.append("main", { kind: "user", content: { text: "stored in postgres" } });
      await waitFor(() => vl.size() === 1, "relayed", 5000);
      const rows = await admin.query(`SELECT count(*)::int AS n FROM ${tablePrefix}updates WHERE name = 'pgconv'`);
      expect(rows.rows[0].n).toBeGreaterThan(0);

      // The database goes away (for this server): its updates table disappears.
      await admin.query(`ALTER TABLE ${tablePrefix}updates RENAME TO ${tablePrefix}updates_gone`);
      wl.append("main", { kind: "user", content: { text: "during the outage" } });
      await waitFor(() => closes.includes(CLOSE_CODES["storage-unavailable"]), "4504", 5000);
      await new Promise((r) => setTimeout(r, 200));
      expect(vl.size()).toBe(1);

      await admin.query(`ALTER TABLE ${tablePrefix}updates_gone RENAME TO ${tablePrefix}updates`);
      await waitFor(() => vl.size() === 2, "the write arrives after recovery", 10_000);
      const again = await store.load("pgconv");
      const doc = new Y.Doc();
      if (again.snapshot) Y.applyUpdate(doc, again.snapshot);
      for (const u of again.updates) Y.applyUpdate(doc, u);
      expect(openLog(doc).transcript("main").map((e) => (e.content as { text: string }).text)).toEqual(["stored in postgres", "during the outage"]);
    } finally {
      writer.destroy();
      watcher.destroy();
      await admin.end();
      await t.close();
    }
  });
});

import { afterAll, describe, expect, it } from "vitest";
import * as Y from "yjs";
import { openCache } from "@ctxsync/core";
import { signToken, type Scope } from "@ctxsync/protocol";
import { createApp } from "./app.js";
import { silentLogger } from "./logger.js";
import { createSqliteStore } from "./storage/sqlite.js";
import { createSyncServer } from "./sync-server.js";

const SECRET = "lease-secret";
const store = createSqliteStore({ path: ":memory:" });
const server = createSyncServer({ store, authSecret: SECRET, logger: silentLogger, timings: { leaseGraceMs: 0 } });
const app = createApp(server);
afterAll(() => server.shutdown());
const tok = (conversation: string, scopes: Scope[]) => signToken(SECRET, { conversation, scopes });
const post = (path: string, token: string, body: unknown) =>
  app.request(path, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });

describe("POST /v1/conversations/:id/cache/lease (the rebuild lease's compare-and-set)", () => {
  const writer = tok("L1", ["read", "append"]);

  it("of concurrent acquires against one version exactly one is granted; the record is stored in C/cache", async () => {
    await post("/v1/conversations", writer, { id: "L1" });
    const answers = await Promise.all(
      ["a", "b", "c", "d", "e"].map(async (holder) => (await (await post("/v1/conversations/L1/cache/lease", writer, { op: "acquire", key: "k1", holder, seenVersion: 0, ttlMs: 60_000 })).json()) as { granted: boolean; lease: { holder: string; version: number } }),
    );
    const granted = answers.filter((a) => a.granted);
    expect(granted).toHaveLength(1);
    expect(answers.every((a) => a.lease.holder === granted[0]!.lease.holder && a.lease.version === 1)).toBe(true);
    // Completion by the holder; a stale completion is fenced.
    const holder = granted[0]!.lease.holder;
    const other = holder === "a" ? "b" : "a";
    expect(await (await post("/v1/conversations/L1/cache/lease", writer, { op: "complete", key: "k1", holder: other, version: 1 })).json()).toMatchObject({ granted: false, reason: "fenced" });
    expect(await (await post("/v1/conversations/L1/cache/lease", writer, { op: "complete", key: "k1", holder, version: 1 })).json()).toMatchObject({ granted: true, lease: { state: "done", version: 2 } });
    // What the server stored is what a replica syncs.
    const stored = await store.load("L1/cache");
    const doc = new Y.Doc();
    if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
    for (const u of stored.updates) Y.applyUpdate(doc, u);
    expect(openCache(doc).rebuildLease("k1")).toMatchObject({ version: 2, state: "done", holder });
  });

  it("refuses bad requests, missing scopes and unknown conversations with clear errors", async () => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ["/v1/conversations/L1/cache/lease", writer, "nope", 400, "bad-request"],
      ["/v1/conversations/L1/cache/lease", writer, { op: "acquire", key: "k", holder: "a", seenVersion: 0 }, 400, "bad-request"],
      ["/v1/conversations/L1/cache/lease", writer, { op: "grab", key: "k", holder: "a" }, 400, "bad-request"],
      ["/v1/conversations/L1/cache/lease", tok("L1", ["read"]), { op: "acquire", key: "k", holder: "a", seenVersion: 0, ttlMs: 1000 }, 403, "forbidden"],
      ["/v1/conversations/L9/cache/lease", tok("L9", ["append"]), { op: "acquire", key: "k", holder: "a", seenVersion: 0, ttlMs: 1000 }, 404, "not-found"],
    ];
    for (const [path, token, body, status, code] of cases) {
      const r = await post(path, token, body);
      expect([JSON.stringify(body), r.status]).toEqual([JSON.stringify(body), status]);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    expect(await store.has("L9/cache")).toBe(false);
  });
});

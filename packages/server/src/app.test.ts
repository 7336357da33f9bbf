import { afterAll, describe, expect, it } from "vitest";
import { createRng, openHidden, parseJsonl, type EntryId } from "@ctxsync/core";
import { generateTrace, toJsonl } from "@ctxsync/traces";
import { signToken, type Scope } from "@ctxsync/protocol";
import { createApp } from "./app.js";
import { silentLogger } from "./logger.js";
import { createSqliteStore } from "./storage/sqlite.js";
import { createSyncServer } from "./sync-server.js";

// An agent trace like the corpus's (tool calls, long outputs), generated: this test needs no ../shared.
const traceJsonl = toJsonl(generateTrace(createRng(7), { style: "tool-calls", turns: 30 }));

const SECRET = "rest-secret";
const server = createSyncServer({ store: createSqliteStore({ path: ":memory:" }), authSecret: SECRET, logger: silentLogger });
const app = createApp(server);
afterAll(() => server.shutdown());
const tok = (conversation: string, scopes: Scope[]) => signToken(SECRET, { conversation, scopes });
const req = (method: string, path: string, token?: string, body?: string, type = "application/json") =>
  app.request(path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "content-type": type } : {}) },
    ...(body !== undefined ? { body } : {}),
  });

describe("REST /v1", () => {
  const admin = tok("*", ["read", "append", "admin"]);

  it("health, metrics and the OpenAPI description need no token", async () => {
    const h = await req("GET", "/healthz");
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ status: "ok", storage: "sqlite", auth: "token" });
    const m = await req("GET", "/metrics");
    expect(m.headers.get("content-type")).toMatch(/text\/plain/);
    const text = await m.text();
    for (const name of ["ctxsync_connections", "ctxsync_rooms_loaded", "ctxsync_updates_total", "ctxsync_bytes_in_total", "ctxsync_rejects_total", "ctxsync_storage_seconds"])
      expect(text).toContain(`# TYPE ${name}`);
    const o = (await (await req("GET", "/v1/openapi.json")).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(o.openapi).toBe("3.1.0");
    expect(Object.keys(o.paths)).toContain("/v1/conversations/{id}/fork");
  });

  it("create, list, import, read, fork, export, delete", async () => {
    const created = await req("POST", "/v1/conversations", admin, JSON.stringify({ id: "r1", title: "first" }));
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ id: "r1", documents: { log: "r1", cache: "r1/cache", hidden: "r1/hidden" } });
    expect((await req("POST", "/v1/conversations", admin, JSON.stringify({ id: "r1" }))).status).toBe(409);
    const anon = await req("POST", "/v1/conversations", admin, "{}");
    expect(anon.status).toBe(201);

    const list = (await (await req("GET", "/v1/conversations", admin)).json()) as { conversations: Array<{ id: string }> };
    expect(list.conversations.map((c) => c.id)).toContain("r1");

    const jsonl = traceJsonl;
    const imp = await req("POST", "/v1/conversations/r1/import", admin, jsonl, "application/x-ndjson");
    expect(imp.status).toBe(200);
    const messages = parseJsonl(jsonl);
    const { imported, head } = (await imp.json()) as { imported: number; head: string };
    expect(imported).toBe(messages.filter((m, i) => !(i === 0 && m.role === "system")).length);

    const tr = (await (await req("GET", "/v1/conversations/r1/transcript?branch=main", admin)).json()) as { head: string; hash: string; entries: Array<{ id: string }> };
    expect(tr.head).toBe(head);
    expect(tr.entries.length).toBe(imported);
    expect(tr.hash).toMatch(/^[0-9a-f]{64}$/);

    const exp = await req("GET", "/v1/conversations/r1/export", admin);
    expect(exp.headers.get("content-type")).toMatch(/ndjson/);
    expect(parseJsonl(await exp.text())).toEqual(messages);

    const at = tr.entries[3]!.id;
    const fork = await req("POST", "/v1/conversations/r1/fork", admin, JSON.stringify({ at, name: "try-2" }));
    expect(fork.status).toBe(201);
    expect(await fork.json()).toEqual({ conversation: "r1", branch: "try-2", head: at });
    const ftr = (await (await req("GET", "/v1/conversations/r1/transcript?branch=try-2", admin)).json()) as { entries: unknown[] };
    expect(ftr.entries.length).toBe(4);
    const summary = (await (await req("GET", "/v1/conversations/r1", admin)).json()) as { branches: Record<string, unknown>; info: Record<string, unknown> };
    expect(Object.keys(summary.branches).sort()).toEqual(["main", "try-2"]);
    expect(summary.info.title).toBe("first");

    expect((await req("DELETE", "/v1/conversations/r1", admin)).status).toBe(204);
    expect((await req("GET", "/v1/conversations/r1", admin)).status).toBe(404);
    expect(await server.store.list("r1")).toEqual([]);
  });

  it("clear errors for bad input", async () => {
    await req("POST", "/v1/conversations", admin, JSON.stringify({ id: "r2" }));
    const cases: Array<[string, string, string | undefined, number, string]> = [
      ["GET", "/v1/conversations/r2/transcript?branch=nope", undefined, 404, "not-found"],
      ["POST", "/v1/conversations/r2/fork", JSON.stringify({ at: "e-missing" }), 404, "not-found"],
      ["POST", "/v1/conversations/r2/fork", "not json", 400, "bad-request"],
      ["POST", "/v1/conversations/r2/fork", JSON.stringify({}), 400, "bad-request"],
      ["POST", "/v1/conversations/r2/import", "{\"role\":\"alien\",\"content\":\"x\"}\n", 400, "bad-request"],
      ["POST", "/v1/conversations", JSON.stringify({ id: "has/slash" }), 400, "bad-request"],
      ["GET", "/v1/conversations/missing", undefined, 404, "not-found"],
      ["GET", "/v1/nothing-here", undefined, 404, "not-found"],
    ];
    for (const [method, path, body, status, code] of cases) {
      const r = await req(method, path, admin, body);
      expect([path, r.status]).toEqual([path, status]);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    // A rejected import changed nothing.
    const s = (await (await req("GET", "/v1/conversations/r2", admin)).json()) as { entries: number };
    expect(s.entries).toBe(0);
  });

  it("auth: tokens, conversation and scopes", async () => {
    await req("POST", "/v1/conversations", admin, JSON.stringify({ id: "r3" }));
    const matrix: Array<[string, string, string | undefined, string | undefined, number]> = [
      ["GET", "/v1/conversations/r3", undefined, undefined, 401],
      ["GET", "/v1/conversations/r3", "garbage", undefined, 401],
      ["GET", "/v1/conversations/r3", signToken("other", { conversation: "r3", scopes: ["read"] }), undefined, 401],
      ["GET", "/v1/conversations/r3", signToken(SECRET, { conversation: "r3", scopes: ["read"], ttlSeconds: 1, now: 1 }), undefined, 401],
      ["GET", "/v1/conversations/r3", tok("r4", ["read"]), undefined, 403],
      ["GET", "/v1/conversations/r3", tok("r3", ["read"]), undefined, 200],
      ["GET", "/v1/conversations/r3", tok("r3", ["hidden"]), undefined, 403],
      ["GET", "/v1/conversations", tok("r3", ["read"]), undefined, 403],
      ["POST", "/v1/conversations/r3/import", tok("r3", ["read", "append"]), "{\"role\":\"user\",\"content\":\"x\"}\n", 403],
      ["POST", "/v1/conversations/r3/fork", tok("r3", ["read", "append"]), JSON.stringify({ at: "e1" }), 403],
      ["DELETE", "/v1/conversations/r3", tok("r3", ["read", "append", "hidden"]), undefined, 403],
      ["POST", "/v1/conversations", tok("r5", ["read"]), JSON.stringify({ id: "r5" }), 403],
      ["POST", "/v1/conversations", tok("r5", ["append"]), JSON.stringify({ id: "r5" }), 201],
      ["POST", "/v1/conversations/r3/import", tok("r3", ["admin"]), "{\"role\":\"user\",\"content\":\"x\"}\n", 200],
    ];
    for (const [method, path, token, body, status] of matrix) {
      const r = await req(method, path, token, body);
      expect([method, path, token?.slice(-6), r.status]).toEqual([method, path, token?.slice(-6), status]);
    }
    // ?token= works as well as the header.
    expect((await app.request(`/v1/conversations/r3?token=${tok("r3", ["read"])}`)).status).toBe(200);
    const expired = await req("GET", "/v1/conversations/r3", signToken(SECRET, { conversation: "r3", scopes: ["read"], ttlSeconds: 1, now: 1 }));
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe("token-expired");
  });

  it("answers CORS preflights from loopback pages and allowed origins only", async () => {
    const preflight = (a: typeof app, origin: string) =>
      a.request("/v1/conversations", { method: "OPTIONS", headers: { origin, "access-control-request-method": "GET" } });
    const local = await preflight(app, "http://localhost:5173");
    expect(local.status).toBe(204);
    expect(local.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(local.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    const foreign = await preflight(app, "http://inspector.local");
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    const allowing = createSyncServer({ store: createSqliteStore({ path: ":memory:" }), authSecret: SECRET, logger: silentLogger, allowOrigins: ["http://inspector.local"] });
    const allowed = await preflight(createApp(allowing), "http://inspector.local");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://inspector.local");
    await allowing.shutdown();
  });

  it("a read-only token sees that hidden blobs exist (kind, size), never their bytes", async () => {
    await req("POST", "/v1/conversations", admin, JSON.stringify({ id: "hb" }));
    await server.rooms.with("hb/hidden", (r) =>
      r.mutate(() => openHidden(r.doc).attach({ entry: "e1" as EntryId, provider: "anthropic", model: "claude", kind: "anthropic.thinking", data: { signature: "SECRET-SIG" } })),
    );
    const r = await req("GET", "/v1/conversations/hb/hidden", tok("hb", ["read"]));
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text).not.toContain("SECRET-SIG");
    expect(JSON.parse(text)).toMatchObject({ conversation: "hb", blobs: [{ entry: "e1", provider: "anthropic", kind: "anthropic.thinking" }] });
    expect((JSON.parse(text) as { blobs: Array<{ bytes: number }> }).blobs[0]!.bytes).toBeGreaterThan(0);
  });

  it("every route is described in the OpenAPI document", async () => {
    const doc = (await (await req("GET", "/v1/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = app.routes.filter((r) => r.method !== "ALL" && !r.path.includes("*"));
    for (const r of routes) {
      const path = r.path.replace(/:(\w+)/g, "{$1}");
      expect([path, r.method, doc.paths[path]?.[r.method.toLowerCase()] !== undefined]).toEqual([path, r.method, true]);
    }
    expect(routes.length).toBeGreaterThanOrEqual(12);
  });

  it("request bodies over the limit get 413", async () => {
    const small = createSyncServer({ store: createSqliteStore({ path: ":memory:" }), logger: silentLogger, limits: { maxRequestBytes: 1024 } });
    const r = await createApp(small).request("/v1/conversations/big/import", { method: "POST", body: "x".repeat(5000) });
    expect(r.status).toBe(413);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("message-too-large");
    expect(await small.store.list()).toEqual([]);
    await small.shutdown();
  });
});

import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { exportJsonl, importJsonl, openCache, openHidden, parseLeaseRequest, isConversationId, isEntryId, MAIN, randomId, type ConversationId } from "@ctxsync/core";
import { asSyncError, docNames, HTTP_STATUS, syncError, type Scope, type SyncErrorCode } from "@ctxsync/protocol";
import type { Access } from "./auth.js";
import { ownersDocName } from "./client-owners.js";
import { checkOrigin, originAllowed } from "./origin-check.js";
import { openApiDocument } from "./openapi.js";
import type { SyncServer } from "./sync-server.js";

type Env = { Variables: { access: Access } };

/**
 * The REST API under /v1 plus /healthz and /metrics. Pure Hono: test it with `app.request()`,
 * no network needed. Errors are `{ error: { code, message } }` with the status for the code.
 */
export const createApp = (server: SyncServer): Hono<Env> => {
  const { rooms, store, auth, metrics } = server;
  const app = new Hono<Env>();

  app.onError((e, c) => {
    const code: SyncErrorCode = asSyncError(e).code;
    if (code === "internal") server.logger.error("http-error", { path: c.req.path, error: String(e) });
    metrics.rejects.inc({ reason: code });
    return c.json({ error: { code, message: e.message } }, HTTP_STATUS[code]);
  });
  app.notFound((c) => c.json({ error: { code: "not-found", message: `no route ${c.req.method} ${c.req.path}` } }, 404));
  app.use("*", async (c, next) => {
    await next();
    metrics.httpRequests.inc({ status: `${Math.floor(c.res.status / 100)}xx` });
  });
  // Web pages: only loopback UIs and allowed origins, and on an open server only loopback Host names
  // (origin-check.ts). Checked before anything else, preflights included.
  app.use("*", async (c, next) => {
    const refused = checkOrigin(server.originPolicy, { origin: c.req.header("origin"), host: c.req.header("host") ?? new URL(c.req.url).host });
    if (refused) throw refused;
    await next();
  });
  app.use(
    "*",
    cors({
      origin: (origin) => (originAllowed(server.originPolicy, origin) ? origin : null),
      allowHeaders: ["authorization", "content-type"],
      allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
    }),
  );

  app.get("/healthz", async (c) => {
    try {
      await store.has("\u0000healthz");
    } catch (e) {
      return c.json({ status: "unavailable", storage: store.kind, error: (e as Error).message }, 503);
    }
    if (server.isShuttingDown()) return c.json({ status: "shutting-down" }, 503);
    return c.json({
      status: "ok",
      storage: store.kind,
      auth: auth.open ? "open" : "token",
      rooms: rooms.size(),
      connections: server.connections(),
      uptimeSeconds: Math.round((Date.now() - server.startedAt) / 1000),
    });
  });
  app.get("/metrics", (c) => c.body(metrics.registry.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
  app.get("/v1/openapi.json", (c) => c.json(openApiDocument));

  // Every /v1 route below needs a token (Bearer header or ?token=) unless the server is open.
  app.use("/v1/conversations/*", async (c, next) => {
    c.set("access", auth.verify(tokenOf(c)));
    await next();
  });
  app.use("/v1/conversations", async (c, next) => {
    c.set("access", auth.verify(tokenOf(c)));
    await next();
  });
  const limit = bodyLimit({
    maxSize: server.limits.maxRequestBytes,
    onError: () => {
      throw syncError("message-too-large", `request body exceeds ${server.limits.maxRequestBytes} bytes`);
    },
  });
  const need = (c: Context<Env>, scope: Scope): ConversationId => {
    const id = c.req.param("id") ?? "";
    if (!isConversationId(id)) throw syncError("bad-request", `invalid conversation id ${JSON.stringify(id)}`);
    auth.require(c.get("access"), id, scope);
    return id;
  };
  const mustExist = async (id: string) => {
    if (!(await store.has(id))) throw syncError("not-found", `no conversation ${JSON.stringify(id)}`);
  };

  app.get("/v1/conversations", async (c) => {
    auth.require(c.get("access"), "*", "read");
    const docs = await store.list();
    return c.json({
      conversations: docs.filter((d) => isConversationId(d.name)).map((d) => ({ id: d.name, createdAt: d.createdAt, updatedAt: d.updatedAt })),
    });
  });

  app.post("/v1/conversations", limit, async (c) => {
    const body = await jsonBody(c);
    const id = body.id === undefined ? randomId(16) : body.id;
    if (!isConversationId(id)) throw syncError("bad-request", `invalid conversation id ${JSON.stringify(id)}`);
    auth.require(c.get("access"), body.id === undefined ? "*" : id, "append");
    if (body.title !== undefined && typeof body.title !== "string") throw syncError("bad-request", "title must be a string");
    if (await store.has(id)) throw syncError("conflict", `conversation ${id} already exists`);
    await rooms.with(id, (room) =>
      room.mutate(() => {
        const log = room.log!;
        if (log.info("createdAt") !== undefined) throw syncError("conflict", `conversation ${id} already exists`);
        log.transact(() => {
          log.setInfo("createdAt", Date.now());
          if (typeof body.title === "string") log.setInfo("title", body.title);
        });
      }),
    );
    return c.json({ id, documents: docNames(id) }, 201);
  });

  app.get("/v1/conversations/:id", async (c) => {
    const id = need(c, "read");
    await mustExist(id);
    return c.json(
      await rooms.with(id, (room) =>
        room.read(() => {
          const log = room.log!;
          return {
            id,
            entries: log.size(),
            branches: Object.fromEntries(log.branches()),
            info: room.doc.getMap("info").toJSON(),
            documents: docNames(id),
          };
        }),
      ),
    );
  });

  app.get("/v1/conversations/:id/branches", async (c) => {
    const id = need(c, "read");
    await mustExist(id);
    return c.json({ branches: await rooms.with(id, (room) => room.read(() => Object.fromEntries(room.log!.branches()))) });
  });

  app.get("/v1/conversations/:id/transcript", async (c) => {
    const id = need(c, "read");
    const branch = c.req.query("branch") ?? MAIN;
    await mustExist(id);
    return c.json(
      await rooms.with(id, (room) =>
        room.read(() => {
          const log = room.log!;
          const entries = log.transcript(branch);
          return { conversation: id, branch, head: log.branch(branch)!.head, hash: log.branchHash(branch), entries };
        }),
      ),
    );
  });

  // What a read-only debugger may know about provider blobs: that they exist, their kind and size.
  app.get("/v1/conversations/:id/hidden", async (c) => {
    const id = need(c, "read");
    await mustExist(id);
    const blobs = await rooms.with(docNames(id).hidden, (room) => room.read(() => openHidden(room.doc).describe()));
    return c.json({ conversation: id, blobs });
  });

  // The rebuild lease's compare-and-set (docs/replay.md): decided in the C/cache room's write queue,
  // stored and relayed before the answer, so exactly one device is granted each version.
  app.post("/v1/conversations/:id/cache/lease", limit, async (c) => {
    const id = need(c, "append");
    const req = parseLeaseRequest(await jsonBody(c));
    if (typeof req === "string") throw syncError("bad-request", req);
    await mustExist(id);
    const answer = await rooms.with(docNames(id).cache, (room) =>
      room.mutate(() => openCache(room.doc).decideRebuildLease(req, Date.now(), server.timings.leaseGraceMs)),
    );
    return c.json(answer);
  });

  app.post("/v1/conversations/:id/fork", limit, async (c) => {
    const id = need(c, "admin");
    const body = await jsonBody(c);
    if (!isEntryId(body.at)) throw syncError("bad-request", "body.at must be an entry id");
    if (body.name !== undefined && typeof body.name !== "string") throw syncError("bad-request", "body.name must be a string");
    await mustExist(id);
    const at = body.at;
    const name = body.name as string | undefined;
    const branch = await rooms.with(id, (room) => room.mutate(() => room.log!.fork(at, name)));
    return c.json({ conversation: id, branch, head: at }, 201);
  });

  app.post("/v1/conversations/:id/import", limit, async (c) => {
    const id = need(c, "admin");
    const branch = c.req.query("branch") ?? MAIN;
    const text = await c.req.text();
    const result = await rooms.with(id, (room) =>
      room.mutate(() => {
        const log = room.log!;
        const added = importJsonl(log, text, { branch });
        return { imported: added.length, head: log.branch(branch)?.head ?? null };
      }),
    );
    return c.json({ conversation: id, branch, ...result });
  });

  app.get("/v1/conversations/:id/export", async (c) => {
    const id = need(c, "read");
    const branch = c.req.query("branch") ?? MAIN;
    await mustExist(id);
    const text = await rooms.with(id, (room) => room.read(() => exportJsonl(room.log!, branch)));
    return c.body(text, 200, { "content-type": "application/x-ndjson; charset=utf-8" });
  });

  app.delete("/v1/conversations/:id", async (c) => {
    const id = need(c, "admin");
    await mustExist(id);
    for (const name of Object.values(docNames(id))) {
      await rooms.evict(name, "not-found", `conversation ${id} was deleted`);
      await store.delete(name);
      await store.delete(ownersDocName(name));
      // A client that connected in between loaded the old state: drop that copy too.
      await rooms.evict(name, "not-found", `conversation ${id} was deleted`);
    }
    return c.body(null, 204);
  });

  return app;
};

const tokenOf = (c: Context): string | undefined => {
  const h = c.req.header("authorization");
  if (h !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m) throw syncError("unauthorized", "Authorization header must be `Bearer <token>`");
    return m[1];
  }
  return c.req.query("token");
};

const jsonBody = async (c: Context): Promise<Record<string, unknown>> => {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw syncError("bad-request", `request body is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw syncError("bad-request", "request body must be a JSON object");
  return v as Record<string, unknown>;
};

import { join, resolve } from "node:path";
import { createApp, createSyncServer, silentLogger } from "@ctxsync/server";
import { createSqliteStore } from "@ctxsync/server/sqlite";
import { UsageError } from "./args.js";

/**
 * Where import/export operate: a running server over REST (`--server URL [--token T]`), or a data
 * directory opened directly (`--data DIR`, default ./data; refused while a running server uses it —
 * talk to that server instead). Both go through the same REST routes: for a data directory the
 * server's Hono app answers in process (`app.request`), so there is one implementation.
 */
export type Target = { kind: "server"; url: string; token?: string } | { kind: "data"; dir: string };

export const targetOf = (o: { server?: string; token?: string; data?: string }): Target => {
  if (o.server && o.data) throw new UsageError("give either --server or --data, not both");
  if (o.server) return { kind: "server", url: o.server.replace(/\/+$/, ""), ...(o.token ? { token: o.token } : {}) };
  return { kind: "data", dir: resolve(o.data ?? "./data") };
};

/** Call a REST route of the target; resolves with the response body, throws with the server's error otherwise. */
export const rest = async (t: Target, path: string, init: RequestInit = {}): Promise<string> => {
  let res: Response;
  let where: string;
  if (t.kind === "server") {
    const headers = new Headers(init.headers);
    if (t.token) headers.set("authorization", `Bearer ${t.token}`);
    res = await fetch(`${t.url}${path}`, { ...init, headers });
    where = "server";
  } else {
    // An open server over the data directory, in process (the store locks the directory meanwhile).
    const store = createSqliteStore({ path: join(t.dir, "ctxsync.db"), owner: "ctxsync import/export" });
    const server = createSyncServer({ store, logger: silentLogger, limits: { maxRequestBytes: Number.MAX_SAFE_INTEGER } });
    try {
      const answer = await createApp(server).request(path, init);
      res = new Response(await answer.text(), { status: answer.status });
    } finally {
      await server.shutdown();
    }
    where = `data directory ${t.dir}`;
  }
  const body = await res.text();
  if (!res.ok) {
    let msg = body;
    try {
      const j = JSON.parse(body) as { error?: { code?: string; message?: string } };
      if (j.error) msg = `${j.error.code}: ${j.error.message}`;
    } catch {
      /* not JSON */
    }
    throw new Error(`${where} answered ${res.status}: ${msg}`);
  }
  return body;
};

import { join, resolve } from "node:path";
import { createSqliteStore, createSyncServer, silentLogger, type SyncServer } from "@ctxsync/server";
import { UsageError } from "./args.js";
import { lockDataDir } from "./data-lock.js";

/**
 * Where import/export operate: a running server over REST (`--server URL [--token T]`), or a data
 * directory opened directly (`--data DIR`, default ./data; don't point it at a directory a running
 * server is using — talk to that server instead).
 */
export type Target = { kind: "server"; url: string; token?: string } | { kind: "data"; dir: string };

export const targetOf = (o: { server?: string; token?: string; data?: string }): Target => {
  if (o.server && o.data) throw new UsageError("give either --server or --data, not both");
  if (o.server) return { kind: "server", url: o.server.replace(/\/+$/, ""), ...(o.token ? { token: o.token } : {}) };
  return { kind: "data", dir: resolve(o.data ?? "./data") };
};

export const withLocalServer = async <T>(dir: string, fn: (server: SyncServer) => Promise<T>): Promise<T> => {
  const unlock = lockDataDir(dir, "ctxsync import/export");
  const server = createSyncServer({ store: createSqliteStore({ path: join(dir, "ctxsync.db") }), logger: silentLogger });
  try {
    return await fn(server);
  } finally {
    await server.shutdown();
    unlock();
  }
};

export const rest = async (t: { url: string; token?: string }, path: string, init: RequestInit = {}): Promise<Response> => {
  const headers = new Headers(init.headers);
  if (t.token) headers.set("authorization", `Bearer ${t.token}`);
  const res = await fetch(`${t.url}${path}`, { ...init, headers });
  if (!res.ok) {
    const body = await res.text();
    let msg = body;
    try {
      const j = JSON.parse(body) as { error?: { code?: string; message?: string } };
      if (j.error) msg = `${j.error.code}: ${j.error.message}`;
    } catch {
      /* not JSON */
    }
    throw new Error(`server answered ${res.status}: ${msg}`);
  }
  return res;
};

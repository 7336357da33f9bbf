import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signToken, type Scope } from "@ctxsync/protocol";
import { createSqliteStore, createSyncServer, serveNode, silentLogger, type NodeServer, type Limits } from "@ctxsync/server";

/**
 * The real ctxsync sync server (SQLite under a temp dir, tokens required), in process, on a fixed
 * port so that it can be stopped and started again: "the server is down" is the server not running.
 */
export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly secret: string;
  /** Start (again) on the same port and data directory. */
  start(): Promise<void>;
  /** Graceful stop (connections are closed with 4503 shutting-down, data stays on disk). */
  stop(): Promise<void>;
  /** A token for `conversation` (default scopes: read, append, hidden). */
  token(conversation: string, scopes?: readonly Scope[]): string;
  /** Stop and delete the data directory. */
  destroy(): Promise<void>;
}

export const freePort = async (): Promise<number> => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
};

export const startTestServer = async (opts: { limits?: Partial<Limits> } = {}): Promise<TestServer> => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "ctxsync-server-"));
  const secret = "test-secret";
  let node: NodeServer | undefined;
  const server: TestServer = {
    url: `ws://127.0.0.1:${port}/sync`,
    port,
    secret,
    async start() {
      if (node) return;
      const store = createSqliteStore({ path: join(dir, "ctxsync.db") });
      const sync = createSyncServer({ store, authSecret: secret, logger: silentLogger, ...(opts.limits ? { limits: opts.limits } : {}) });
      node = await serveNode(sync, { port, host: "127.0.0.1" });
    },
    async stop() {
      const n = node;
      node = undefined;
      await n?.close();
    },
    token: (conversation, scopes = ["read", "append", "hidden"]) => signToken(secret, { conversation, scopes, ttlSeconds: 3600 }),
    async destroy() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
};

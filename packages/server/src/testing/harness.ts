import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import * as Y from "yjs";
import type { Limits, Timings } from "../config.js";
import { createLogger, silentLogger } from "../logger.js";
import { encodeSyncStep1, encodeSyncUpdate, signToken, type Scope } from "@ctxsync/protocol";
import { serveNode, type NodeServer } from "../node.js";
import { createSqliteStore } from "../storage/sqlite.js";
import type { DocStore } from "../storage/types.js";
import { createSyncServer, type SyncServer } from "../sync-server.js";

/**
 * A real server (Node HTTP + ws) on a free loopback port, over SQLite in a temporary directory,
 * for tests. It can be stopped and started again on the same port and data directory, so "the
 * server is down" is the server not running.
 */
export interface TestServer {
  /** The running server (a new instance after each start). Throws while stopped. */
  readonly server: SyncServer;
  readonly node: NodeServer;
  /** `http://127.0.0.1:<port>` (REST). */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/sync`: what clients connect to. */
  readonly wsUrl: string;
  readonly port: number;
  /** The data directory (SQLite file `ctxsync.db`). */
  readonly dir: string;
  /** The token secret, when the server requires tokens. */
  readonly secret: string | undefined;
  /** A token for `conversation` (default scopes: read, append, hidden); needs `secret`. */
  token(conversation: string, scopes?: readonly Scope[]): string;
  /** Start again (after `stop()`) on the same port and data directory; a no-op while running. */
  start(): Promise<void>;
  /** Graceful stop: connections are closed with 4503 shutting-down, data stays on disk. */
  stop(): Promise<void>;
  /** Stop and delete the data directory. */
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Require tokens signed with this secret (default: open). */
  readonly secret?: string;
  readonly limits?: Partial<Limits>;
  readonly timings?: Partial<Timings>;
  /** The store to use at each start (default: SQLite under `dir`, synchronous=normal). */
  readonly store?: (dir: string) => DocStore | Promise<DocStore>;
  /** Web page origins allowed besides loopback ones. */
  readonly allowOrigins?: readonly string[];
}

export const startTestServer = async (o: TestServerOptions = {}): Promise<TestServer> => {
  const dir = mkdtempSync(join(tmpdir(), "ctxsync-test-"));
  let port = 0;
  let running: { server: SyncServer; node: NodeServer } | undefined;
  const current = () => {
    if (!running) throw new Error("the test server is stopped");
    return running;
  };
  const t: TestServer = {
    get server() {
      return current().server;
    },
    get node() {
      return current().node;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get wsUrl() {
      return `ws://127.0.0.1:${port}/sync`;
    },
    get port() {
      return port;
    },
    dir,
    secret: o.secret,
    token(conversation, scopes = ["read", "append", "hidden"]) {
      if (o.secret === undefined) throw new Error("this test server is open: start it with a secret to use tokens");
      return signToken(o.secret, { conversation, scopes, ttlSeconds: 3600 });
    },
    async start() {
      if (running) return;
      const store = o.store ? await o.store(dir) : createSqliteStore({ path: join(dir, "ctxsync.db"), synchronous: "normal" });
      const server = createSyncServer({
        store,
        ...(o.secret !== undefined ? { authSecret: o.secret } : {}),
        logger: process.env.CTXSYNC_TEST_LOG ? createLogger("debug") : silentLogger,
        ...(o.limits ? { limits: o.limits } : {}),
        ...(o.timings ? { timings: o.timings } : {}),
        ...(o.allowOrigins ? { allowOrigins: o.allowOrigins } : {}),
      });
      const node = await serveNode(server, { port, host: "127.0.0.1" });
      port = node.port;
      running = { server, node };
    },
    async stop() {
      const r = running;
      running = undefined;
      await r?.node.close();
    },
    async close() {
      await t.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await t.start();
  return t;
};

/** A bare WebSocket to `/sync/<room>` that records frames and the close code: for refusal tests. */
export interface RawClient {
  readonly ws: WebSocket;
  readonly frames: Uint8Array[];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  send(frame: Uint8Array | string): void;
  sendUpdate(update: Uint8Array): void;
}

export const rawClient = (wsUrl: string, room: string, token?: string): RawClient => {
  const ws = new WebSocket(`${wsUrl}/${room}${token !== undefined ? `?token=${encodeURIComponent(token)}` : ""}`);
  const frames: Uint8Array[] = [];
  ws.on("message", (d: Buffer) => frames.push(new Uint8Array(d)));
  const opened = new Promise<void>((res, rej) => {
    ws.once("open", () => res());
    ws.once("error", rej);
  });
  const closed = new Promise<{ code: number; reason: string }>((res) => ws.once("close", (code, reason) => res({ code, reason: reason.toString() })));
  ws.on("error", () => undefined);
  return {
    ws,
    frames,
    opened,
    closed,
    send: (f) => ws.send(f),
    sendUpdate: (u) => ws.send(encodeSyncUpdate(u)),
  };
};

/** Resolves when `cond()` holds, polling every 20 ms; rejects after `ms` naming `what`. */
export const waitFor = async (cond: () => boolean | Promise<boolean>, what = "condition", ms = 15_000): Promise<void> => {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** A step 1 for an empty document (what a fresh client sends first). */
export const emptyStep1 = () => encodeSyncStep1(Y.encodeStateVector(new Y.Doc()));

/** Collect the updates a change to `doc` produces. */
export const captureUpdate = (doc: Y.Doc, change: () => void): Uint8Array => {
  const got: Uint8Array[] = [];
  const h = (u: Uint8Array) => got.push(u);
  doc.on("update", h);
  try {
    change();
  } finally {
    doc.off("update", h);
  }
  if (got.length === 0) throw new Error("the change produced no update");
  return Y.mergeUpdates(got);
};

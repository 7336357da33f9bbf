import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import * as Y from "yjs";
import type { Limits, Timings } from "../config.js";
import { createLogger, silentLogger } from "../logger.js";
import { encodeSyncStep1, encodeSyncUpdate } from "../messages.js";
import { serveNode, type NodeServer } from "../node.js";
import { createSqliteStore } from "../storage/sqlite.js";
import type { DocStore } from "../storage/types.js";
import { createSyncServer, type SyncServer } from "../sync-server.js";

/** A real server on a free loopback port, over SQLite in a temporary directory (for tests). */
export interface TestServer {
  readonly server: SyncServer;
  readonly node: NodeServer;
  readonly url: string;
  readonly wsUrl: string;
  readonly dir: string;
  close(): Promise<void>;
}

export const startTestServer = async (
  o: { secret?: string; limits?: Partial<Limits>; timings?: Partial<Timings>; store?: DocStore; allowOrigins?: readonly string[] } = {},
): Promise<TestServer> => {
  const dir = mkdtempSync(join(tmpdir(), "ctxsync-test-"));
  const store = o.store ?? createSqliteStore({ path: join(dir, "ctxsync.db"), synchronous: "normal" });
  const server = createSyncServer({
    store,
    ...(o.secret !== undefined ? { authSecret: o.secret } : {}),
    logger: process.env.CTXSYNC_TEST_LOG ? createLogger("debug") : silentLogger,
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.timings ? { timings: o.timings } : {}),
    ...(o.allowOrigins ? { allowOrigins: o.allowOrigins } : {}),
  });
  const node = await serveNode(server, { port: 0, host: "127.0.0.1" });
  return {
    server,
    node,
    url: node.url,
    wsUrl: node.url.replace(/^http/, "ws") + "/sync",
    dir,
    async close() {
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
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

/** Resolves when `cond()` holds, polling; rejects after `ms`. */
export const waitFor = async (cond: () => boolean | Promise<boolean>, ms = 10_000, what = "condition"): Promise<void> => {
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

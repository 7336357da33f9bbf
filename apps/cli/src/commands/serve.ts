import { join, resolve } from "node:path";
import { createLogger, createSyncServer, DEFAULT_LIMITS, DEFAULT_TIMINGS, isLogLevel, type DocStore } from "@ctxsync/server";
import { serveNode } from "@ctxsync/server/node";
import { createPostgresStore } from "@ctxsync/server/postgres";
import { createSqliteStore } from "@ctxsync/server/sqlite";
import { durationOption, intOption, parse, sizeOption, UsageError } from "../args.js";
import type { Command } from "../command.js";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export const serve: Command = {
  name: "serve",
  summary: "run the sync server (y-websocket + REST) on SQLite under --data, or PostgreSQL",
  usage: `ctxsync serve [--port 8787] [--host 127.0.0.1] [--data ./data] [--auth-secret S]
               [--database-url postgres://…] [--log-level debug|info|warn|error]
               [--idle-unload 30s] [--compact-after 500] [--sqlite-sync full|normal]
               [--max-message-bytes 16m] [--max-document-bytes 256m] [--max-messages-per-second 500]
               [--max-connections 10000] [--allow-origin URL[,URL…]] [--allow-host NAME[,NAME…]]
  Without --auth-secret (or CTXSYNC_AUTH_SECRET) the server is open and binds loopback only.
  Web pages may use the server only from loopback origins (http://localhost:*, 127.0.0.1, [::1]) and
  those given with --allow-origin ('*' for any); an open server answers only loopback Host names
  and those given with --allow-host (docs/security.md).
  Prints one JSON line {"event":"listening","url":…} on stdout once it accepts connections.`,
  async run(argv) {
    const { values: o } = parse(argv, {
      port: { type: "string" },
      host: { type: "string" },
      data: { type: "string" },
      "auth-secret": { type: "string" },
      "database-url": { type: "string" },
      "log-level": { type: "string" },
      "idle-unload": { type: "string" },
      "compact-after": { type: "string" },
      "sqlite-sync": { type: "string" },
      "max-message-bytes": { type: "string" },
      "max-document-bytes": { type: "string" },
      "max-messages-per-second": { type: "string" },
      "max-connections": { type: "string" },
      "allow-origin": { type: "string" },
      "allow-host": { type: "string" },
    });
    const port = intOption("port", o.port, 8787);
    const host = o.host ?? "127.0.0.1";
    const secret = o["auth-secret"] ?? (process.env.CTXSYNC_AUTH_SECRET || undefined);
    const level = o["log-level"] ?? "info";
    if (!isLogLevel(level)) throw new UsageError(`--log-level must be debug, info, warn, error or silent`);
    if (o["sqlite-sync"] !== undefined && !["full", "normal"].includes(o["sqlite-sync"])) throw new UsageError("--sqlite-sync must be full or normal");
    if (secret === "") throw new UsageError("--auth-secret must not be empty");
    if (secret === undefined && !LOOPBACK.test(host))
      throw new UsageError(`refusing to listen on ${host} without --auth-secret: an open server binds loopback only`);
    const list = (v: string | undefined) => (v ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "");
    const allowOrigins = list(o["allow-origin"]);
    for (const origin of allowOrigins)
      if (origin !== "*" && !/^https?:\/\/[^/]+$/i.test(origin.replace(/\/$/, "")))
        throw new UsageError(`--allow-origin ${JSON.stringify(origin)} must be an origin such as https://app.example.com (or *)`);
    const allowHosts = list(o["allow-host"]);
    const logger = createLogger(level);
    const data = resolve(o.data ?? "./data");
    const dbUrl = o["database-url"] ?? process.env.CTXSYNC_DATABASE_URL;
    const store: DocStore = dbUrl
      ? await createPostgresStore({ url: dbUrl })
      : createSqliteStore({
          path: join(data, "ctxsync.db"),
          synchronous: (o["sqlite-sync"] as "full" | "normal" | undefined) ?? "full",
          owner: `ctxsync serve on port ${port}`,
        });
    const server = createSyncServer({
      store,
      ...(secret !== undefined ? { authSecret: secret } : {}),
      logger,
      allowOrigins,
      allowHosts,
      limits: {
        maxMessageBytes: sizeOption("max-message-bytes", o["max-message-bytes"], DEFAULT_LIMITS.maxMessageBytes),
        maxConnections: intOption("max-connections", o["max-connections"], DEFAULT_LIMITS.maxConnections),
        maxDocumentBytes: sizeOption("max-document-bytes", o["max-document-bytes"], DEFAULT_LIMITS.maxDocumentBytes),
        maxMessagesPerSecond: intOption("max-messages-per-second", o["max-messages-per-second"], DEFAULT_LIMITS.maxMessagesPerSecond),
        messageBurst: Math.max(
          DEFAULT_LIMITS.messageBurst,
          intOption("max-messages-per-second", o["max-messages-per-second"], DEFAULT_LIMITS.maxMessagesPerSecond) * 2,
        ),
      },
      timings: {
        idleUnloadMs: durationOption("idle-unload", o["idle-unload"], DEFAULT_TIMINGS.idleUnloadMs),
        compactAfterUpdates: intOption("compact-after", o["compact-after"], DEFAULT_TIMINGS.compactAfterUpdates),
      },
    });
    const node = await serveNode(server, { port, host }).catch(async (e) => {
      await store.close();
      throw e;
    });
    const storage = dbUrl ? `postgres:${redact(dbUrl)}` : `sqlite:${join(data, "ctxsync.db")}`;
    if (secret === undefined) {
      const lines = [
        "WARNING: ctxsync is running OPEN: no --auth-secret was given.",
        "Anyone who can reach this port can read and write every",
        `conversation. Listening on loopback only (${host}).`,
        "Set --auth-secret (or CTXSYNC_AUTH_SECRET) to require tokens.",
      ];
      const width = Math.max(...lines.map((l) => l.length));
      const bar = `  ${"#".repeat(width + 6)}`;
      process.stderr.write(["", bar, ...lines.map((l) => `  #  ${l.padEnd(width)}  #`), bar, ""].join("\n") + "\n");
    }
    const wsUrl = node.url.replace(/^http/, "ws");
    process.stdout.write(
      JSON.stringify({ event: "listening", url: node.url, sync: `${wsUrl}/sync`, port: node.port, host, auth: secret ? "token" : "open", storage, pid: process.pid }) + "\n",
    );
    logger.info("listening", { url: node.url, auth: secret ? "token" : "open", storage });
    // Last resort: a stray rejection is a bug to log, not a reason to drop every connection.
    process.on("unhandledRejection", (e) => logger.error("unhandled-rejection", { error: String(e) }));

    return new Promise<number>((done) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          logger.warn("forced-exit", { signal });
          process.exit(1);
        }
        stopping = true;
        logger.info("signal", { signal });
        const force = setTimeout(() => {
          logger.error("shutdown-timeout", {});
          process.exit(1);
        }, 15_000);
        force.unref();
        node.close().then(
          () => done(0),
          (e) => {
            logger.error("shutdown-failed", { error: String(e) });
            done(1);
          },
        );
      };
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
    });
  },
};

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");

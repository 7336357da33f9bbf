import { createAdaptorServer } from "@hono/node-server";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { createApp } from "./app.js";
import type { SyncServer } from "./sync-server.js";

export interface ServeNodeOptions {
  readonly port?: number;
  readonly host?: string;
}

export interface NodeServer {
  readonly http: Server;
  /** The bound address: `http://host:port`. */
  readonly url: string;
  readonly port: number;
  /** Graceful: stop accepting, close sockets with 4503, drain and compact rooms, close storage. */
  close(): Promise<void>;
}

const SYNC_PREFIX = "/sync/";

/**
 * Run a SyncServer on Node: Hono's adaptor serves REST, and `ws` takes WebSocket upgrades on
 * `/sync/<room>` itself so that frame limits (`maxPayload`) and refusals are under our control.
 * The room is everything after `/sync/` (it contains a `/` for `C/cache` and `C/hidden`).
 */
export const serveNode = async (server: SyncServer, opts: ServeNodeOptions = {}): Promise<NodeServer> => {
  const app = createApp(server);
  const http = createAdaptorServer({ fetch: app.fetch }) as Server;
  // Frames up to 2× the limit are read and refused with 4413 and a reason; larger ones are cut off
  // by `ws` itself (close 1009) without buffering them.
  const wss = new WebSocketServer({ noServer: true, maxPayload: server.limits.maxMessageBytes * 2, perMessageDeflate: false });

  http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith(SYNC_PREFIX) || url.pathname.length === SYNC_PREFIX.length) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    let room: string;
    try {
      room = decodeURIComponent(url.pathname.slice(SYNC_PREFIX.length));
    } catch {
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const info = { origin: req.headers.origin, host: req.headers.host };
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => attach(ws, room, url.searchParams.get("token"), info));
  });

  const attach = (ws: WebSocket, room: string, token: string | null, info: { origin?: string | undefined; host?: string | undefined }) => {
    const handlers = server.connect(
      {
        send: (frame) => {
          if (ws.readyState === ws.OPEN) ws.send(frame);
        },
        bufferedAmount: () => ws.bufferedAmount,
        close: (code, reason) => {
          if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason);
        },
      },
      room,
      token,
      info,
    );
    ws.on("message", (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      handlers.message(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), isBinary);
    });
    ws.on("close", () => handlers.closed());
    ws.on("error", (e) => server.logger.debug("socket-error", { room, error: String(e) }));
  };

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(opts.port ?? 8787, opts.host ?? "127.0.0.1", () => {
      http.off("error", reject);
      resolve();
    });
  });
  const addr = http.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | null = null;
  return {
    http,
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    close() {
      closing ??= (async () => {
        http.close(); // stop accepting; existing sockets are closed below
        await server.shutdown();
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        http.closeAllConnections();
      })();
      return closing;
    },
  };
};

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { docs, setupWSConnection } from "@y/websocket-server/utils";

/**
 * The y-websocket reference server, in process: used while the ctxsync server is being built,
 * and as a second implementation the stock protocol must work against.
 */
export interface TestServer {
  readonly url: string;
  readonly port: number;
  /** Start (again) on the same port. */
  start(): Promise<void>;
  /** Stop: close every connection and the listener. `forget` drops the documents too. */
  stop(opts?: { forget?: boolean }): Promise<void>;
  token(conversation: string, scopes?: readonly string[]): string | undefined;
}

export const freePort = async (): Promise<number> => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
};

export const startRefServer = async (): Promise<TestServer> => {
  const port = await freePort();
  let http: Server | undefined;
  let wss: WebSocketServer | undefined;
  const server: TestServer = {
    url: `ws://127.0.0.1:${port}/sync`,
    port,
    async start() {
      if (http) return;
      wss = new WebSocketServer({ noServer: true });
      wss.on("connection", (conn, req) => setupWSConnection(conn, req, { docName: (req.url ?? "").slice("/sync/".length).split("?")[0] }));
      http = createServer((_req, res) => res.writeHead(404).end());
      http.on("upgrade", (req, socket, head) => wss!.handleUpgrade(req, socket, head, (ws) => wss!.emit("connection", ws, req)));
      await new Promise<void>((r) => http!.listen(port, "127.0.0.1", r));
    },
    async stop(opts = {}) {
      if (!http) return;
      for (const c of wss!.clients) c.terminate();
      await new Promise<void>((r) => wss!.close(() => r()));
      await new Promise<void>((r) => http!.close(() => r()));
      http = undefined;
      wss = undefined;
      if (opts.forget) {
        for (const d of (docs as Map<string, { destroy(): void }>).values()) d.destroy();
        (docs as Map<string, unknown>).clear();
      }
    },
    token: () => undefined,
  };
  return server;
};

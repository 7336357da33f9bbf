import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { setupWSConnection } from "@y/websocket-server/utils";

/** The server the sync benchmark replays through. */
export const startBenchServer = async () => {
  const wss = new WebSocketServer({ noServer: true });
  wss.on("connection", (conn, req) => setupWSConnection(conn, req, { docName: (req.url ?? "").slice("/sync/".length).split("?")[0] }));
  const http = createServer();
  http.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req)));
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  return {
    name: "y-websocket reference",
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/sync`,
    token: (_c: string): string | undefined => undefined,
    stop: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
};

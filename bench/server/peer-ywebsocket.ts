// The y-websocket reference server (@y/websocket-server), in-memory, routed like ctxsync:
// `ws://127.0.0.1:P/sync/<ROOM>` (the stock client appends the room to the URL it is given).
// Usage: peer-ywebsocket.ts --port P
import { createServer } from "node:http";
import { setupWSConnection } from "@y/websocket-server/utils";
import { WebSocketServer } from "ws";
import { parsePort, exitOnSignal, roomFromUrl } from "./peer-common.js";

const port = parsePort(process.argv.slice(2));
const http = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain" });
  res.end("ok");
});
const wss = new WebSocketServer({ noServer: true });
http.on("upgrade", (req, socket, head) => {
  const room = roomFromUrl(req.url);
  if (room === undefined) {
    socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => setupWSConnection(ws, req, { docName: room }));
});
http.listen(port, "127.0.0.1", () => console.log(`ywebsocket listening on ws://127.0.0.1:${port}/sync/<room>`));
exitOnSignal(() => http.close());

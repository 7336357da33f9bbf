// Hocuspocus 1.1.3 (the last release that speaks the standard y-websocket protocol), in-memory,
// routed like ctxsync: `ws://127.0.0.1:P/sync/<ROOM>`. Usage: peer-hocuspocus.ts --port P
import { Server } from "@hocuspocus/server";
import { exitOnSignal, parsePort, roomFromUrl } from "./peer-common.js";

const port = parsePort(process.argv.slice(2));
const server = Server.configure({
  port,
  address: "127.0.0.1",
  quiet: true,
  // Hocuspocus names the document after the whole URL path (`sync/<room>`); keep just the room.
  getDocumentName: ({ request }) => roomFromUrl(request.url) ?? "",
});
await server.listen();
console.log(`hocuspocus listening on ws://127.0.0.1:${port}/sync/<room>`);
exitOnSignal(() => void server.destroy());

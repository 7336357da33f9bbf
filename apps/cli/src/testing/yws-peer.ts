/**
 * A test peer in its own process: the stock y-websocket client (WebsocketProvider, unchanged) on
 * the three documents of one conversation, driven by JSON commands on stdin, reporting JSON events
 * on stdout. Usage: yws-peer.ts <wsUrl> <conversation> [token]
 */
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { asConversationId, openCache, openHidden, openLog, type EntryId } from "@ctxsync/core";
import { docNames } from "@ctxsync/protocol";

const [url, conversation, token] = process.argv.slice(2) as [string, string, string | undefined];
const names = docNames(asConversationId(conversation));
const docs = { log: new Y.Doc(), cache: new Y.Doc(), hidden: new Y.Doc() };
const log = openLog(docs.log);
const cache = openCache(docs.cache);
const hidden = openHidden(docs.hidden);
const providers: Partial<Record<keyof typeof docs, WebsocketProvider>> = {};
const emit = (o: object) => process.stdout.write(JSON.stringify(o) + "\n");

const connect = (kind: keyof typeof docs) => {
  const p = new WebsocketProvider(url, names[kind], docs[kind], {
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
    maxBackoffTime: 300,
    ...(token ? { params: { token } } : {}),
  });
  p.on("sync", (s: boolean) => s && emit({ event: "synced", kind }));
  p.on("connection-close", (e: { code: number; reason: string } | null) => e && emit({ event: "close", kind, code: e.code, reason: e.reason }));
  providers[kind] = p;
};

const state = () => ({
  event: "state",
  entries: log.entries().map((e) => ({ id: e.id, text: (e.content as { text?: string }).text })),
  branches: Object.fromEntries(log.branches()),
  usage: cache.usage().map((u) => u.device),
  blobs: hidden.all().map((b) => b.entry),
});

const rl = createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  const c = JSON.parse(line) as { cmd: string; [k: string]: unknown };
  switch (c.cmd) {
    case "connect":
      for (const k of c.kinds as Array<keyof typeof docs>) connect(k);
      break;
    case "append": {
      // One transaction (one update) per entry; yield between them so they go out as separate frames.
      const n = (c.count as number) ?? 1;
      for (let i = 0; i < n; i++) {
        const e = log.append("main", { kind: "user", content: { text: `${c.prefix ?? "m"}-${i}` } });
        emit({ event: "appended", id: e.id, i });
        if (c.delayMs) await new Promise((r) => setTimeout(r, c.delayMs as number));
        else await new Promise((r) => setImmediate(r));
      }
      emit({ event: "append-done" });
      break;
    }
    case "usage":
      cache.recordUsage({
        time: Date.now(),
        device: String(c.device),
        provider: "openai",
        model: "o3",
        renderContextHash: "rc",
        promptTokens: 1,
        cachedTokens: 0,
        expectedCachedTokens: 0,
        cacheWriteTokens: 0,
        outputTokens: 1,
      });
      break;
    case "blob":
      hidden.attach({ entry: String(c.entry) as EntryId, provider: "anthropic", model: "claude", kind: "anthropic.thinking", data: { signature: "sig" } });
      break;
    case "state":
      emit(state());
      break;
    case "exit":
      for (const p of Object.values(providers)) p?.destroy();
      process.exit(0);
  }
});

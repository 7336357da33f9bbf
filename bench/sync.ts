// `pnpm bench sync`: replay each of the 90 traces turn by turn through a real sync server and
// count the bytes the client sends over its websockets, split into document sync messages and
// awareness (presence) messages. Compares them with the raw content bytes and with what a
// stateless chat API client sends over the same turns (`resend_chars` from the traces manifest).
// Raw content = UTF-8 bytes of message contents, visible reasoning and tool-call argument texts.
// Options: --limit N (first N traces), --batch (append each assistant turn with its tool results
// as one update instead of one update per message).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { parseJsonl, toolCallFromText, type EntryInput } from "@ctxsync/core";
import { memoryStorage, openSession, type WebSocketLike } from "@ctxsync/client/node";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { signToken } from "@ctxsync/protocol";
import { createSyncServer, silentLogger } from "@ctxsync/server";
import { serveNode } from "@ctxsync/server/node";
import { createSqliteStore } from "@ctxsync/server/sqlite";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tracesDir = join(root, "..", "shared", "traces");
const args = process.argv.slice(2);
const limit = args.includes("--limit") ? Number(args[args.indexOf("--limit") + 1]) : Infinity;
const batch = args.includes("--batch");

interface ManifestRow {
  framework: string;
  name: string;
  path: string;
  total_chars: number;
  resend_chars: number;
  n_messages: number;
}
const manifest = JSON.parse(readFileSync(join(tracesDir, "manifest.json"), "utf8")) as ManifestRow[];
const utf8 = (s: string) => Buffer.byteLength(s, "utf8");

/** A `ws` WebSocket that counts what the client sends, by y-websocket message type (first byte). */
const countingWebSocket = (counts: { sync: number; awareness: number; frames: number }, sockets: WebSocket[]) =>
  class CountingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
    override send(data: any, ...rest: any[]): void {
      const bytes = data instanceof Uint8Array ? data : new Uint8Array(data as ArrayBuffer);
      if (bytes[0] === 1) counts.awareness += bytes.length;
      else counts.sync += bytes.length;
      counts.frames++;
      (super.send as (...a: unknown[]) => void)(data, ...rest);
    }
  } as unknown as WebSocketLike;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

/** The real ctxsync server: SQLite in a temp dir, tokens required, on a free loopback port. */
const startServer = async () => {
  const dir = mkdtempSync(join(tmpdir(), "ctxsync-bench-sync-"));
  const secret = "bench";
  const sync = createSyncServer({ store: createSqliteStore({ path: join(dir, "ctxsync.db") }), authSecret: secret, logger: silentLogger });
  const node = await serveNode(sync, { port: 0, host: "127.0.0.1" });
  return {
    name: "ctxsync (SQLite)",
    url: `ws://127.0.0.1:${node.port}/sync`,
    token: (conversation: string) => signToken(secret, { conversation, scopes: ["read", "append"], ttlSeconds: 3600 }),
    stop: async () => {
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

const server = await startServer();
const rows: Array<{ framework: string; syncOverContent: number; resendOverContent: number; wireOverContent: number; awareness: number }> = [];
try {
  for (const [i, t] of manifest.entries()) {
    if (i >= limit) break;
    const messages = parseJsonl(readFileSync(join(tracesDir, t.framework, `${t.name}.jsonl`), "utf8"));
    const counts = { sync: 0, awareness: 0, frames: 0 };
    const sockets: WebSocket[] = [];
    const conversation = `bench-${i}`;
    const session = await openSession({
      conversation,
      url: server.url,
      token: server.token(conversation),
      storage: memoryStorage(),
      device: "bench",
      WebSocket: countingWebSocket(counts, sockets),
    });
    await session.whenSynced();
    let content = 0;
    let pending: EntryInput[] = [];
    const flushTurn = async () => {
      if (pending.length > 0) await session.appendTurn(pending);
      pending = [];
    };
    for (const [k, m] of messages.entries()) {
      content += utf8(m.content) + utf8(m.reasoning_content ?? "") + (m.tool_calls ?? []).reduce((n, tc) => n + utf8(tc.arguments), 0);
      if (m.role === "system") {
        // The system prompt is render context, kept as conversation info (as importJsonl does).
        if (k === 0) await session.setInfo("systemPrompt", m.content);
        else await session.appendConfig({ system: m.content });
      } else if (m.role === "user") {
        await flushTurn();
        await session.appendUser(m.content);
      } else if (m.role === "assistant") {
        const content = {
          text: m.content,
          ...(m.reasoning_content !== undefined ? { reasoning: m.reasoning_content } : {}),
          ...(m.tool_calls ? { toolCalls: m.tool_calls.map((tc) => toolCallFromText(tc.id, tc.name, tc.arguments)) } : {}),
        };
        if (batch) {
          await flushTurn();
          pending.push({ kind: "assistant", content });
        } else await session.appendAssistant(content);
      } else {
        const input: EntryInput = { kind: "tool_result", content: { callId: m.tool_call_id!, text: m.content } };
        if (batch) pending.push(input);
        else await session.appendTurn([input]);
      }
    }
    await flushTurn();
    await session.whenSynced();
    const wire = sockets.reduce((n, s) => n + ((s as unknown as { _socket?: { bytesWritten: number } })._socket?.bytesWritten ?? 0), 0);
    const entries = session.transcript().length;
    await session.close();
    const row = {
      trace: `${t.framework}/${t.name}`,
      messages: messages.length,
      entries,
      contentBytes: content,
      syncBytes: counts.sync,
      awarenessBytes: counts.awareness,
      wireBytes: wire,
      syncOverContent: round(counts.sync / content),
      wireOverContent: round(wire / content),
      resendChars: t.resend_chars,
      resendOverContent: round(t.resend_chars / t.total_chars),
    };
    rows.push({ framework: t.framework, syncOverContent: row.syncOverContent, resendOverContent: row.resendOverContent, wireOverContent: row.wireOverContent, awareness: counts.awareness });
    console.log(JSON.stringify(row));
  }
} finally {
  await server.stop();
}
const ratios = rows.map((r) => r.syncOverContent);
console.log(
  JSON.stringify({
    bench: "sync",
    server: server.name,
    mode: batch ? "turn-batched" : "per-message",
    traces: rows.length,
    medianSyncOverContent: round(median(ratios)),
    maxSyncOverContent: round(Math.max(...ratios)),
    medianResendOverContent: round(median(rows.map((r) => r.resendOverContent))),
    medianWireOverContent: round(median(rows.map((r) => r.wireOverContent))),
    medianAwarenessBytes: median(rows.map((r) => r.awareness)),
    medianSyncOverContentByFramework: Object.fromEntries(
      [...new Set(rows.map((r) => r.framework))].map((f) => [f, round(median(rows.filter((r) => r.framework === f).map((r) => r.syncOverContent)))]),
    ),
    goal: 1.15,
    tracesOverGoal: ratios.filter((r) => r > 1.15).length,
  }),
);

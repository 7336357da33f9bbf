// A client worker process: runs its share of the bench clients, each a Y.Doc with the typed
// log API on top (`openLog(doc).append(...)`, what real users do) synced by the stock
// y-websocket client. Every appended entry carries its send time in its text; every other
// client of the room records receive time − send time when the entry shows up in its doc.
// Driven over IPC by the orchestrator (see messages.ts): plan → ready → go → done → stop.
import { openLog, type ConversationLog } from "@ctxsync/core";
import { monitorEventLoopDelay } from "node:perf_hooks";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import type { FromWorker, LoadPlan, ToWorker, WorkerResult } from "./messages.js";
import { parseStamp, stampText } from "./stamp.js";

const now = () => performance.timeOrigin + performance.now();
// After "stop" the channel is gone; a late timer must not crash the process.
const send = (m: FromWorker) => {
  if (process.connected) process.send!(m);
};
// Every provider registers a process "exit" listener; 50 of them are expected here.
process.setMaxListeners(0);

interface Client {
  readonly index: number;
  readonly doc: Y.Doc;
  readonly log: ConversationLog;
  readonly provider: WebsocketProvider;
  sent: number;
  /** Entries of other clients seen so far. */
  received: number;
}

let clients: Client[] = [];
let plan: LoadPlan | undefined;
const latenciesMs: number[] = [];
const closes: Record<string, number> = {};
const appendErrors: string[] = [];

const connect = (p: LoadPlan, c: { index: number; room: string }): Client => {
  const doc = new Y.Doc();
  const log = openLog(doc);
  const provider = new WebsocketProvider(p.url, c.room, doc, {
    // Node 20 has no global WebSocket.
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    // Clients of one room in one process must not shortcut the server over a BroadcastChannel.
    disableBc: true,
  });
  const client: Client = { index: c.index, doc, log, provider, sent: 0, received: 0 };
  provider.on("connection-close", (event: { code?: number } | null) => {
    const code = String(event?.code ?? "unknown");
    closes[code] = (closes[code] ?? 0) + 1;
  });
  log.onChange((change) => {
    if (change.type !== "entries" || change.local) return;
    const at = now();
    for (const e of change.added) {
      if (e.kind !== "user") continue;
      const stamp = parseStamp(e.content.text);
      if (!stamp || stamp.client === client.index) continue;
      latenciesMs.push(at - stamp.sentAt);
      client.received++;
    }
  });
  return client;
};

const waitSynced = (p: LoadPlan): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const pending = clients.filter((c) => !c.provider.synced).length;
      const seen = Object.keys(closes).length > 0 ? ` (closes by code: ${JSON.stringify(closes)})` : "";
      reject(new Error(`${pending} of ${clients.length} clients not synced after ${p.connectTimeoutMs} ms${seen}`));
    }, p.connectTimeoutMs);
    const check = () => {
      if (clients.every((c) => c.provider.synced)) {
        clearTimeout(timer);
        resolve();
      }
    };
    for (const c of clients) c.provider.on("sync", check);
    check();
  });

const sleepUntil = (t: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, t - now())));

const runClient = async (p: LoadPlan, c: Client, start: number): Promise<void> => {
  let t = start + Math.random() * p.intervalMs;
  for (let seq = 0; seq < p.entriesPerClient; seq++) {
    await sleepUntil(t);
    try {
      c.log.append("main", { kind: "user", content: { text: stampText(c.index, seq, now()) } });
      c.sent++;
    } catch (err) {
      appendErrors.push(String(err));
    }
    t += p.intervalMs + (Math.random() * 2 - 1) * p.jitterMs;
  }
};

const othersPerClient = (p: LoadPlan) => (p.clientsPerRoom - 1) * p.entriesPerClient;

const waitDelivered = (p: LoadPlan): Promise<void> =>
  new Promise((resolve) => {
    const deadline = now() + p.deliveryTimeoutMs;
    const poll = () => {
      if (clients.every((c) => c.received >= othersPerClient(p)) || now() >= deadline) resolve();
      else setTimeout(poll, 20);
    };
    poll();
  });

const go = async (at: number) => {
  const p = plan!;
  // A saturated client process delays delivery as much as a slow server: measure it too.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  await sleepUntil(at);
  const cpuBefore = process.cpuUsage();
  loopDelay.enable();
  await Promise.all(clients.map((c) => runClient(p, c, at)));
  await waitDelivered(p);
  loopDelay.disable();
  const cpu = process.cpuUsage(cpuBefore);
  const result: WorkerResult = {
    latenciesMs,
    sent: clients.reduce((n, c) => n + c.sent, 0),
    expected: clients.length * othersPerClient(p),
    completeClients: clients.filter((c) => c.received >= othersPerClient(p)).length,
    closes,
    appendErrors: appendErrors.slice(0, 5),
    cpuS: (cpu.user + cpu.system) / 1e6,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
  };
  send({ type: "done", result });
};

process.on("message", (m: ToWorker) => {
  if (m.type === "plan") {
    plan = m.plan;
    const started = now();
    clients = m.plan.clients.map((c) => connect(m.plan, c));
    waitSynced(m.plan).then(
      () => send({ type: "ready", connectMs: now() - started }),
      (err: Error) => send({ type: "error", message: err.message }),
    );
  } else if (m.type === "go") {
    go(m.at).catch((err: unknown) => send({ type: "error", message: String(err) }));
  } else {
    for (const c of clients) {
      c.provider.destroy();
      c.doc.destroy();
    }
    process.disconnect();
    setTimeout(() => process.exit(0), 200).unref();
  }
});

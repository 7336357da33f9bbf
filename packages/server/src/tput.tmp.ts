import * as Y from "yjs";
import { join } from "node:path";
import { openLog } from "@ctxsync/core";
import { encodeSyncUpdate } from "./messages.js";
import { createSqliteStore } from "./storage/sqlite.js";
import { rawClient, startTestServer, waitFor } from "./testing/harness.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
for (const sync of ["normal"] as const) {
  const dir = mkdtempSync(join(tmpdir(), "tp-"));
  const t = await startTestServer({ store: createSqliteStore({ path: join(dir, "x.db"), synchronous: sync }), limits: { maxMessagesPerSecond: 1e6, messageBurst: 1e6 } });
  const N = 5000;
  const c = rawClient(t.wsUrl, "tp");
  await c.opened;
  const d = new Y.Doc();
  const log = openLog(d);
  const ups: Uint8Array[] = [];
  d.on("update", (u: Uint8Array) => ups.push(u));
  for (let i = 0; i < N; i++) log.append("main", { kind: "user", content: { text: `message ${i}` } });
  const t0 = performance.now();
  for (const u of ups) c.send(encodeSyncUpdate(u));
  await waitFor(() => t.server.metrics.updates.get({ kind: "log", origin: "peer" }) >= N, 120_000);
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ sync, updates: N, ms: Math.round(ms), perSecond: Math.round((N / ms) * 1000) }));
  c.ws.close();
  await t.close();
}

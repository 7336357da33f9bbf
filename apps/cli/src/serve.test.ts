import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import * as Y from "yjs";
import { openLog } from "@ctxsync/core";
import { signToken } from "@ctxsync/protocol";
import { createSqliteStore } from "@ctxsync/server/sqlite";
import { waitFor } from "@ctxsync/server/testing";
import { startPeer, startServerProcess, type PeerProc, type ServerProc } from "./testing/processes.js";

const cleanup: Array<() => void | Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "ctxsync-cli-"));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
};
const track = <T extends ServerProc | PeerProc>(p: T): T => {
  cleanup.push(() => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  });
  return p;
};

describe("ctxsync serve with stock y-websocket clients in separate processes", () => {
  for (const mode of ["open", "token"] as const) {
    it(`two peers see each other's appends in C, C/cache and C/hidden (${mode}), then SIGTERM shuts down cleanly`, async () => {
      const secret = mode === "token" ? "e2e-secret" : undefined;
      const server = track(await startServerProcess(["--port", "0", "--data", tmp(), "--log-level", "info", ...(secret ? ["--auth-secret", secret] : [])]));
      const token = secret ? signToken(secret, { conversation: "conv", scopes: ["read", "append", "hidden"] }) : undefined;
      const a = track(startPeer(server.wsUrl, "conv", token));
      const b = track(startPeer(server.wsUrl, "conv", token));
      for (const p of [a, b]) {
        p.send({ cmd: "connect", kinds: ["log", "cache", "hidden"] });
        for (const kind of ["log", "cache", "hidden"]) await p.next((e) => e.event === "synced" && e.kind === kind, 20_000, `${kind} synced`);
      }
      a.send({ cmd: "append", count: 1, prefix: "from-a" });
      await waitFor(async () => (await b.state()).entries.some((e) => e.text === "from-a-0"), "b sees a's entry", 10_000);
      b.send({ cmd: "append", count: 1, prefix: "from-b" });
      await waitFor(async () => (await a.state()).entries.length === 2, "a sees b's entry", 10_000);
      expect((await a.state()).entries.map((e) => e.text)).toEqual(["from-a-0", "from-b-0"]);
      a.send({ cmd: "usage", device: "A" });
      b.send({ cmd: "blob", entry: (await b.state()).entries[0]!.id });
      await waitFor(async () => (await b.state()).usage.includes("A"), "b sees a's usage record", 10_000);
      await waitFor(async () => (await a.state()).blobs.length === 1, "a sees b's hidden blob", 10_000);

      if (secret) {
        // A peer without a token is refused with 4401 and never syncs.
        const c = track(startPeer(server.wsUrl, "conv"));
        c.send({ cmd: "connect", kinds: ["log"] });
        const closed = await c.next((e) => e.event === "close", 10_000, "refusal");
        expect(closed.code).toBe(4401);
        expect((await c.state()).entries).toEqual([]);
      }

      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(server.stderr()).toMatch(/"event":"shut-down"/);
      const closeA = await a.next((e) => e.event === "close" && e.kind === "log", 10_000, "a told of the shutdown");
      expect(closeA.code).toBe(4503);
    });
  }
});

describe("restart durability", () => {
  it("SIGKILL during a burst: everything another peer received is stored; the writer's copy fills in the rest", async () => {
    const data = tmp();
    let server = track(await startServerProcess(["--port", "0", "--data", data, "--log-level", "warn"]));
    const port = String(server.port);
    const writer = track(startPeer(server.wsUrl, "burst"));
    const watcher = track(startPeer(server.wsUrl, "burst"));
    for (const p of [writer, watcher]) {
      p.send({ cmd: "connect", kinds: ["log"] });
      await p.next((e) => e.event === "synced", 20_000, "synced");
    }
    const TOTAL = 400;
    // ~10 ms apart, so the writer is still appending when it reconnects to the restarted server
    // (the stock client then sends new updates before its step 2: the server must hold them).
    writer.send({ cmd: "append", count: TOTAL, prefix: "burst", delayMs: 10 });
    // Kill the server while the burst is in flight.
    await waitFor(async () => (await watcher.state()).entries.length >= 60, "watcher receives part of the burst", 20_000);
    server.child.kill("SIGKILL");
    await server.exited;
    const seen = (await watcher.state()).entries.map((e) => e.id);
    expect(seen.length).toBeLessThan(TOTAL); // it really was mid-burst

    // Before any client can resync: what is on disk holds every update the watcher had received.
    const store = createSqliteStore({ path: join(data, "ctxsync.db") });
    const s = await store.load("burst");
    await store.close();
    const doc = new Y.Doc();
    if (s.snapshot) Y.applyUpdate(doc, s.snapshot);
    for (const u of s.updates) Y.applyUpdate(doc, u);
    const onDisk = new Set<string>(openLog(doc).entries().map((e) => e.id));
    const missing = seen.filter((id) => !onDisk.has(id));
    expect(missing).toEqual([]);
    console.log(`restart durability: watcher had ${seen.length} of ${TOTAL} entries at SIGKILL; ${onDisk.size} were on disk`);

    // Restart on the same data directory and port; the stock clients reconnect by themselves.
    server = track(await startServerProcess(["--port", port, "--data", data, "--log-level", "warn"]));
    await writer.next((e) => e.event === "append-done", 60_000, "burst finished");
    try {
      await waitFor(async () => (await watcher.state()).entries.length === TOTAL, "watcher has the whole burst", 45_000);
    } catch (e) {
      const [ws, wr] = [await watcher.state(), await writer.state()];
      throw new Error(
        `${(e as Error).message}: watcher ${ws.entries.length}, writer ${wr.entries.length}; ` +
          `writer closes ${JSON.stringify(writer.events.filter((x) => x.event === "close"))}; server log ${server.stderr().slice(-1500)}`,
        { cause: e },
      );
    }
    const w = await watcher.state();
    expect(w.entries.map((e) => e.text)).toEqual(Array.from({ length: TOTAL }, (_, i) => `burst-${i}`));
    expect(Object.keys(w.branches)).toEqual(["main"]);
    // And the server stored all of it.
    await waitFor(
      async () => {
        const r = await fetch(`${server.url}/v1/conversations/burst/transcript`);
        return r.ok && ((await r.json()) as { entries: unknown[] }).entries.length === TOTAL;
      },
      "server transcript complete",
      20_000,
    );
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });
});

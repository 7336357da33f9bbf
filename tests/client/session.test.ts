import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { fsStorage, openSession, type Session } from "@ctxsync/client/node";
import { onServer, waitFor } from "./support/helpers.js";
import { startTestServer, type TestServer } from "@ctxsync/server/testing";

let server: TestServer;
const dirs: string[] = [];
const sessions: Session[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "ctxsync-session-"));
  dirs.push(d);
  return d;
};
const track = (s: Session) => (sessions.push(s), s);
let n = 0;
const conv = () => `conv${Date.now().toString(36)}${n++}`;

beforeAll(async () => {
  server = await startTestServer({ secret: "test-secret" });
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await server.start();
});
afterAll(async () => {
  await server.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const open = (c: string, extra: Partial<Parameters<typeof openSession>[0]> = {}) =>
  openSession({ conversation: c, url: server.wsUrl, token: server.token(c), storage: fsStorage({ dir: tempDir() }), maxBackoffMs: 300, ...extra }).then(track);

describe("offline-first sync", () => {
  it("a device appends 200 entries while the server is down; when it comes up the server has all of them", async () => {
    await server.stop();
    const c = conv();
    const dev = await open(c);
    const statuses: string[] = [];
    dev.on("status", (s) => statuses.push(s));
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const e = i % 2 === 0 ? await dev.appendUser(`question ${i}`) : await dev.appendAssistant({ text: `answer ${i}`, toolCalls: [{ id: `t${i}`, name: "sh", arguments: { cmd: "ls" } }] });
      ids.push(e.id);
    }
    await waitFor(() => dev.status === "offline", "status offline");
    expect(statuses).not.toContain("synced");
    expect(dev.transcript().map((e) => e.id)).toEqual(ids);
    await server.start();
    await dev.whenSynced();
    expect(statuses.at(-1)).toBe("synced");
    // Restart the server: what it holds was stored, not only kept in memory.
    await dev.close();
    await server.stop();
    await server.start();
    expect((await onServer(server, c)).main.map((e) => e.id)).toEqual(ids);
  });

  it("two devices offline continue main from the same head: both continuations survive, each in its own branch, everywhere", async () => {
    const c = conv();
    const a = await open(c, { device: "laptop" });
    const b = await open(c, { device: "phone" });
    const root = await a.appendUser("shared start");
    await a.whenSynced();
    await waitFor(() => b.transcript().length === 1, "b to receive the shared start");
    await server.stop();
    const switches: string[] = [];
    a.on("branch", (s) => switches.push(`a:${s.from}->${s.to}`));
    b.on("branch", (s) => switches.push(`b:${s.from}->${s.to}`));
    const fromA = [await a.appendAssistant("laptop continues"), await a.appendUser("laptop again")];
    const fromB = [await b.appendAssistant("phone continues")];
    await server.start();
    await a.whenSynced();
    await b.whenSynced();
    const heads = (s: Session) => s.branches().map((x) => x.head).sort();
    const expected = [fromA[1]!.id, fromB[0]!.id].sort();
    await waitFor(() => heads(a).length === 2 && heads(b).length === 2, "both devices to see two branches");
    expect(heads(a)).toEqual(expected);
    expect(heads(b)).toEqual(expected);
    expect(a.branches()).toEqual(b.branches());
    // Each transcript is one device's line; never a mix.
    for (const br of a.branches()) {
      const t = a.transcript(br.name).map((e) => e.id);
      expect([[root.id, ...fromA.map((e) => e.id)], [root.id, ...fromB.map((e) => e.id)]]).toContainEqual(t);
    }
    // The device whose continuation lost `main` now appends to its own fork.
    const loser = a.transcript("main").at(-1)!.id === fromA[1]!.id ? b : a;
    expect(loser.branch).toMatch(/^fork\//);
    expect(switches).toHaveLength(1);
    const view = await onServer(server, c);
    expect(view.branches.map((x) => x.head).sort()).toEqual(expected);
  });
});

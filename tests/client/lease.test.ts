import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { leaseHolder, type Peer } from "@ctxsync/client";
import { memoryStorage, openSession, type Session } from "@ctxsync/client/node";
import { killChildren, runTs, waitFor } from "./support/helpers.js";
import { startTestServer, type TestServer } from "@ctxsync/server/testing";

let server: TestServer;
const sessions: Session[] = [];
let n = 0;
const conv = () => `lease${Date.now().toString(36)}${n++}`;
const open = async (conversation: string, device: string) => {
  // A generous settle window: the race must be decided the same way on a loaded CI machine.
  const s = await openSession({ conversation, device, url: server.wsUrl, token: server.token(conversation), storage: memoryStorage(), maxBackoffMs: 200, leaseSettleMs: 1000 });
  sessions.push(s);
  await s.whenSynced();
  return s;
};

beforeAll(async () => {
  server = await startTestServer({ secret: "test-secret" });
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  killChildren();
  await server.close();
});

describe("drive lease", () => {
  it("two devices race to drive a branch: exactly one wins, the other is told who; after the winner leaves the other takes it", async () => {
    const c = conv();
    const laptop = await open(c, "laptop");
    const phone = await open(c, "phone");
    await waitFor(() => laptop.peers().length === 1 && phone.peers().length === 1, "devices to see each other");
    const results = await Promise.allSettled([laptop.drive("main"), phone.drive("main")]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const [winner, loser] = results[0]!.status === "fulfilled" ? [laptop, phone] : [phone, laptop];
    expect(lost[0]!.reason).toMatchObject({ name: "SyncError", code: "conflict" });
    expect(lost[0]!.reason.message).toContain(`driven by ${winner.device}`);
    // Both agree on the driver.
    await waitFor(() => loser.driver("main")?.device === winner.device, "loser to see the driver");
    expect(winner.driver("main")?.device).toBe(winner.device);
    // The non-driver may not append to the branch: it hands input over (or forks).
    await winner.appendUser("the driver appends");
    await expect(loser.appendUser("typed on the other device")).rejects.toMatchObject({ code: "conflict" });
    await expect(loser.drive("main")).rejects.toMatchObject({ code: "conflict" });
    // The winner goes away: its awareness state disappears and the lease with it.
    await winner.close();
    await waitFor(() => loser.driver("main") === undefined, "the lease to expire");
    const lease = await loser.drive("main");
    expect(lease.device).toBe(loser.device);
    await loser.appendUser("now the other device drives");
  });

  it("a driver killed with SIGKILL loses the lease when its connection drops", async () => {
    const c = conv();
    const watcher = await open(c, "watcher");
    const child = runTs("drive-child.ts", [server.wsUrl, c, "doomed", server.token(c)]);
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => d.toString().includes("driving") && resolve());
      child.on("exit", (code) => reject(new Error(`child exited (${code}): ${err}`)));
    });
    await waitFor(() => watcher.driver("main")?.device === "doomed", "the watcher to see the child drive");
    await expect(watcher.drive("main")).rejects.toMatchObject({ code: "conflict" });
    child.kill("SIGKILL");
    await waitFor(() => watcher.driver("main") === undefined, "the dead driver's lease to expire");
    await watcher.drive("main");
    expect(watcher.driver("main")?.device).toBe("watcher");
  });

  it("a driver that goes offline loses the lease; back online it reclaims it, or is told who took it meanwhile", async () => {
    const c = conv();
    const a = await open(c, "a-device");
    const b = await open(c, "b-device");
    const events: string[] = [];
    a.on("lease", (e) => events.push(`${e.type}${e.type === "lost" && e.holder ? `:${e.holder.device}` : ""}`));
    await a.drive("main");
    // Offline and back with nobody else driving: the lease comes back.
    a.disconnect();
    await waitFor(() => a.status === "offline" && b.driver("main") === undefined, "a to go offline and b to see no driver");
    a.connect();
    await waitFor(() => events.filter((e) => e === "acquired").length === 2, "a to reclaim the lease");
    await waitFor(() => b.driver("main")?.device === "a-device", "b to see a driving again");
    // Offline again; this time b takes over, and a is told so when it returns.
    a.disconnect();
    await waitFor(() => b.driver("main") === undefined, "a's lease to expire for b");
    await b.drive("main");
    a.connect();
    await waitFor(() => events.at(-1) === "lost:b-device", "a to learn that b drives");
    expect(a.driver("main")?.device).toBe("b-device");
    await expect(a.appendUser("from a")).rejects.toMatchObject({ code: "conflict" });
  });

  it("presence shows what others view and the output they are still generating", async () => {
    const c = conv();
    const a = await open(c, "agent");
    const b = await open(c, "viewer");
    const e = await a.appendUser("hello");
    b.view(e.id);
    a.streamPartial({ text: "Thinking about hel" });
    await waitFor(() => a.peers()[0]?.viewing?.entry === e.id && b.peers()[0]?.partial !== undefined, "presence to propagate");
    expect(b.peers()[0]!.partial).toEqual({ text: "Thinking about hel" });
    await a.appendAssistant("Hello!");
    await waitFor(() => b.peers()[0]?.partial === undefined, "the partial output to clear once the turn is appended");
    await waitFor(() => b.transcript().length === 2, "the finished turn to arrive");
  });

  it("a read-only viewer (an inspector) shares presence but cannot drive", async () => {
    const c = conv();
    const agent = await open(c, "agent");
    const e = await agent.appendUser("look at this");
    const viewer = await openSession({ conversation: c, device: "inspector", url: server.wsUrl, token: server.token(c, ["read"]), storage: memoryStorage() });
    sessions.push(viewer);
    await viewer.whenSynced();
    await waitFor(() => viewer.transcript().length === 1, "the viewer to receive the entry");
    viewer.view(e.id);
    await waitFor(() => agent.peers().some((p) => p.device === "inspector" && p.viewing?.entry === e.id), "the agent to see what the inspector views");
    await expect(viewer.drive()).rejects.toMatchObject({ code: "forbidden" });
  });
});

describe("lease tie-break", () => {
  const peer = (clientId: number, device: string, claimedAt: number, until: number): Peer => ({
    clientId,
    device,
    self: false,
    drives: { branch: "main", claimedAt, until },
  });
  it("picks the earliest live claim, then the smaller device id, and ignores expired claims", () => {
    expect(leaseHolder([peer(1, "b", 10, 100), peer(2, "a", 11, 100)], "main", 50)?.device).toBe("b");
    expect(leaseHolder([peer(1, "b", 10, 100), peer(2, "a", 10, 100)], "main", 50)?.device).toBe("a");
    expect(leaseHolder([peer(1, "b", 10, 40), peer(2, "a", 11, 100)], "main", 50)?.device).toBe("a");
    expect(leaseHolder([peer(1, "b", 10, 40)], "main", 50)).toBeUndefined();
    expect(leaseHolder([peer(1, "b", 10, 100)], "other", 50)).toBeUndefined();
  });
});

import { asEntryId, LOG_ROOTS, type Entry } from "@ctxsync/core";
import { describe, expect, it } from "vitest";
import { assertConverged, checkConvergence } from "./check.js";
import { createNetwork, NO_FAULTS, type Network } from "./network.js";
import { appendTurn } from "./ops.js";
import { createRng, seedFromEnv } from "./rng.js";
import { forEachSeed, runSchedule } from "./schedule.js";

/** The checker must be able to fail: each test breaks one thing and expects the checker to say so. */

const calm = (replicas = 3): Network => createNetwork({ seed: 7, replicas, faults: NO_FAULTS });
const say = (net: Network, i: number, text: string): Entry =>
  appendTurn(net, net.replicas[i]!, [{ kind: "user", content: { text } }])[0]!;

describe("convergence checker", () => {
  it("passes a healthy network and fails a replica that drops one update forever and never resyncs", () => {
    const healthy = runSchedule({ seed: 11 });
    expect(checkConvergence(healthy).ok).toBe(true);
    let dropped = false;
    const broken = runSchedule({
      seed: 11,
      intercept: (m) => {
        if (m.to !== 2 || m.doc !== "log") return true;
        if (m.type === "sync2") return false; // never catches up
        if (m.type === "update" && !dropped) return !(dropped = true);
        return true;
      },
    });
    const report = checkConvergence(broken);
    expect(report.ok).toBe(false);
    expect(report.problems.join("\n")).toMatch(/r2 (has a different state vector|still holds)|missing on r2/);
    expect(() => assertConverged(broken)).toThrow(/SEED=11/);
  });

  it("reports leaves without a branch when no replica runs the reconciler", () => {
    const found = [1, 2, 3, 4, 5, 6, 7, 8].some((seed) => {
      const net = runSchedule({ seed, reconcile: false });
      return checkConvergence(net).problems.some((p) => /is not the head of any branch/.test(p));
    });
    expect(found).toBe(true);
  });

  it("reports an entry whose author had not seen its parent (interleaved concurrent turns)", () => {
    const net = calm();
    const a = say(net, 0, "hello");
    net.settle();
    net.goOffline(1);
    const b = say(net, 0, "r0 continues while r1 is offline");
    // r1 writes behind the typed API's back, continuing an entry it has never received.
    const r1 = net.replicas[1]!;
    r1.docs.get("log")!.getArray<Entry>(LOG_ROOTS.entries).push([
      { id: asEntryId("eSneaky"), parent: b.id, kind: "user", content: { text: "r1" }, meta: { device: r1.device, time: 1 } },
    ]);
    net.settle();
    const report = checkConvergence(net);
    expect(report.problems.join("\n")).toMatch(/eSneaky by r1 follows an entry r1 had not seen/);
    expect(r1.log.get(a.id)).toBeDefined();
  });

  it("reports updates the validator refused (a replica deleting an entry)", () => {
    const net = calm();
    say(net, 0, "keep me");
    net.settle();
    net.replicas[1]!.docs.get("log")!.getArray(LOG_ROOTS.entries).delete(0, 1);
    net.settle();
    const report = checkConvergence(net);
    expect(report.ok).toBe(false);
    expect(report.problems.join("\n")).toMatch(/r[02] refused a (update|sync2) of log from r1: delete/);
    // The others kept the entry.
    expect(net.replicas[0]!.log.size()).toBe(1);
    expect(net.replicas[2]!.log.size()).toBe(1);
  });

  it("reports a branch deleted behind the validator's back", () => {
    const net = createNetwork({ seed: 4, replicas: 3, faults: NO_FAULTS, validate: false });
    say(net, 0, "hello");
    net.replicas[0]!.log.fork(net.replicas[0]!.log.entries()[0]!.id, "alt");
    net.settle();
    net.replicas[2]!.docs.get("log")!.getMap(LOG_ROOTS.branches).delete("alt");
    net.settle();
    expect(checkConvergence(net).problems.join("\n")).toMatch(/branches\.alt has no value/);
  });

  it("reports an entry that never left its device", () => {
    const net = createNetwork({ seed: 5, replicas: 3, faults: NO_FAULTS, intercept: (m) => m.from !== 2 });
    say(net, 0, "shared");
    const lost = say(net, 2, "only on r2");
    net.settle();
    const problems = checkConvergence(net).problems.join("\n");
    expect(problems).toContain(`entry ${lost.id} written by r2 is missing on r0`);
  });
});

describe("network", () => {
  it("loses messages to offline replicas and recovers them on reconnect (sync step 1/2)", () => {
    const net = calm();
    net.goOffline(2);
    const e = say(net, 0, "while r2 is away");
    for (let i = 0; i < 5; i++) net.step();
    expect(net.replicas[1]!.log.get(e.id)).toBeDefined();
    expect(net.replicas[2]!.log.get(e.id)).toBeUndefined();
    net.goOnline(2);
    for (let i = 0; i < 5; i++) net.step();
    expect(net.replicas[2]!.log.get(e.id)).toBeDefined();
  });

  it("recovers dropped updates by resync when settling", () => {
    const net = createNetwork({ seed: 3, replicas: 4, faults: { drop: 1, duplicate: 0, maxDelay: 0, resync: 0 } });
    const e = say(net, 1, "nobody hears this");
    for (let i = 0; i < 5; i++) net.step();
    expect(net.replicas.filter((r) => r.log.get(e.id)).length).toBe(1);
    expect(net.stats.dropped).toBeGreaterThan(0);
    net.settle();
    expect(net.replicas.every((r) => r.log.get(e.id))).toBe(true);
    expect(checkConvergence(net).ok).toBe(true);
  });

  it("holds an update whose parent has not arrived and applies it when it does", () => {
    // The parent's update to r1 (the first message sent) is lost; the child's must wait for a resync.
    const net = createNetwork({ seed: 9, replicas: 2, faults: NO_FAULTS, intercept: (m) => m.seq !== 0 });
    const parent = say(net, 0, "parent");
    const child = say(net, 0, "child");
    net.step();
    expect(net.stats.deferred).toBe(1);
    expect(net.replicas[1]!.log.get(child.id)).toBeUndefined();
    expect(net.replicas[1]!.pending.get("log")!.length).toBe(1);
    net.resync(1, 0);
    net.step(); // sync step 1 reaches r0
    net.step(); // sync step 2 reaches r1
    expect(net.replicas[1]!.log.path(child.id).map((x) => x.id)).toEqual([parent.id, child.id]);
    expect(net.replicas[1]!.pending.get("log")!.length).toBe(0);
    expect(checkConvergence(net).ok).toBe(true);
  });

  it("replays the same schedule from the same seed", () => {
    const a = runSchedule({ seed: 42 });
    const b = runSchedule({ seed: 42 });
    const c = runSchedule({ seed: 43 });
    const view = (n: Network) => JSON.stringify([n.replicas[0]!.log.entries(), Object.fromEntries(n.replicas[0]!.log.branches()), n.stats]);
    expect(view(a)).toBe(view(b));
    expect(view(a)).not.toBe(view(c));
  });
});

describe("seeds", () => {
  it("SEED= replays one schedule and a failure names its seed", () => {
    expect(forEachSeed({ runs: 3, firstSeed: 10 }, () => {}, {})).toEqual([10, 11, 12]);
    expect(forEachSeed({ runs: 3 }, () => {}, { SEED: "77" })).toEqual([77]);
    expect(() =>
      forEachSeed({ runs: 5, firstSeed: 1 }, (s) => {
        if (s === 4) throw new Error("boom");
      }, {}),
    ).toThrow(/SEED=4: boom/);
    expect(() => seedFromEnv(0, { SEED: "abc" })).toThrow(/SEED must be/);
    expect(createRng(5).id(8)).toBe(createRng(5).id(8));
  });
});

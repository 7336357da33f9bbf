// The arithmetic and /proc plumbing behind `pnpm bench server` (no timing is asserted here).
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseLoadArgs } from "../bench/server/config.js";
import { sampleProcessTree } from "../bench/server/proc-stats.js";
import { parseStamp, stampText } from "../bench/server/stamp.js";
import { combineRounds, percentile, ratioBestPeer } from "../bench/server/stats.js";

describe("bench server: stamps", () => {
  it("round-trips client, sequence and send time", () => {
    const t = performance.timeOrigin + performance.now();
    const s = parseStamp(stampText(17, 3, t));
    expect(s).toEqual({ client: 17, seq: 3, sentAt: Number(t.toFixed(3)) });
  });
  it("ignores text that is not a bench stamp", () => {
    expect(parseStamp("hello")).toBeUndefined();
    expect(parseStamp("bench c=1 n=2 t=x")).toBeUndefined();
  });
});

describe("bench server: statistics", () => {
  it("takes nearest-rank percentiles", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 0.5)).toBe(50);
    expect(percentile(xs, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });

  it("divides ctxsync by the better peer, per figure", () => {
    const r = {
      ctxsync: { p50Ms: 5, p99Ms: 30, peakRssMb: 150, cpuS: 1 },
      ywebsocket: { p50Ms: 4, p99Ms: 20, peakRssMb: 120, cpuS: 1 },
      hocuspocus: { p50Ms: 4, p99Ms: 40, peakRssMb: 100, cpuS: 1 },
    };
    expect(ratioBestPeer(r, "p99Ms")).toBe(1.5);
    expect(ratioBestPeer(r, "peakRssMb")).toBe(1.5);
    expect(ratioBestPeer({ ...r, hocuspocus: { error: "down" } }, "peakRssMb")).toBe(1.25);
  });

  it("gives null ratios when ctxsync or both peers failed", () => {
    const fig = { p50Ms: 1, p99Ms: 2, peakRssMb: 3, cpuS: 4 };
    expect(ratioBestPeer({ ctxsync: { error: "not started" }, ywebsocket: fig, hocuspocus: fig }, "p99Ms")).toBeNull();
    expect(ratioBestPeer({ ctxsync: fig, ywebsocket: { error: "x" } }, "p99Ms")).toBeNull();
  });

  it("combines rounds by median and keeps failures visible", () => {
    const f = (p99Ms: number) => ({ p50Ms: 1, p99Ms, peakRssMb: 100, cpuS: 1 });
    expect(combineRounds([f(10), f(500), f(20)])).toEqual(f(20));
    expect(combineRounds([f(10), { error: "boom" }, f(20)])).toEqual({ ...f(15), failedRounds: 1 });
    expect(combineRounds([{ error: "boom" }])).toEqual({ error: "boom" });
  });
});

describe("bench server: options", () => {
  it("defaults to the issue's load", () => {
    const c = parseLoadArgs([]);
    expect([c.clients, c.rooms, c.entries, c.intervalMs]).toEqual([200, 50, 20, 100]);
    expect(c.servers).toEqual(["ctxsync", "ywebsocket", "hocuspocus"]);
  });
  it("rejects bad options with a clear message", () => {
    expect(() => parseLoadArgs(["--clients", "7", "--rooms", "2"])).toThrow(/multiple of --rooms/);
    expect(() => parseLoadArgs(["--only", "nginx"])).toThrow(/unknown server "nginx"/);
    expect(() => parseLoadArgs(["--entries", "1.5"])).toThrow(/--entries must be an integer/);
    expect(() => parseLoadArgs(["--bogus"])).toThrow(/usage: pnpm bench server/);
    expect(() => parseLoadArgs(["--jitter", "100"])).toThrow(/--jitter must be below --interval/);
  });
});

describe("bench server: /proc sampling", () => {
  it("sees the RSS and CPU time of a child and its own children", async () => {
    // A parent that spawns a busy child: both must be counted.
    const code = `
      const { spawn } = require("node:child_process");
      spawn(process.execPath, ["-e", "const end = Date.now() + 1500; while (Date.now() < end);"], { stdio: "inherit" })
        .on("spawn", () => process.stdout.write("spawned\\n"))
        .on("exit", () => process.exit(0));`;
    const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "ignore"] });
    const exited = new Promise((r) => child.once("exit", r));
    const sampler = sampleProcessTree(child.pid!, 20);
    // Wait for the grandchild to exist (a fixed delay is not enough on a loaded machine), then let it burn CPU.
    await new Promise((r) => child.stdout!.once("data", r));
    await new Promise((r) => setTimeout(r, 300));
    const { peakRssMb, cpuS, processes } = sampler.stop();
    await exited;
    expect(processes).toBe(2);
    expect(peakRssMb).toBeGreaterThan(20); // two node processes
    expect(cpuS).toBeGreaterThan(0.05);
  });
});

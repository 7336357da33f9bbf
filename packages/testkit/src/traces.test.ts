import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { asDeviceId, exportMessages, importMessages, openLog, parseJsonl } from "@ctxsync/core";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { assertConverged } from "./check.js";
import { createNetwork } from "./network.js";
import { forEachSeed } from "./schedule.js";
import { sharedTracesMissing, traceCorpus, traceFiles } from "@ctxsync/traces";
import { replayTranscript, transcriptTurns } from "./traces.js";

/**
 * The 90 real agent traces (generated ones in a clone without ../shared/traces), replayed through the lossy network: each turn is appended by a randomly
 * chosen device (after it has caught up), others go offline and write notes meanwhile. Every replica
 * must end with the same documents, export the trace deep-equal, and hash `main` exactly as a single
 * replica that imported the trace in one go.
 */
const missing = sharedTracesMissing(import.meta.dirname);
const files = traceCorpus({ from: import.meta.dirname }).files;

describe("traces through the network", () => {
  it.skipIf(missing)("finds the 90 shared traces", () => {
    expect(traceFiles(import.meta.dirname).length).toBe(90);
  });

  it("every trace, turns appended by different devices, converges with identical hashes everywhere", () => {
    let devices = 0;
    // One seed per trace: SEED=<n> replays trace n-1 alone.
    forEachSeed({ runs: files.length, firstSeed: 1, replay: "pnpm vitest run packages/testkit/src/traces.test.ts" }, (seed) => {
      const file = files[(seed - 1) % files.length]!;
      const messages = parseJsonl(readFileSync(file, "utf8"));
      const reference = openLog(new Y.Doc(), { device: asDeviceId("reference") });
      importMessages(reference, messages);

      const net = createNetwork({ seed, replicas: 5, topology: seed % 2 === 0 ? "star" : "mesh" });
      try {
        replayTranscript(net, messages, net.rng.fork());
        net.settle();
        assertConverged(net);
        const authors = new Set([...net.authored.values()].map((a) => a.replica));
        devices = Math.max(devices, authors.size);
        for (const r of net.replicas) {
          expect(r.log.branchHash("main"), `${basename(file)} on ${r.name}`).toBe(reference.branchHash("main"));
          expect(exportMessages(r.log), `${basename(file)} on ${r.name}`).toStrictEqual(messages);
        }
        expect(net.replicas[0]!.log.transcript("main").length).toBe(transcriptTurns(messages).flat().length);
      } finally {
        net.destroy();
        reference.destroy();
      }
    });
    if (!process.env.SEED) expect(devices).toBe(5);
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { asDeviceId, exportMessages, importJsonl, openLog, parseJsonl } from "@ctxsync/core";
import { sharedTracesMissing, traceCorpus, traceFiles } from "@ctxsync/traces";

// Core's JSONL import/export over the trace corpus: the 90 shared traces, or — in a clone without
// ../shared/traces — traces the testkit generates (same format).
const missing = sharedTracesMissing(import.meta.dirname);

describe("JSONL import/export over the trace corpus", () => {
  const files = traceCorpus({ from: import.meta.dirname }).files;
  it.skipIf(missing)("finds all 90 shared traces", () => {
    expect(traceFiles(import.meta.dirname).length).toBe(90);
  });

  it("every trace imports and exports deep-equal, strings byte-exact, and hashes identically on every replica", () => {
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      const input = parseJsonl(text);
      const log = openLog(new Y.Doc(), { device: asDeviceId("importer") });
      importJsonl(log, text);
      const output = exportMessages(log);
      expect(output, file).toStrictEqual(input);
      // A second and third replica built from the encoded state agree on the transcript hash.
      const bytes = Y.encodeStateAsUpdate(log.doc);
      const replicas = [0, 1].map(() => {
        const d = new Y.Doc();
        Y.applyUpdate(d, bytes);
        return openLog(d);
      });
      for (const r of replicas) {
        expect(r.branchHash("main")).toBe(log.branchHash("main"));
        expect(exportMessages(r)).toStrictEqual(input);
      }
    }
  });

  it("the same content imported twice (different ids, devices, times) hashes the same", () => {
    const text = readFileSync(files[0]!, "utf8");
    const a = openLog(new Y.Doc(), { device: asDeviceId("a") });
    const b = openLog(new Y.Doc(), { device: asDeviceId("b"), now: () => 0 });
    importJsonl(a, text);
    importJsonl(b, text);
    expect(a.branchHash("main")).toBe(b.branchHash("main"));
  });
});

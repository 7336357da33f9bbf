import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { openLog } from "./log.js";
import { exportMessages, importJsonl, parseJsonl } from "./transcript-jsonl.js";
import { asDeviceId } from "./ids.js";

const TRACES = resolve(import.meta.dirname, "../../../../shared/traces");

export const traceFiles = (): string[] =>
  existsSync(TRACES)
    ? readdirSync(TRACES, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .flatMap((d) => readdirSync(join(TRACES, d.name)).filter((f) => f.endsWith(".jsonl")).map((f) => join(TRACES, d.name, f)))
        .sort()
    : [];

describe("JSONL import/export over the shared traces", () => {
  const files = traceFiles();
  it("finds all 90 traces", () => {
    expect(files.length).toBe(90);
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

  it("rejects bad transcripts with a clear error", () => {
    expect(() => parseJsonl('{"role":"user","content":"x"}\n{oops')).toThrow(/line 2: invalid JSON/);
    expect(() => parseJsonl('{"role":"robot","content":"x"}')).toThrow(/unknown role/);
    expect(() => parseJsonl('{"role":"tool","content":"x"}')).toThrow(/tool_call_id/);
    expect(() => parseJsonl('{"role":"assistant","content":"x","tool_calls":[{"id":1}]}')).toThrow(/tool call/);
  });
});

describe("import is all or nothing", () => {
  const good = [
    JSON.stringify({ role: "system", content: "You are careful." }),
    JSON.stringify({ role: "user", content: "one" }),
    JSON.stringify({ role: "assistant", content: "two" }),
  ];
  const bad: Array<[string, string]> = [
    ["invalid JSON", "{not json"],
    ["unknown role", JSON.stringify({ role: "robot", content: "x" })],
    ["content the log refuses (a number JSON cannot hold)", '{"role":"user","content":"x","n":1e999}'],
    ["a later system message with extra fields", JSON.stringify({ role: "system", content: "x", extra: 1 })],
  ];
  for (const [what, line] of bad) {
    it(`a transcript whose message 4 is bad (${what}) changes nothing: no entry, no branch, no system prompt`, () => {
      const log = openLog(new Y.Doc());
      const before = Y.encodeStateVector(log.doc);
      expect(() => importJsonl(log, [...good, line].join("\n"))).toThrow();
      expect(Y.encodeStateVector(log.doc)).toEqual(before);
      expect(log.size()).toBe(0);
      expect(log.branches().size).toBe(0);
      expect(log.info("systemPrompt")).toBeUndefined();
    });
  }
  it("importing a leading system prompt into a conversation that has one changes nothing", () => {
    const log = openLog(new Y.Doc());
    log.setInfo("systemPrompt", "held");
    const before = Y.encodeStateVector(log.doc);
    expect(() => importJsonl(log, good.join("\n"))).toThrow(/already set/);
    expect(Y.encodeStateVector(log.doc)).toEqual(before);
  });
});

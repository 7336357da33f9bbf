import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { openLog } from "./log.js";
import { importJsonl, parseJsonl } from "./transcript-jsonl.js";

// Round trips over the trace corpus are in tests/corpus/transcript-jsonl.test.ts.
describe("JSONL transcripts", () => {
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

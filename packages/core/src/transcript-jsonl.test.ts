import { describe, expect, it } from "vitest";
import { parseJsonl } from "./transcript-jsonl.js";

// Round trips over the trace corpus are in tests/corpus/transcript-jsonl.test.ts.
describe("JSONL transcripts", () => {
  it("rejects bad transcripts with a clear error", () => {
    expect(() => parseJsonl('{"role":"user","content":"x"}\n{oops')).toThrow(/line 2: invalid JSON/);
    expect(() => parseJsonl('{"role":"robot","content":"x"}')).toThrow(/unknown role/);
    expect(() => parseJsonl('{"role":"tool","content":"x"}')).toThrow(/tool_call_id/);
    expect(() => parseJsonl('{"role":"assistant","content":"x","tool_calls":[{"id":1}]}')).toThrow(/tool call/);
  });
});

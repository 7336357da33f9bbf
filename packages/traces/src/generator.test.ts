import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { asDeviceId, createRng, exportMessages, importJsonl, openLog, parseJsonl } from "@ctxsync/core";
import { generateConversation, generateCorpus, generateTrace, importConversation, toJsonl, TRACE_STYLES } from "./generator.js";

/** The generated traces stand in for ../shared/traces in a bare clone: they must be as demanding. */
describe("trace generator", () => {
  const corpus = generateCorpus(createRng(1), 24);

  it("is deterministic per seed, and another seed gives other traces", () => {
    const again = generateCorpus(createRng(1), 24);
    expect(again.map((t) => toJsonl(t.messages))).toEqual(corpus.map((t) => toJsonl(t.messages)));
    expect(toJsonl(generateTrace(createRng(2)))).not.toBe(toJsonl(generateTrace(createRng(1))));
    // Adding a trace does not change the ones before it.
    expect(generateCorpus(createRng(1), 25).slice(0, 24).map((t) => t.name)).toEqual(corpus.map((t) => t.name));
  });

  it("writes the corpus's JSONL format, which imports and exports exactly", () => {
    for (const t of corpus) {
      const text = toJsonl(t.messages);
      expect(parseJsonl(text)).toStrictEqual(t.messages);
      const log = openLog(new Y.Doc(), { device: asDeviceId("g") });
      importJsonl(log, text);
      expect(exportMessages(log), t.name).toStrictEqual(t.messages);
    }
  });

  it("looks like real agent traffic: tool calls answered by id, JSON arguments, long outputs, reasoning, text actions", () => {
    const all = corpus.flatMap((t) => t.messages);
    const calls = all.flatMap((m) => m.tool_calls ?? []);
    const results = all.filter((m) => m.role === "tool");
    expect(calls.length).toBeGreaterThan(100);
    expect(new Set(results.map((r) => r.tool_call_id))).toEqual(new Set(calls.map((c) => c.id)));
    for (const c of calls) expect(() => JSON.parse(c.arguments)).not.toThrow();
    expect(calls.some((c) => c.arguments.includes("\n"))).toBe(true); // pretty-printed argument text
    expect(calls.some((c) => /^toolu_|^call_/.test(c.id))).toBe(true);
    expect(Math.max(...results.map((r) => r.content.length))).toBeGreaterThan(10_000);
    expect(all.some((m) => m.content.includes("\r\n"))).toBe(true);
    expect(all.filter((m) => m.reasoning_content !== undefined).length).toBeGreaterThan(10);
    for (const style of TRACE_STYLES) expect(corpus.some((t) => t.style === style)).toBe(true);
    for (const t of corpus) {
      expect(t.messages[0]!.role).toBe("system");
      if (t.style === "text-actions") expect(t.messages.some((m) => m.tool_calls)).toBe(false);
      if (t.style === "customer-service") expect(t.messages[0]!.content).toMatch(/The current time is/);
    }
  });

  it("makes conversations with several branches that share a prefix", () => {
    const rng = createRng(5);
    for (let i = 0; i < 6; i++) {
      const c = generateConversation(rng, { forks: 2 });
      const log = openLog(new Y.Doc(), { device: asDeviceId("g") });
      const branches = importConversation(log, c);
      expect(branches).toEqual(["main", "alt-1", "alt-2"]);
      for (const f of c.forks) {
        const exported = exportMessages(log, f.name);
        expect(exported).toStrictEqual([...c.main.slice(0, f.at), ...f.messages]);
      }
      expect(exportMessages(log, "main")).toStrictEqual(c.main);
    }
  });
});

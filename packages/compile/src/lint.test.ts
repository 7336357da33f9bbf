import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseJsonl } from "@ctxsync/core";
import { compile } from "./compile.js";
import { lintStatic } from "./lint.js";
import { SHARED_TRACES_MISSING, TRACES_DIR, traceFiles } from "./traces.test-util.js";

const system = (file: string): string => {
  const first = parseJsonl(readFileSync(join(TRACES_DIR, file), "utf8"))[0]!;
  return first.role === "system" ? first.content : "";
};

describe("lintStatic", () => {
  it.skipIf(SHARED_TRACES_MISSING)("finds the current time in the tau-bench system prompt", () => {
    const s = system("tau-bench/airline-task00-trial3__gpt-4o.jsonl");
    const ws = lintStatic({ provider: "openai-chat", model: "gpt-4o", system: s });
    const ts = ws.filter((w) => w.code === "volatile-timestamp");
    expect(ts).toHaveLength(1);
    expect(ts[0]!.text).toBe("2024-05-15 15:00:00 EST");
    expect(s.slice(ts[0]!.offset, ts[0]!.offset + ts[0]!.text.length)).toBe("2024-05-15 15:00:00 EST");
    expect(ts[0]!.where).toBe("system");
  });

  it("reports each kind with its text and offset, once per span", () => {
    const s =
      "Today is March 3, 2025. Session 3f2b8c1e-9a4d-4e7b-b1c2-0d9e8f7a6b5c started at 1716000000; request id req_8fK2mQ9xL4pZ7vN3 " +
      "at 09:41:07, backup 12/31/2024, built from commit 9f4c049a1b2c3d4e5f60718293a4b5c6d7e8f901.";
    const ws = lintStatic({ provider: "anthropic", model: "m", system: s });
    const got = ws.map((w) => [w.code, w.text]);
    expect(got).toEqual([
      ["volatile-date", "March 3, 2025"],
      ["volatile-uuid", "3f2b8c1e-9a4d-4e7b-b1c2-0d9e8f7a6b5c"],
      ["volatile-timestamp", "1716000000"],
      ["volatile-random-id", "req_8fK2mQ9xL4pZ7vN3"],
      ["volatile-timestamp", "09:41:07"],
      ["volatile-date", "12/31/2024"],
      ["volatile-random-id", "9f4c049a1b2c3d4e5f60718293a4b5c6d7e8f901"],
    ]);
    for (const w of ws) expect(s.slice(w.offset, w.offset + w.text.length)).toBe(w.text);
  });

  it("looks into tool definitions too", () => {
    const ws = lintStatic({ provider: "openai-chat", model: "m", tools: [{ name: "now", description: "Data as of 2026-11-21T07:00:00Z" }] });
    expect(ws.map((w) => [w.code, w.where, w.text])).toEqual([["volatile-timestamp", "tools", "2026-11-21T07:00:00Z"]]);
  });

  it("leaves plain prose, identifiers and version numbers alone", () => {
    const s = "Use get_reservation_details and update_reservation_flights. Python 3.11, port 8080, 20 minutes, ISO-8601.";
    expect(lintStatic({ provider: "openai-chat", model: "m", system: s })).toEqual([]);
  });

  it.skipIf(SHARED_TRACES_MISSING)("flags only the time in every tau-bench system prompt, and nothing in the other frameworks' prompts", () => {
    for (const f of traceFiles()) {
      const ws = lintStatic({ provider: "openai-chat", model: "m", system: system(f) });
      if (f.startsWith("tau-bench/")) expect(ws.map((w) => w.text), f).toEqual(["2024-05-15 15:00:00 EST"]);
      else expect(ws.map((w) => `${w.code}:${w.text}`), f).toEqual([]);
    }
  });

  it("is part of every compile (and can be turned off)", () => {
    const ctx = { provider: "qwen3", model: "q", system: "Now: 2024-05-15 15:00:00 EST" } as const;
    expect(compile([], ctx).warnings.map((w) => w.code)).toEqual(["volatile-timestamp"]);
    expect(compile([], ctx, { lint: false }).warnings).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import { parseEngineArgs, runEngineCommand } from "./cli.js";

describe("ctxsync engine arguments", () => {
  it("parses the serve options", () => {
    const cmd = parseEngineArgs(["--model", "m.gguf", "--port", "9000", "--slots", "3", "--ctx-size", "4096", "--threads", "2"]);
    expect(cmd).toMatchObject({ kind: "serve", options: { modelPath: "m.gguf", port: 9000, slots: 3, contextSize: 4096, threads: 2, flashAttention: false } });
  });

  it("requires --model and reports usage with exit code 2", async () => {
    const lines: string[] = [];
    const result = await runEngineCommand(["--port", "1"], (l) => lines.push(l));
    expect(result.exitCode).toBe(2);
    expect(lines.join("\n")).toMatch(/--model FILE.gguf is required[\s\S]*usage: ctxsync engine/);
  });

  it("parses the test-model generator", () => {
    expect(parseEngineArgs(["--generate-test-model", "/tmp/x.gguf", "--seed", "4"])).toEqual({ kind: "generate-test-model", path: "/tmp/x.gguf", seed: 4 });
  });
});

import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
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

  it("reports a model that cannot be loaded with exit code 1, not a stack trace", async () => {
    const lines: string[] = [];
    const result = await runEngineCommand(["--model", "/nonexistent/model.gguf", "--port", "0"], (l) => lines.push(l));
    expect(result.exitCode).toBe(1);
    expect(lines.join("\n")).toMatch(/cannot open model file \/nonexistent\/model.gguf/);
  });

  it("parses the test-model generator", () => {
    expect(parseEngineArgs(["--generate-test-model", "/tmp/x.gguf", "--seed", "4"])).toEqual({ kind: "generate-test-model", path: "/tmp/x.gguf", seed: 4 });
  });
});

describe("runEngineCommand end to end", () => {
  it("generates the test model, serves it, and shuts down", async () => {
    const dir = await mkdtemp(join(os.tmpdir(), "ctxsync-engine-cli-"));
    const model = join(dir, "tiny.gguf");
    const lines: string[] = [];
    expect((await runEngineCommand(["--generate-test-model", model, "--seed", "5"], (l) => lines.push(l))).exitCode).toBe(0);
    const served = await runEngineCommand(["--model", model, "--port", "0", "--slots", "1", "--ctx-size", "256", "--state-dir", join(dir, "state")], (l) => lines.push(l));
    try {
      expect(served.exitCode).toBe(0);
      expect(lines.join("\n")).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+\/v1/);
      const res = await fetch(`${served.running?.url}/v1/models`);
      expect(((await res.json()) as { data: Array<{ id: string }> }).data[0]?.id).toBe("tiny");
    } finally {
      const listeners = process.listenerCount("SIGINT");
      await served.running?.close();
      await served.closed;
      expect(process.listenerCount("SIGINT")).toBe(listeners - 1);
    }
  });
});

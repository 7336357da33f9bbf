import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./testing/processes.js";

const dir = mkdtempSync(join(tmpdir(), "ctxsync-cli-engine-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("ctxsync engine", () => {
  it("generates the test model through the CLI, and refuses a missing model with a clear error", async () => {
    const model = join(dir, "tiny.gguf");
    const gen = await runCli(["engine", "--generate-test-model", model]);
    expect(gen.code).toBe(0);
    expect(existsSync(model)).toBe(true);
    expect(statSync(model).size).toBeGreaterThan(1_000_000);
    const missing = await runCli(["engine", "--model", join(dir, "nope.gguf"), "--port", "0"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.gguf/);
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createRng, parseJsonl } from "@ctxsync/core";
import { generateTrace, toJsonl } from "@ctxsync/traces";
import { signToken, verifyToken } from "@ctxsync/protocol";
import { runCli, runCliSlowReader, startServerProcess } from "./testing/processes.js";

const dir = mkdtempSync(join(tmpdir(), "ctxsync-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// A customer-service trace like tau-bench's (system prompt with the time, tool calls), generated.
const trace = join(dir, "trace.jsonl");
writeFileSync(trace, toJsonl(generateTrace(createRng(3), { style: "customer-service", turns: 20 })));

describe("ctxsync CLI", () => {
  it("token prints a token the server accepts", async () => {
    const r = await runCli(["token", "--secret", "s3", "--conversation", "c1", "--scopes", "read,append", "--ttl", "15m"]);
    expect(r.code).toBe(0);
    const claims = verifyToken("s3", r.stdout.trim());
    expect(claims).toMatchObject({ conv: "c1", scopes: ["read", "append"] });
    expect(claims.exp - claims.iat).toBe(900);
  });

  it("usage errors exit 2 with a clear message", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["serve", "--host", "0.0.0.0"], /refusing to listen on 0\.0\.0\.0 without --auth-secret/],
      [["token", "--conversation", "c"], /--secret is required/],
      [["token", "--secret", "s", "--conversation", "c", "--scopes", "read,root"], /unknown scope "root"/],
      [["nonsense"], /unknown command "nonsense"/],
      [["serve", "--bogus"], /Unknown option '--bogus'/],
      [["import", "--conversation", "c"], /exactly one JSONL file/],
    ];
    for (const [args, msg] of cases) {
      const r = await runCli(args, { CTXSYNC_AUTH_SECRET: "" });
      expect([args.join(" "), r.code]).toEqual([args.join(" "), 2]);
      expect(r.stderr).toMatch(msg);
    }
  });

  it("import and export a trace through a data directory, byte-for-byte equal messages", async () => {
    const data = join(dir, "d1");
    const imp = await runCli(["import", trace, "--conversation", "t1", "--data", data]);
    expect(imp.code).toBe(0);
    expect(JSON.parse(imp.stdout)).toMatchObject({ conversation: "t1", branch: "main" });
    const exp = await runCli(["export", "--conversation", "t1", "--data", data]);
    expect(exp.code).toBe(0);
    expect(parseJsonl(exp.stdout)).toEqual(parseJsonl(readFileSync(trace, "utf8")));
    const missing = await runCli(["export", "--conversation", "nope", "--data", data]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no conversation "nope"/);
  });

  it("export to a slow pipe is complete (not cut at the 64 KiB pipe buffer)", async () => {
    // A long generated agent session: its export is several times the pipe's buffer.
    const big = join(dir, "big-trace.jsonl");
    writeFileSync(big, toJsonl(generateTrace(createRng(9), { style: "reasoning", turns: 400 })));
    const data = join(dir, "d4");
    expect((await runCli(["import", big, "--conversation", "big", "--data", data])).code).toBe(0);
    const out = join(dir, "big.jsonl");
    expect((await runCli(["export", "--conversation", "big", "--data", data, "--out", out])).code).toBe(0);
    const expected = readFileSync(out);
    expect(expected.length).toBeGreaterThan(192 * 1024);
    const piped = await runCliSlowReader(["export", "--conversation", "big", "--data", data], 2500);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout.length).toBe(expected.length);
    expect(piped.stdout.equals(expected)).toBe(true);
  });

  it("a data directory has one user at a time: a second server or a direct import is refused while one serves it", async () => {
    const data = join(dir, "d3");
    const server = await startServerProcess(["--port", "0", "--data", data, "--log-level", "warn"]);
    try {
      const second = await runCli(["serve", "--port", "0", "--data", data]);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/in use by ctxsync serve .*pid \d+.*--server URL/);
      const imp = await runCli(["import", trace, "--conversation", "t3", "--data", data]);
      expect(imp.code).toBe(1);
      expect(imp.stderr).toMatch(/in use by ctxsync serve/);
    } finally {
      server.child.kill("SIGKILL"); // leaves a stale lock behind...
      await server.exited;
    }
    const after = await runCli(["import", trace, "--conversation", "t3", "--data", data]); // ...which is taken over
    expect(after.code).toBe(0);
  });

  it("import and export through a running server with an admin token", async () => {
    const server = await startServerProcess(["--port", "0", "--data", join(dir, "d2"), "--auth-secret", "cli-secret", "--log-level", "warn"]);
    try {
      const admin = signToken("cli-secret", { conversation: "t2", scopes: ["read", "admin"] });
      const reader = signToken("cli-secret", { conversation: "t2", scopes: ["read"] });
      const refused = await runCli(["import", trace, "--conversation", "t2", "--server", server.url, "--token", reader]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/403: forbidden: the admin scope is needed/);
      const imp = await runCli(["import", trace, "--conversation", "t2", "--server", server.url, "--token", admin]);
      expect(imp.code).toBe(0);
      const exp = await runCli(["export", "--conversation", "t2", "--server", server.url, "--token", reader]);
      expect(parseJsonl(exp.stdout)).toEqual(parseJsonl(readFileSync(trace, "utf8")));
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
  });
});

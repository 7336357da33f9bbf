import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "@ctxsync/server/testing";

/**
 * Executable docs. Every code block of README.md and docs/*.md whose info string is `ts runnable`
 * is extracted to a file under `.tmp/doc-tests/` in the repository (so `@ctxsync/*` resolves from
 * the root, as for a reader who saves it there), type-checked with the repository's strict
 * settings, and run exactly as the README says: `pnpm ts FILE` (tsx with the `development`
 * condition; no build). `ts typecheck` blocks are only type-checked (they need what a test cannot
 * have, e.g. a paid API). Snippets that sync read `CTXSYNC_URL` and `TOKEN`: a real server is
 * running for them, with a token for conversation `demo`.
 */
const root = join(import.meta.dirname, "..", "..");
const outDir = join(root, ".tmp", "doc-tests");
const FENCE = /^```(ts|typescript)\s+(runnable|typecheck)\s*$/;

interface Block {
  readonly doc: string;
  readonly line: number;
  readonly mode: "runnable" | "typecheck";
  readonly code: string;
  readonly file: string;
}

const docs = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)];
const blocks: Block[] = [];
for (const doc of docs) {
  const lines = readFileSync(join(root, doc), "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = FENCE.exec(lines[i]!.trim());
    if (!m) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== "```") end++;
    const code = lines.slice(start, end).join("\n");
    const file = join(outDir, `${doc.replace(/[/.]/g, "_")}_L${start}.ts`);
    blocks.push({ doc, line: start, mode: m[2] as Block["mode"], code, file });
    i = end;
  }
}
const runnable = blocks.filter((b) => b.mode === "runnable");
console.log(`doc tests: ${blocks.length} code blocks from ${new Set(blocks.map((b) => b.doc)).size} docs (${runnable.length} run, all ${blocks.length} type-checked)`);

const bin = (name: string) => join(root, "node_modules", ".bin", name);
const run = (cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }) =>
  new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });

let server: TestServer;
const scratch: string[] = [];
let typecheck: Promise<{ code: number | null; out: string }>;
const runs = new Map<Block, Promise<{ code: number | null; out: string }>>();
beforeAll(async () => {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const b of blocks) {
    // `export {}` makes a snippet without imports a module (top-level await); the comment says where it came from.
    writeFileSync(b.file, `// ${b.doc}:${b.line} (${b.mode})\n${b.code}\nexport {};\n`);
  }
  writeFileSync(
    join(outDir, "tsconfig.json"),
    JSON.stringify({ extends: "../../tsconfig.base.json", compilerOptions: { noEmit: true, noUnusedLocals: false }, include: ["*.ts"] }, null, 2),
  );
  server = await startTestServer({ secret: "doc-secret" });
  // Type-check and run side by side (each snippet in a scratch directory of its own); the tests below read the outcomes.
  typecheck = run(bin("tsc"), ["-p", join(outDir, "tsconfig.json")], { cwd: root, timeoutMs: 120_000 });
  const env = { CTXSYNC_URL: server.wsUrl, TOKEN: server.token("demo", ["read", "append", "hidden", "admin"]), SECRET: "doc-secret" };
  let chain: Promise<unknown> = Promise.resolve();
  for (const b of runnable) {
    const cwd = mkdtempSync(join(tmpdir(), "ctxsync-doc-run-"));
    scratch.push(cwd);
    // What `pnpm ts FILE` runs: tsx with the development condition (no build). One after another, beside tsc.
    const p = chain.then(() => run(bin("tsx"), ["--conditions=development", b.file], { cwd, env, timeoutMs: 60_000 }));
    chain = p;
    runs.set(b, p);
  }
});
afterAll(async () => {
  await Promise.allSettled([...runs.values()]);
  await server?.close();
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

describe(`executable docs (${blocks.length} blocks)`, () => {
  it("finds runnable blocks in the README and in docs/", () => {
    expect(runnable.filter((b) => b.doc === "README.md").length).toBeGreaterThanOrEqual(4);
    expect(runnable.some((b) => b.doc.startsWith("docs/"))).toBe(true);
  });

  it(`all ${blocks.length} blocks type-check (strict, as the packages)`, async () => {
    const r = await typecheck;
    expect(r.out, r.out).toBe("");
    expect(r.code).toBe(0);
  });

  for (const b of runnable) {
    it(`${b.doc}:${b.line} runs with \`pnpm ts\``, async () => {
      const r = await runs.get(b)!;
      expect(r.code, `${b.doc}:${b.line} failed:\n${r.out}`).toBe(0);
    });
  }
});

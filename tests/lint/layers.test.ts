import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ESLint } from "eslint";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error -- plain ESM tooling module without type declarations
import { findCycle, forbiddenFor, workspace } from "../../tools/layers.mjs";

/**
 * The lint rules themselves: `pnpm test` runs `eslint .` with eslint.config.js; here the same
 * config must refuse deliberately bad imports (a lower layer importing a higher one, a package
 * importing an app, a relative path into another package, an import cycle) and accept good ones.
 */
const root = join(import.meta.dirname, "..", "..");
const eslint = new ESLint({ cwd: root });
const lint = async (file: string, code: string) => {
  const [r] = await eslint.lintText(code, { filePath: join(root, file) });
  return r!.messages.map((m) => `${m.ruleId}: ${m.message}`);
};

interface Pkg {
  folder: string;
  name?: string;
  layer: number;
  app: boolean;
}
const all = workspace(root) as Pkg[];

describe("lint: layering and cycles", () => {
  it("refuses core importing the protocol (a higher layer)", async () => {
    const got = await lint("packages/core/src/ids.ts", 'import { syncError } from "@ctxsync/protocol";\nexport const bad = syncError;\n');
    expect(got.some((m) => m.startsWith("no-restricted-imports:") && m.includes("packages/core (layer 0)"))).toBe(true);
  });

  it("refuses a package importing an app, and a server importing the client (same layer is fine, but not an app)", async () => {
    expect((await lint("packages/server/src/x.ts", 'export { runCli } from "@ctxsync/cli";\n')).join("\n")).toMatch(/no-restricted-imports/);
    expect((await lint("packages/testkit/src/x.ts", 'export { createSyncServer } from "@ctxsync/server";\n')).join("\n")).toMatch(/no-restricted-imports/);
    expect(await lint("packages/client/src/x.ts", 'export { docNames } from "@ctxsync/protocol";\n')).toEqual([]);
    expect(await lint("packages/compile/src/x.ts", 'export { generateTrace } from "@ctxsync/traces";\n')).toEqual([]);
    expect(await lint("apps/cli/src/x.ts", 'export { createSyncServer } from "@ctxsync/server";\n')).toEqual([]);
  });

  it("refuses a relative path into another package (which would slip past the layer rule)", async () => {
    const got = await lint("packages/compile/src/x.ts", 'export { createApp } from "../../server/src/app.js";\n');
    expect(got.join("\n")).toMatch(/import-x\/no-relative-packages/);
  });

  it("refuses an import cycle inside a package", async () => {
    // names.ts is imported by log.ts; names.ts importing log.ts closes a cycle.
    const got = await lint("packages/core/src/names.ts", 'import { openLog } from "./log.js";\nexport const LOG = openLog;\n');
    expect(got.some((m) => m.startsWith("import-x/no-cycle:"))).toBe(true);
  });

  it("every workspace package.json depends only on its layer or lower, no package on an app, and no cycle", () => {
    const problems: string[] = [];
    const graph: Record<string, string[]> = {};
    for (const p of all) {
      if (p.name === undefined) continue; // examples/ has no package.json
      const pkg = JSON.parse(readFileSync(join(root, p.folder, "package.json"), "utf8")) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
      const deps = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
      graph[p.name] = deps.filter((d) => d.startsWith("@ctxsync/"));
      for (const q of forbiddenFor(p, all) as Pkg[]) if (deps.includes(q.name!)) problems.push(`${p.folder} depends on ${q.name}`);
    }
    expect(problems).toEqual([]);
    expect(findCycle(graph)).toBeUndefined();
    // compile's tests using testkit would close compile → testkit → providers → compile:
    expect(findCycle({ ...graph, "@ctxsync/compile": [...graph["@ctxsync/compile"]!, "@ctxsync/testkit"] })).toEqual(
      expect.arrayContaining(["@ctxsync/compile", "@ctxsync/testkit", "@ctxsync/providers"]),
    );
    // ...and the check would see a bad one.
    const core = all.find((p) => p.folder === "packages/core")!;
    expect((forbiddenFor(core, all) as Pkg[]).map((q) => q.name)).toEqual(expect.arrayContaining(["@ctxsync/server", "@ctxsync/client", "@ctxsync/protocol", "@ctxsync/cli"]));
  });

  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  it("a package the layer table does not place is an error, not a package left unchecked", () => {
    const fake = mkdtempSync(join(tmpdir(), "ctxsync-layers-"));
    dirs.push(fake);
    mkdirSync(join(fake, "packages", "mystery"), { recursive: true });
    writeFileSync(join(fake, "packages", "mystery", "package.json"), JSON.stringify({ name: "@ctxsync/mystery" }));
    expect(() => workspace(fake)).toThrow(/packages\/mystery is not in the layer table/);
  });
});

import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

/**
 * The server's root entry is platform-free (as Hono ships adapters): bundled for a neutral
 * platform — no Node — it needs no Node built-in module and no native or Node-only dependency.
 * The runtime and storage entries (/node, /sqlite, /postgres) are where those live.
 */
const root = join(import.meta.dirname, "..");
const bundle = (entry: string) =>
  build({
    entryPoints: [join(root, entry)],
    bundle: true,
    write: false,
    platform: "neutral",
    format: "esm",
    conditions: ["development", "import", "module", "default"],
    mainFields: ["module", "main"],
    metafile: true,
    logLevel: "silent",
  });

describe("server entry points", () => {
  it("@ctxsync/server (the root) bundles for a neutral platform", async () => {
    const r = await bundle("packages/server/src/index.ts");
    const inputs = Object.keys(r.metafile.inputs).join("\n");
    for (const nodeOnly of ["better-sqlite3", "/pg/", "/ws/", "@hono/node-server", "storage/sqlite", "storage/postgres", "src/node.ts"])
      expect(inputs.includes(nodeOnly), `the root entry pulls in ${nodeOnly}`).toBe(false);
    expect(inputs).toMatch(/packages\/server\/src\/sync-server\.ts/);
  });

  it("the check can fail: the /sqlite and /node entries do not bundle without Node", async () => {
    await expect(bundle("packages/server/src/sqlite.ts")).rejects.toThrow(/node:|better-sqlite3|Could not resolve/);
    await expect(bundle("packages/server/src/node.ts")).rejects.toThrow(/node:|Could not resolve/);
  });
});

#!/usr/bin/env node
// `pnpm bench <name>` runs bench/<name>.ts under tsx with the `development` condition,
// so benchmarks use the workspace sources directly. Each benchmark prints JSON lines;
// the last one is its summary object.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const name = process.argv[2];
const available = readdirSync(here).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort();
if (!name || !existsSync(join(here, `${name}.ts`))) {
  console.error(`usage: pnpm bench <name>   (available: ${available.join(", ") || "none"})`);
  process.exit(2);
}
const tsx = join(here, "..", "node_modules", ".bin", "tsx");
const r = spawnSync(tsx, ["--conditions=development", join(here, `${name}.ts`), ...process.argv.slice(3)], { stdio: "inherit" });
process.exit(r.status ?? 1);

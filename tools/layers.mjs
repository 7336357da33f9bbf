// The dependency direction of the workspace, in one table: a package may import packages of its
// own layer or of a lower one, never a higher one. eslint.config.js turns it into import rules for
// every file; tests/lint/layers.test.ts checks the rules and every package.json against it.
//   core ← compile / providers / replay / protocol / testkit ← server / client ← apps
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Workspace folders by layer. A folder the table does not know is an error (add it here). */
export const LAYERS = [
  // 0: no workspace dependency (local-engine is a provider of its own: llama.cpp behind OpenAI's API)
  ["packages/core", "packages/local-engine"],
  // 1: build on core (and on each other, without cycles: compile ← providers ← testkit)
  ["packages/compile", "packages/providers", "packages/replay", "packages/protocol", "packages/testkit", "packages/traces"],
  // 2: the two ends of sync
  ["packages/server", "packages/client"],
  // 3: deployables and everything that only uses the packages
  ["apps/*", "bench", "tests", "examples"],
];

const layerOfFolder = (folder) => {
  for (const [i, folders] of LAYERS.entries())
    if (folders.some((f) => (f.endsWith("/*") ? folder.startsWith(f.slice(0, -1)) && !folder.slice(f.length - 1).includes("/") : folder === f))) return i;
  return undefined;
};

/**
 * Every workspace folder with a package.json (plus examples/): `{ folder, name, layer, app }`.
 * Throws for a folder the table does not place, so a new package cannot go unchecked.
 */
export const workspace = (root) => {
  const out = [];
  for (const parent of ["packages", "apps"]) {
    const dir = join(root, parent);
    if (!existsSync(dir)) continue;
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const pkg = join(dir, d.name, "package.json");
      if (!d.isDirectory() || !existsSync(pkg)) continue;
      out.push({ folder: `${parent}/${d.name}`, name: JSON.parse(readFileSync(pkg, "utf8")).name, app: parent === "apps" });
    }
  }
  for (const folder of ["bench", "tests", "examples"]) {
    const pkg = join(root, folder, "package.json");
    const name = existsSync(pkg) ? JSON.parse(readFileSync(pkg, "utf8")).name : undefined;
    if (existsSync(join(root, folder))) out.push({ folder, name, app: false });
  }
  return out.map((p) => {
    const layer = layerOfFolder(p.folder);
    if (layer === undefined) throw new Error(`${p.folder} is not in the layer table of tools/layers.mjs: place it in a layer`);
    return { ...p, layer };
  });
};

/** The workspace packages `p` must not import: every app but itself, every package of a higher layer. */
export const forbiddenFor = (p, all) => all.filter((q) => q.name && q.name !== p.name && (q.app || q.layer > p.layer));

/** A cycle in a graph `{ node: [successors] }` (as a list of nodes, first repeated last), or undefined. */
export const findCycle = (graph) => {
  const state = new Map(); // 1: on the path, 2: done
  const path = [];
  const visit = (n) => {
    if (state.get(n) === 2) return undefined;
    if (state.get(n) === 1) return [...path.slice(path.indexOf(n)), n];
    state.set(n, 1);
    path.push(n);
    for (const m of graph[n] ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    path.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of Object.keys(graph)) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
};

// Lint: typescript-eslint (syntax rules, no type information: fast enough for every `pnpm test`),
// the layering of tools/layers.mjs as import rules for every file, and import-x/no-cycle over the
// whole workspace (workspace packages resolve to their sources through the `development` condition).
import js from "@eslint/js";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";
import { forbiddenFor, workspace } from "./tools/layers.mjs";

const root = import.meta.dirname;
const all = workspace(root);

/** One block per workspace folder: it may not import a package of a higher layer, nor an app. */
const layering = all.map((p) => {
  const banned = forbiddenFor(p, all);
  const names = banned.map((q) => q.name.replace(/[/.]/g, "\\$&"));
  const patterns = [];
  if (names.length > 0)
    patterns.push({
      regex: `^(${names.join("|")})(/.*)?$`,
      message: `${p.folder} (layer ${p.layer}) may import only packages of its layer or lower, and no app (see tools/layers.mjs).`,
    });
  return {
    name: `layers/${p.folder}`,
    files: [`${p.folder}/**/*.{ts,mts,js,mjs}`],
    rules: {
      "no-restricted-imports": ["error", { patterns }],
      // Below the top layer another package is imported by its name (so that the rule above sees it),
      // never by a relative path. (Top-layer folders may import anything, examples and benchmarks included.)
      "import-x/no-relative-packages": p.layer < 3 ? "error" : "off",
    },
  };
});

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "**/.turbo/**", "**/__fixtures__/**", "data/**", ".tmp/**", "bench/.out/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    name: "ctxsync/base",
    files: ["**/*.{ts,mts,js,mjs}"],
    plugins: { "import-x": importX },
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: { process: "readonly", console: "readonly", URL: "readonly" } },
    settings: {
      // Dependencies are parsed too (for the cycle check): TypeScript sources with typescript-eslint's parser.
      "import-x/parsers": { "@typescript-eslint/parser": [".ts", ".mts"] },
      "import-x/extensions": [".ts", ".mts", ".js", ".mjs"],
      "import-x/resolver-next": [
        createNodeResolver({
          conditionNames: ["development", "types", "import", "default"],
          extensions: [".ts", ".mts", ".js", ".mjs", ".json"],
          extensionAlias: { ".js": [".ts", ".js"], ".mjs": [".mts", ".mjs"] },
        }),
      ],
    },
    rules: {
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      // The codebase's conventions (see docs/architecture.md): `_`-prefixed names are deliberately unused.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", destructuredArrayIgnorePattern: "^_" }],
      // Tests and tooling reach into untyped test doubles (window, SDK internals) with `any`.
      "@typescript-eslint/no-explicit-any": "off",
      "no-empty": ["error", { allowEmptyCatch: true }],
    },
  },
  ...layering,
);

#!/usr/bin/env node
// The installed `ctxsync-engine` command: runs the built engine (dist/). A committed file, so that
// `pnpm install` in the workspace can link the bin before anything is built. From the sources:
// `pnpm --filter @ctxsync/local-engine engine …`.
import("../dist/bin.js").catch((e) => {
  if (e?.code !== "ERR_MODULE_NOT_FOUND") throw e;
  console.error("ctxsync-engine: not built yet; run `pnpm build` (or, from the sources, `pnpm --filter @ctxsync/local-engine engine …`)");
  process.exit(1);
});

#!/usr/bin/env node
// The installed `ctxsync` command: runs the built CLI (dist/). A committed file, so that
// `pnpm install` can link the bin before anything is built. From the sources: `pnpm ctxsync …`.
import("../dist/main.js").catch((e) => {
  if (e?.code !== "ERR_MODULE_NOT_FOUND") throw e;
  console.error("ctxsync: not built yet; run `pnpm build` (or, from the sources, `pnpm ctxsync …`)");
  process.exit(1);
});

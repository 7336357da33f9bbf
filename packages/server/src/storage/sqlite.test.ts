import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runStorageConformance } from "./conformance.js";
import { createSqliteStore } from "./sqlite.js";

const dir = mkdtempSync(join(tmpdir(), "ctxsync-sqlite-"));
let n = 0;
const paths = new Map<unknown, string>();
runStorageConformance(
  "sqlite",
  () => {
    const path = join(dir, `s${n++}.db`);
    const s = createSqliteStore({ path });
    paths.set(s, path);
    return s;
  },
  { reopen: (closed) => createSqliteStore({ path: paths.get(closed)! }) },
);

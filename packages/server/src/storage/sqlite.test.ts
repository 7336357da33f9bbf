import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { registerDocStoreConformance } from "./conformance-vitest.js";
import { createSqliteStore } from "./sqlite.js";

const dir = mkdtempSync(join(tmpdir(), "ctxsync-sqlite-"));
let n = 0;
const paths = new Map<unknown, string>();
registerDocStoreConformance("sqlite", {
  fresh: () => {
    const path = join(dir, `s${n++}.db`);
    const s = createSqliteStore({ path });
    paths.set(s, path);
    return s;
  },
  reopen: (closed) => createSqliteStore({ path: paths.get(closed)! }),
});


describe("sqlite group commit across documents", () => {
  it("appends of one turn from many documents commit together, in order, and are visible to the next operation", async () => {
    const path = join(dir, `g${n++}.db`);
    const store = createSqliteStore({ path });
    const u = (i: number) => new Uint8Array([i]);
    // Requested in one turn: written in one transaction at the next turn.
    const pending = Array.from({ length: 30 }, (_, i) => store.appendMany(`doc${i % 5}`, [u(i), u(i + 100)]));
    // An operation requested in the same turn sees them (queued appends are written first).
    const loaded = await store.load("doc0");
    expect(loaded.updates.map((x) => x[0])).toEqual([0, 100, 5, 105, 10, 110, 15, 115, 20, 120, 25, 125]);
    const seqs = (await Promise.all(pending)).flat();
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(60);
    await store.close();
    // Durable: a fresh store on the same file has all of them.
    const again = createSqliteStore({ path });
    expect((await again.load("doc3")).updates.length).toBe(12);
    await again.close();
  });

  it("a closed store refuses appends with storage-unavailable, and what was queued before close is kept", async () => {
    const path = join(dir, `h${n++}.db`);
    const store = createSqliteStore({ path });
    const queued = store.append("d", new Uint8Array([7]));
    await store.close();
    await expect(queued).resolves.toBeGreaterThan(0);
    await expect(store.append("d", new Uint8Array([8]))).rejects.toMatchObject({ code: "storage-unavailable" });
    const again = createSqliteStore({ path });
    expect((await again.load("d")).updates.map((x) => x[0])).toEqual([7]);
    await again.close();
  });
});

import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runClientStorageConformance } from "./conformance-vitest.js";
import { fsStorage } from "./fs-storage.js";
import { memoryStorage } from "./memory-storage.js";

const tempDir = () => mkdtempSync(join(tmpdir(), "ctxsync-client-"));

runClientStorageConformance("fs", () => {
  const dir = tempDir();
  return { persistent: true, open: () => fsStorage({ dir }), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
});

runClientStorageConformance("memory", () => {
  const s = memoryStorage();
  return { persistent: false, open: () => s };
});

describe("fs storage specifics", () => {
  it("cuts off a torn tail record and keeps appending after the last good one", async () => {
    const dir = tempDir();
    try {
      const s = fsStorage({ dir });
      await s.appendUpdate("c", Uint8Array.of(1, 2, 3));
      await s.appendUpdate("c", Uint8Array.of(4, 5));
      await s.close();
      const log = join(dir, "c", "updates.log");
      const good = statSync(log).size;
      // A crash in the middle of a write: a header that promises more bytes than follow.
      appendFileSync(log, Buffer.from([50, 0, 0, 0, 1, 2, 3, 4, 9, 9]));
      const s2 = fsStorage({ dir });
      const d = await s2.load("c");
      expect(d.updates.map((u) => [...u])).toEqual([[1, 2, 3], [4, 5]]);
      expect(statSync(log).size).toBe(good);
      await s2.appendUpdate("c", Uint8Array.of(6));
      expect((await s2.load("c")).updates.map((u) => [...u])).toEqual([[1, 2, 3], [4, 5], [6]]);
      await s2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects a record whose checksum does not match instead of returning garbage", async () => {
    const dir = tempDir();
    try {
      const s = fsStorage({ dir });
      await s.appendUpdate("c", Uint8Array.of(1, 2, 3));
      await s.appendUpdate("c", Uint8Array.of(7, 7, 7));
      await s.close();
      const log = join(dir, "c", "updates.log");
      const buf = readFileSync(log);
      buf[buf.length - 1] = 8; // flip a byte of the last record's body
      writeFileSync(log, buf);
      const d = await fsStorage({ dir }).load("c");
      expect(d.updates.map((u) => [...u])).toEqual([[1, 2, 3]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports an unusable directory as a storage-unavailable SyncError", async () => {
    const dir = tempDir();
    try {
      appendFileSync(join(dir, "c"), "a file where a directory should be");
      const s = fsStorage({ dir });
      await expect(s.appendUpdate("c", Uint8Array.of(1))).rejects.toMatchObject({ name: "SyncError", code: "storage-unavailable" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

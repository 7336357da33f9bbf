import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { syncError } from "@ctxsync/protocol";
import type { ClientStorage, StorageStats, StoredDoc } from "./types.js";

/**
 * File-system storage for Node: one directory per document holding `snapshot` and `updates.log`.
 * Each update is a record `[u32 length][u32 crc32][bytes]`, written with one `write` and an
 * `fsync` before the call returns — synchronously, so an update is on disk even before the
 * returned promise is awaited. A torn record at the tail (a crash mid-write) fails its length or
 * checksum check and is cut off on load; nothing before it is lost.
 *
 * Compaction writes `snapshot.tmp`, fsyncs it, renames it over `snapshot`, then truncates the log.
 * A crash between the rename and the truncation leaves the snapshot plus updates it already
 * contains, which Yjs applies idempotently.
 *
 * One process per directory: two processes writing the same files would interleave records.
 */
export interface FsStorageOptions {
  /** Directory to keep documents in (created if missing). */
  readonly dir: string;
}

const HEADER = 8;
const dirName = (doc: string) => encodeURIComponent(doc);

export const fsStorage = (opts: FsStorageOptions): ClientStorage => {
  const root = opts.dir;
  mkdirSync(root, { recursive: true });
  const stats = new Map<string, { updates: number; bytes: number }>();
  const fds = new Map<string, number>();
  let closed = false;

  const paths = (doc: string) => {
    const dir = join(root, dirName(doc));
    return { dir, log: join(dir, "updates.log"), snap: join(dir, "snapshot"), tmp: join(dir, "snapshot.tmp") };
  };
  const fsyncDir = (dir: string) => {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  };
  const logFd = (doc: string): number => {
    let fd = fds.get(doc);
    if (fd === undefined) {
      const p = paths(doc);
      const freshDir = !existsSync(p.dir);
      const freshLog = freshDir || !existsSync(p.log);
      mkdirSync(p.dir, { recursive: true });
      fd = openSync(p.log, "a");
      // A new file or directory is durable only once the directory entry naming it is.
      if (freshLog) fsyncDir(p.dir);
      if (freshDir) fsyncDir(root);
      fds.set(doc, fd);
    }
    return fd;
  };
  const guard = <T>(what: string, fn: () => T): Promise<T> => {
    if (closed) return Promise.reject(syncError("storage-unavailable", `storage ${root} is closed`));
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(syncError("storage-unavailable", `${what} failed in ${root}: ${(e as Error).message}`, { cause: e }));
    }
  };

  /** Read the log, cutting off a torn or corrupt tail so later appends follow the last good record. */
  const readLog = (doc: string): Uint8Array[] => {
    const p = paths(doc);
    if (!existsSync(p.log)) return [];
    const buf = readFileSync(p.log);
    const out: Uint8Array[] = [];
    let off = 0;
    while (off + HEADER <= buf.length) {
      const len = buf.readUInt32LE(off);
      const sum = buf.readUInt32LE(off + 4);
      if (off + HEADER + len > buf.length) break;
      const body = buf.subarray(off + HEADER, off + HEADER + len);
      if (crc32(body) !== sum) break;
      out.push(new Uint8Array(body));
      off += HEADER + len;
    }
    if (off < buf.length) {
      const fd = openSync(p.log, "r+");
      try {
        ftruncateSync(fd, off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    return out;
  };

  return {
    name: `fs:${root}`,
    load: (doc) =>
      guard("load", (): StoredDoc => {
        const p = paths(doc);
        const snapshot = existsSync(p.snap) ? new Uint8Array(readFileSync(p.snap)) : null;
        const updates = readLog(doc);
        stats.set(doc, { updates: updates.length, bytes: updates.reduce((n, u) => n + u.length, 0) });
        return { snapshot, updates };
      }),
    appendUpdate: (doc, update) =>
      guard("append", () => {
        const fd = logFd(doc);
        const rec = Buffer.allocUnsafe(HEADER + update.length);
        rec.writeUInt32LE(update.length, 0);
        rec.writeUInt32LE(crc32(update), 4);
        rec.set(update, HEADER);
        let off = 0;
        while (off < rec.length) off += writeSync(fd, rec, off);
        fsyncSync(fd);
        const s = stats.get(doc) ?? { updates: 0, bytes: 0 };
        stats.set(doc, { updates: s.updates + 1, bytes: s.bytes + update.length });
      }),
    compact: (doc, snapshot) =>
      guard("compact", () => {
        const p = paths(doc);
        mkdirSync(p.dir, { recursive: true });
        const fd = openSync(p.tmp, "w");
        try {
          let off = 0;
          while (off < snapshot.length) off += writeSync(fd, snapshot, off);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(p.tmp, p.snap);
        fsyncDir(p.dir);
        const lfd = logFd(doc);
        ftruncateSync(lfd, 0);
        fsyncSync(lfd);
        stats.set(doc, { updates: 0, bytes: 0 });
      }),
    stats: (doc): StorageStats => stats.get(doc) ?? { updates: 0, bytes: 0 },
    list: () =>
      guard("list", () =>
        readdirSync(root, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => decodeURIComponent(d.name))
          .sort(),
      ),
    remove: (doc) =>
      guard("remove", () => {
        const fd = fds.get(doc);
        if (fd !== undefined) closeSync(fd);
        fds.delete(doc);
        stats.delete(doc);
        rmSync(paths(doc).dir, { recursive: true, force: true });
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const fd of fds.values()) closeSync(fd);
      fds.clear();
    },
  };
};

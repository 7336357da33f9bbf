/**
 * Where a client keeps its documents between runs. One log of Yjs updates per document plus an
 * optional snapshot that stands for everything before it. Implementations: the file system
 * (Node), IndexedDB through idb-keyval (browsers), memory (tests, ephemeral sessions).
 */
export interface StoredDoc {
  /** A Yjs update that stands for every update compacted so far, or null. */
  readonly snapshot: Uint8Array | null;
  /** Updates appended since the snapshot, in the order they were appended. */
  readonly updates: readonly Uint8Array[];
}

export interface StorageStats {
  /** Updates appended since the last compaction. */
  readonly updates: number;
  /** Their total size in bytes. */
  readonly bytes: number;
}

export interface ClientStorage {
  /** A short name for messages ("fs:/path", "idb:db", "memory"). */
  readonly name: string;
  /** The stored state of `doc` (empty when it was never written). Also primes `stats(doc)`. */
  load(doc: string): Promise<StoredDoc>;
  /** Append one update. Resolves only once the update is durable (fsync, committed transaction). */
  appendUpdate(doc: string, update: Uint8Array): Promise<void>;
  /**
   * Replace the snapshot and every update appended before this call with `snapshot`, atomically:
   * a crash in the middle leaves either the old state or the new one, never less.
   */
  compact(doc: string, snapshot: Uint8Array): Promise<void>;
  /** Size of the update log since the last compaction (what compaction policies look at). */
  stats(doc: string): StorageStats;
  /** Names of the documents that have something stored. */
  list(): Promise<string[]>;
  /** Forget a document entirely. */
  remove(doc: string): Promise<void>;
  close(): Promise<void>;
}

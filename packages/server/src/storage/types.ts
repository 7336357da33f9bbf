/**
 * Where documents live. A document is a snapshot (optional) plus the updates appended after it,
 * in order. The server appends every accepted update (durably, before relaying it) and now and
 * then replaces a prefix of the updates with a snapshot (compaction), off the hot path.
 */
export interface StoredDoc {
  /** The last compacted state (a Yjs update encoding the whole document), if any. */
  readonly snapshot?: Uint8Array;
  /** Updates appended after the snapshot, in append order. */
  readonly updates: Uint8Array[];
  /** Sequence number of the last update (or of the snapshot's last folded update); 0 for a new document. */
  readonly seq: number;
  /** Bytes of snapshot + updates: what loading costs. */
  readonly bytes: number;
}

export interface DocInfo {
  readonly name: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface DocStore {
  /** Human-readable backend name for logs and metrics ("sqlite", "postgres"). */
  readonly kind: string;
  load(name: string): Promise<StoredDoc>;
  /** Append one update; resolves once it is durable. Returns the update's sequence number (increasing per store). */
  append(name: string, update: Uint8Array): Promise<number>;
  /** Append several updates in order, atomically and durably (one commit: group commit). Returns their sequence numbers. */
  appendMany(name: string, updates: readonly Uint8Array[]): Promise<number[]>;
  /**
   * Replace the snapshot with `snapshot` and drop every update with sequence number ≤ `upToSeq`
   * (the snapshot must contain them). Updates appended meanwhile (seq > upToSeq) are kept.
   * The server compacts from its in-memory document, which is only complete while one process
   * writes a document: several server processes sharing a PostgreSQL database must route a
   * document's writes to one of them (or compact from storage) before they can share it.
   */
  compact(name: string, snapshot: Uint8Array, upToSeq: number): Promise<void>;
  /** Documents whose name starts with `prefix` (all when omitted), sorted by name. */
  list(prefix?: string): Promise<DocInfo[]>;
  has(name: string): Promise<boolean>;
  /** Remove a document and all its updates. Deleting a missing document is not an error. */
  delete(name: string): Promise<void>;
  close(): Promise<void>;
}

import type {
  AssistantContent,
  Branch,
  BranchName,
  CheckpointHandle,
  Entry,
  EntryId,
  EntryInput,
  HiddenBlob,
  JsonObject,
  JsonValue,
  LogChange,
  Note,
  UsageRecord,
} from "@ctxsync/core";
import type { CompileOptions, CompileResult, RenderContext, RendererId, RequestByRenderer } from "@ctxsync/compile";
import type { Scope, SyncError } from "@ctxsync/protocol";
import type { WebSocketLike } from "./connection.js";
import type { Peer } from "./presence.js";
import type { CompactionPolicy } from "./storage/persist.js";
import type { ClientStorage } from "./storage/types.js";
import type { Transport } from "@ctxsync/providers";
import type { SessionReplayOptions, SessionTurns } from "./turns.js";

/** The types of a session: what `openSession` takes and gives. */

export type SyncStatus = "offline" | "connecting" | "synced";

export interface SessionOptions {
  readonly conversation: string;
  /** Where to keep the documents; required (memoryStorage() for an ephemeral session). */
  readonly storage: ClientStorage;
  /** Sync endpoint, e.g. `ws://localhost:8787/sync`. Without it the session is local only. */
  readonly url?: string;
  readonly token?: string;
  /** Stable id of this device (default: a random one per session). */
  readonly device?: string;
  readonly user?: string;
  /** Branch to start on (default `main`). */
  readonly branch?: string;
  /** Scopes to assume (default: read from the token; all when there is no token). */
  readonly scopes?: readonly Scope[];
  /** WebSocket constructor (default: globalThis.WebSocket; `@ctxsync/client/node` passes `ws`). */
  readonly WebSocket?: WebSocketLike;
  /** Drive leases last this long unless renewed (default 15 s; renewed every third of it). */
  readonly leaseTtlMs?: number;
  /** How long `drive()` waits for competing claims before deciding (default 400 ms). */
  readonly leaseSettleMs?: number;
  readonly compaction?: CompactionPolicy;
  readonly maxBackoffMs?: number;
  readonly now?: () => number;
  /** The provider transport `send()` uses (from @ctxsync/providers); without it `send()` refuses. */
  readonly transport?: Transport;
  /** Replay settings for `send()`, `prewarm()`, `rebuildCache()` (docs/replay.md). */
  readonly replay?: SessionReplayOptions;
}

export interface AppendOpts {
  /** Append to this branch instead of the session's current one. */
  readonly branch?: string;
  readonly time?: number;
}
export interface AssistantOpts extends AppendOpts {
  readonly provider?: string;
  readonly model?: string;
}

export type SessionChange =
  | LogChange
  | { readonly type: "cache"; readonly local: boolean }
  | { readonly type: "hidden"; readonly local: boolean };

export interface BranchSwitch {
  readonly from: string;
  readonly to: string;
  /** `switch`: asked for; `concurrent-continuation`: another device continued the same head, ours became a fork. */
  readonly reason: "switch" | "fork" | "concurrent-continuation";
}

export type LeaseEvent =
  | { readonly type: "acquired"; readonly branch: string }
  | { readonly type: "released"; readonly branch: string }
  | { readonly type: "lost"; readonly branch: string; readonly holder?: Peer };

export interface SessionEvents {
  change: SessionChange;
  status: SyncStatus;
  error: SyncError;
  presence: readonly Peer[];
  branch: BranchSwitch;
  lease: LeaseEvent;
}

export interface Lease {
  readonly branch: string;
  readonly device: string;
  release(): void;
}

export interface SessionCompileOptions extends Omit<CompileOptions, "hidden" | "conversation" | "branch"> {
  readonly branch?: string;
  /** Leave out hidden blobs this returns false for (replay from scratch drops gone response ids). */
  readonly hiddenFilter?: (b: HiddenBlob) => boolean;
}

export interface BranchInfo extends Branch {
  readonly name: BranchName;
}

/** A conversation as an agent loop sees it: turns in, transcripts out, no Yjs in sight. */
export interface Session extends SessionTurns {
  readonly conversation: string;
  readonly device: string;
  /** The branch appends go to. */
  readonly branch: string;
  readonly status: SyncStatus;
  readonly scopes: readonly Scope[];
  /** Whether C/hidden is open (the token has the `hidden` scope). */
  readonly hasHidden: boolean;

  appendUser(text: string, opts?: AppendOpts): Promise<Entry>;
  appendAssistant(content: AssistantContent | string, opts?: AssistantOpts): Promise<Entry>;
  appendToolResult(callId: string, text: string, opts?: AppendOpts & { isError?: boolean }): Promise<Entry>;
  appendConfig(changes: JsonObject, opts?: AppendOpts): Promise<Entry>;
  /** Append several entries in order as one update (an assistant turn and its tool results). */
  appendTurn(inputs: readonly EntryInput[], opts?: AssistantOpts): Promise<Entry[]>;

  transcript(branch?: string): Entry[];
  entry(id: string): Entry | undefined;
  children(id: string): readonly EntryId[];
  branches(): BranchInfo[];
  /** Create a branch whose head is `at` (default name `fork/<at>`); switches to it unless `switchTo: false`. */
  fork(at: string, opts?: { name?: string; switchTo?: boolean }): Promise<BranchName>;
  switchBranch(name: string): void;
  info(key: string): JsonValue | undefined;
  /** Set a conversation-level fact once (title, the system prompt of an imported trace...). */
  setInfo(key: string, value: JsonValue): Promise<void>;
  /** Debugging note on an entry (never rendered into a prompt). */
  addNote(entry: string, text: string): Promise<Note>;
  notes(entry?: string): Note[];

  /**
   * Compile a branch (default: the current one) into a provider request plus its manifest, with
   * this conversation's hidden blobs. Without `system`, the conversation's imported system prompt is used.
   */
  compile<P extends RendererId>(ctx: RenderContext & { readonly provider: P }, opts?: SessionCompileOptions): CompileResult<RequestByRenderer[P]>;
  attachHidden(entry: string, blob: Omit<HiddenBlob, "id" | "entry" | "order" | "time"> & { order?: number }): Promise<HiddenBlob>;
  hiddenBlobs(entry: string): HiddenBlob[];
  recordUsage(r: Omit<UsageRecord, "id" | "device" | "time"> & { time?: number }): Promise<UsageRecord>;
  usage(): UsageRecord[];
  putCheckpoint(h: CheckpointHandle): Promise<string>;
  checkpoints(): CheckpointHandle[];

  /** Take the drive lease on a branch (default: the current one). Throws SyncError `conflict` naming the holder. */
  drive(branch?: string): Promise<Lease>;
  /** Who drives `branch` now (undefined: nobody). */
  driver(branch?: string): Peer | undefined;
  view(entry: string | null): void;
  /** Publish partial output (streaming text, tool progress) to other devices; null clears it. */
  streamPartial(partial: JsonValue | null): void;
  peers(): Peer[];

  on<K extends keyof SessionEvents>(event: K, listener: (v: SessionEvents[K]) => void): () => void;
  /** Resolves once every write so far is durable in local storage. */
  flush(): Promise<void>;
  /** Resolves when connected, up to date, and the server has processed everything sent so far. */
  whenSynced(timeoutMs?: number): Promise<void>;
  /** Compact local storage now (it is also compacted automatically). */
  compact(): Promise<void>;
  /** Stop syncing (writes go on locally); `connect()` resumes. */
  disconnect(): void;
  /** Resume syncing, also after the server refused the session; pass a new token after `token-expired`. */
  connect(token?: string): void;
  close(): Promise<void>;
}

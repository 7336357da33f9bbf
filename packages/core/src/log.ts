import * as Y from "yjs";
import { branchProblem, forkBranchName, MAIN, type Branch } from "./branch.js";
import { assertEntry, type Entry, type EntryInput, type EntryMeta } from "./entry.js";
import { coreError } from "./errors.js";
import type { PrefixHash } from "./hash.js";
import { isBranchName, newEntryId, newNoteId, newDeviceId, type BranchName, type DeviceId, type EntryId } from "./ids.js";
import type { JsonValue } from "./json.js";
import { createLogIndex, type LogIndex } from "./log-index.js";
import { insertedValues } from "./inserted.js";
import { LOG_ROOTS } from "./names.js";
import type { Note } from "./note.js";

export interface AppendOptions {
  readonly time?: number;
  readonly provider?: string;
  readonly model?: string;
  /** Use this id instead of a random one (import tools, tests). Must be unique in the log. */
  readonly id?: EntryId;
}

export type LogChange =
  | { readonly type: "entries"; readonly added: readonly Entry[]; readonly local: boolean }
  | { readonly type: "branches"; readonly changed: readonly BranchName[]; readonly local: boolean }
  | { readonly type: "notes"; readonly local: boolean }
  | { readonly type: "info"; readonly local: boolean };

/**
 * Typed access to a conversation's canonical log (document `C`). Callers never touch Yjs types:
 * entries are appended, never edited; branches are pointers; forks copy nothing.
 */
export interface ConversationLog {
  readonly doc: Y.Doc;
  readonly device: DeviceId;
  readonly index: LogIndex;
  size(): number;
  /** All entries in array order (a causal order: every entry comes after its parent). */
  entries(): Entry[];
  get(id: EntryId): Entry | undefined;
  children(id: EntryId): readonly EntryId[];
  leaves(): EntryId[];
  branches(): Map<BranchName, Branch>;
  branch(name: BranchName | string): Branch | undefined;
  /** Append one entry at the head of `branch` (creating the branch with a root entry if it does not exist). */
  append(branch: BranchName | string, input: EntryInput, opts?: AppendOptions): Entry;
  /** Append several entries in order, in one transaction (one update). */
  appendMany(branch: BranchName | string, inputs: readonly EntryInput[], opts?: AppendOptions): Entry[];
  /** Create a branch whose head is `at`. Copies nothing. The default name is `fork/<at>`. */
  fork(at: EntryId, name?: BranchName | string): BranchName;
  /** Entries from the root to the branch head. */
  transcript(branch: BranchName | string): Entry[];
  /** Entries from the root to `head`. */
  path(head: EntryId): Entry[];
  prefixHash(id: EntryId): PrefixHash;
  /** Prefix hash of the branch's head (the hash of its whole transcript). */
  branchHash(branch: BranchName | string): PrefixHash;
  isAncestorOrSelf(ancestor: EntryId, id: EntryId): boolean;
  addNote(entry: EntryId, text: string, author?: string): Note;
  notes(entry?: EntryId): Note[];
  info(key: string): JsonValue | undefined;
  /** Set a conversation-level fact once (title, imported system prompt...). Keys are immutable. */
  setInfo(key: string, value: JsonValue): void;
  /** Runs `fn` in one Yjs transaction: all writes become one update. */
  transact<T>(fn: () => T): T;
  onChange(listener: (change: LogChange) => void): () => void;
  destroy(): void;
}

export interface OpenLogOptions {
  readonly device?: DeviceId;
  /** Clock for entry and branch metadata; defaults to Date.now. */
  readonly now?: () => number;
}

/**
 * Append at the end of a Y.Array in O(1). `Y.Array#push` walks the whole list from its start when the
 * array has no search marker (and pushes never create one), so appending to a log of n entries made
 * one by one cost O(n): 100k appends took minutes. `insert(length, …)` finds the end through the
 * search markers it maintains. Same update either way: the new item has the last item as its left
 * origin and no right origin.
 */
export const appendTo = <T>(arr: Y.Array<T>, items: T[]): void => arr.insert(arr.length, items);

/**
 * Is `key` set in `map` with its value momentarily hidden? `_map` keeps a key's last item even when it
 * is deleted. Branch and info values are never deleted, only replaced, so a deleted last item means a
 * write that replaced it has not arrived yet (a value that lost to a concurrent write elsewhere arrives
 * relayed as a deleted item, and hides the key until the winner comes). Writing the key now would
 * start over from nothing — a new root on `main` — instead of continuing what the key holds.
 */
export const hidden = <T>(map: Y.Map<T>, key: string): boolean => !map.has(key) && map._map.has(key);

const hiddenBranch = (name: string) =>
  coreError("unknown-branch", `branch ${JSON.stringify(name)} is momentarily unavailable: a concurrent change to it has not arrived yet; retry after the next sync`);

/** A transaction origin marking writes made through this API on this replica. */
export const LOCAL_ORIGIN = Symbol("ctxsync-local");

export const openLog = (doc: Y.Doc, opts: OpenLogOptions = {}): ConversationLog => {
  const device = opts.device ?? newDeviceId();
  const now = opts.now ?? Date.now;
  const yEntries = doc.getArray<Entry>(LOG_ROOTS.entries);
  const yBranches = doc.getMap<Branch>(LOG_ROOTS.branches);
  const yNotes = doc.getArray<Note>(LOG_ROOTS.notes);
  const yInfo = doc.getMap<JsonValue>(LOG_ROOTS.info);
  const index = createLogIndex();
  const listeners = new Set<(c: LogChange) => void>();
  const emit = (c: LogChange) => listeners.forEach((l) => l(c));

  for (const e of yEntries.toArray()) index.add(e);

  const onEntries = (_: Y.YArrayEvent<Entry>, tr: Y.Transaction) => {
    const added: Entry[] = [];
    for (const e of insertedValues(tr, yEntries, (x) => x.parent, (x) => x.id)) if (index.add(e)) added.push(e);
    if (added.length > 0) emit({ type: "entries", added, local: tr.origin === LOCAL_ORIGIN });
  };
  const onBranches = (ev: Y.YMapEvent<Branch>, tr: Y.Transaction) =>
    emit({ type: "branches", changed: [...ev.keysChanged] as BranchName[], local: tr.origin === LOCAL_ORIGIN });
  const onNotes = (_: unknown, tr: Y.Transaction) => emit({ type: "notes", local: tr.origin === LOCAL_ORIGIN });
  const onInfo = (_: unknown, tr: Y.Transaction) => emit({ type: "info", local: tr.origin === LOCAL_ORIGIN });
  yEntries.observe(onEntries);
  yBranches.observe(onBranches);
  yNotes.observe(onNotes);
  yInfo.observe(onInfo);

  const transact = <T>(fn: () => T): T => {
    let out!: T;
    doc.transact(() => {
      out = fn();
    }, LOCAL_ORIGIN);
    return out;
  };

  const requireEntry = (id: EntryId): Entry => {
    const e = index.get(id);
    if (!e) throw coreError("unknown-entry", `no entry ${id} in this conversation`);
    return e;
  };
  const requireBranch = (name: string): Branch => {
    const b = yBranches.get(name);
    if (!b) throw coreError("unknown-branch", `no branch ${JSON.stringify(name)}`);
    return b;
  };

  const appendMany = (branchName: string, inputs: readonly EntryInput[], o: AppendOptions = {}): Entry[] => {
    if (!isBranchName(branchName)) throw coreError("invalid-branch", `invalid branch name ${JSON.stringify(branchName)}`);
    if (o.id !== undefined && inputs.length !== 1) throw coreError("invalid-entry", "an explicit id needs exactly one entry");
    const existing = yBranches.get(branchName);
    if (!existing && hidden(yBranches, branchName)) throw hiddenBranch(branchName);
    const time = o.time ?? now();
    const meta: EntryMeta = {
      device,
      time,
      ...(o.provider !== undefined ? { provider: o.provider } : {}),
      ...(o.model !== undefined ? { model: o.model } : {}),
    };
    let parent: EntryId | null = existing ? existing.head : null;
    const made: Entry[] = [];
    for (const input of inputs) {
      const id = o.id ?? newEntryId();
      if (index.has(id)) throw coreError("invalid-entry", `entry id ${id} already exists`);
      const entry = assertEntry({ id, parent, kind: input.kind, content: input.content, meta });
      made.push(entry);
      parent = id;
    }
    if (made.length === 0) return made;
    const head = made[made.length - 1]!.id;
    const next: Branch = existing
      ? { ...existing, head }
      : { head, base: null, createdBy: device, createdAt: time };
    transact(() => {
      appendTo(yEntries, made);
      yBranches.set(branchName, next);
    });
    return made;
  };

  const log: ConversationLog = {
    doc,
    device,
    index,
    size: () => index.size,
    entries: () => yEntries.toArray(),
    get: (id) => index.get(id),
    children: (id) => index.children(id),
    leaves: () => [...index.leaves()],
    branches: () => new Map(yBranches.entries() as IterableIterator<[BranchName, Branch]>),
    branch: (name) => yBranches.get(name),
    append: (branch, input, o) => appendMany(branch, [input], o)[0]!,
    appendMany,
    fork(at, name) {
      requireEntry(at);
      const branchName = (name ?? forkBranchName(at)) as BranchName;
      const record: Branch = { head: at, base: at, createdBy: device, createdAt: now() };
      const problem = branchProblem(branchName, record);
      if (problem) throw coreError("invalid-branch", problem);
      const existing = yBranches.get(branchName);
      if (!existing && hidden(yBranches, branchName)) throw hiddenBranch(branchName);
      if (existing) {
        if (existing.head === at) return branchName;
        throw coreError("branch-exists", `branch ${branchName} already exists (head ${existing.head})`);
      }
      transact(() => yBranches.set(branchName, record));
      return branchName;
    },
    transcript: (branch) => index.path(requireBranch(branch).head),
    path: (head) => {
      requireEntry(head);
      return index.path(head);
    },
    prefixHash: (id) => {
      requireEntry(id);
      return index.hash(id);
    },
    branchHash: (branch) => index.hash(requireBranch(branch).head),
    isAncestorOrSelf: (a, b) => index.isAncestorOrSelf(a, b),
    addNote(entry, text, author = device) {
      requireEntry(entry);
      const note: Note = { id: newNoteId(), entry, author, time: now(), text };
      transact(() => appendTo(yNotes, [note]));
      return note;
    },
    notes: (entry) => yNotes.toArray().filter((n) => entry === undefined || n.entry === entry),
    info: (key) => yInfo.get(key),
    setInfo(key, value) {
      if (yInfo.has(key) || hidden(yInfo, key)) {
        throw coreError("meta-immutable", `conversation info ${JSON.stringify(key)} is already set`);
      }
      transact(() => yInfo.set(key, value));
    },
    transact,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    destroy() {
      yEntries.unobserve(onEntries);
      yBranches.unobserve(onBranches);
      yNotes.unobserve(onNotes);
      yInfo.unobserve(onInfo);
      listeners.clear();
    },
  };
  return log;
};

export { MAIN };

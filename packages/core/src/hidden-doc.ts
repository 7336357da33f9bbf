import * as Y from "yjs";
import { canonicalJson } from "./canonical.js";
import { utf8 } from "./hash.js";
import { isEntryId, randomId, type EntryId } from "./ids.js";
import { isJsonObject, type JsonValue } from "./json.js";
import { appendTo, LOCAL_ORIGIN } from "./log.js";
import { insertedValues } from "./inserted.js";
import { HIDDEN_ROOTS } from "./names.js";

/**
 * An opaque piece of provider state, keyed by the entry that produced it: OpenAI reasoning
 * `encrypted_content`, Anthropic thinking `signature` / `redacted_thinking` data, Gemini
 * `thoughtSignature`... Rendered back only to the provider (and model family) that issued it.
 */
export interface HiddenBlob {
  readonly id: string;
  readonly entry: EntryId;
  readonly provider: string;
  readonly model: string;
  /** What it is, e.g. "openai.reasoning", "anthropic.thinking", "anthropic.redacted_thinking", "gemini.thought_signature". */
  readonly kind: string;
  /** Position among the blobs of its entry (blocks must go back in their original order). */
  readonly order: number;
  /** The provider's payload, kept verbatim. */
  readonly data: JsonValue;
  readonly time: number;
}

/** What a reader without the `hidden` scope may know of a blob: that it exists, its kind and size. */
export interface BlobDescriptor {
  readonly id: string;
  readonly entry: EntryId;
  readonly provider: string;
  readonly kind: string;
  readonly bytes: number;
}

export const blobProblem = (v: unknown): string | undefined => {
  if (!isJsonObject(v)) return "blob must be an object";
  const extra = Object.keys(v).find((k) => !["id", "entry", "provider", "model", "kind", "order", "data", "time"].includes(k));
  if (extra) return `blob has unknown field ${extra}`;
  if (typeof v.id !== "string" || !isEntryId(v.entry)) return "blob needs an id and an entry";
  if (typeof v.provider !== "string" || typeof v.model !== "string" || typeof v.kind !== "string")
    return "blob needs provider, model and kind";
  if (typeof v.order !== "number" || !Number.isInteger(v.order)) return "blob order must be an integer";
  if (typeof v.time !== "number") return "blob time must be a number";
  if (!("data" in v)) return "blob needs data";
  return undefined;
};

export const describeBlob = (b: HiddenBlob): BlobDescriptor => ({
  id: b.id,
  entry: b.entry,
  provider: b.provider,
  kind: b.kind,
  bytes: utf8(canonicalJson(b.data)).length,
});

/** Typed access to `C/hidden`: append-only per entry. */
export interface HiddenState {
  readonly doc: Y.Doc;
  attach(b: Omit<HiddenBlob, "id" | "order" | "time"> & { order?: number; time?: number }): HiddenBlob;
  /** Blobs of one entry in their original order. */
  blobs(entry: EntryId): HiddenBlob[];
  all(): HiddenBlob[];
  describe(): BlobDescriptor[];
}

export const openHidden = (doc: Y.Doc): HiddenState => {
  const yBlobs = doc.getArray<HiddenBlob>(HIDDEN_ROOTS.blobs);
  const byEntry = new Map<EntryId, HiddenBlob[]>();
  const add = (b: HiddenBlob) => {
    const list = byEntry.get(b.entry);
    if (list) {
      if (list.some((x) => x.id === b.id)) return;
      list.push(b);
      list.sort((a, c) => a.order - c.order || (a.id < c.id ? -1 : 1));
    } else byEntry.set(b.entry, [b]);
  };
  yBlobs.toArray().forEach(add);
  yBlobs.observe((_, tr) => insertedValues(tr, yBlobs).forEach(add));
  return {
    doc,
    attach(b) {
      const order = b.order ?? byEntry.get(b.entry)?.length ?? 0;
      const blob: HiddenBlob = { ...b, id: `b${randomId(15)}`, order, time: b.time ?? Date.now() };
      doc.transact(() => appendTo(yBlobs, [blob]), LOCAL_ORIGIN);
      return blob;
    },
    blobs: (entry) => [...(byEntry.get(entry) ?? [])],
    all: () => yBlobs.toArray(),
    describe: () => yBlobs.toArray().map(describeBlob),
  };
};

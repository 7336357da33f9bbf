import { sha256Hex, type EntryId } from "@ctxsync/core";
import type { RendererId } from "./context.js";
import type { SegmentKind, WrittenSegment } from "./writer.js";

/** Counts tokens: a tokenizer's encode function, or anything with `count`. */
export type Tokenizer = ((text: string) => ArrayLike<number>) | { count(text: string): number };

export interface ManifestSegment {
  readonly index: number;
  readonly kind: SegmentKind;
  /** The first log entry of the segment (entry segments only). */
  readonly entryId?: EntryId;
  /** All log entries of the segment (a provider may merge consecutive turns into one message). */
  readonly entryIds?: readonly EntryId[];
  readonly role?: string;
  /** An assistant segment rendered with its reasoning. */
  readonly reasoning?: boolean;
  /** Hidden blobs rendered into the segment. */
  readonly hidden?: number;
  /** Templates, assistant turns: SHA-256 of the turn's first bytes, as long as the generation prompt. */
  readonly headHash?: string;
  /** UTF-8 byte offsets into the prefix stream (`CompileResult.prefix`). */
  readonly start: number;
  readonly end: number;
  /** SHA-256 of the segment's bytes. */
  readonly hash: string;
  /** Tokens in the segment: counted by the supplied tokenizer, or estimated (bytes / 4) when none was supplied. */
  readonly tokens: number;
  readonly tokensEstimated: boolean;
}

/** What the provider holds on its side instead of a prefix we send (previous_response_id, cachedContent). */
export interface ServerState {
  readonly previousResponseId?: string;
  readonly cachedContent?: string;
  /** The last log entry covered by the server-side state (null: only the static part). */
  readonly upTo: EntryId | null;
}

/**
 * The rendered prefix of one request, segment by segment. Offsets index `CompileResult.prefix`
 * (docs/compile.md: the byte-prefix definition). Two manifests are compared by `explain`.
 */
export interface Manifest {
  readonly renderer: RendererId;
  readonly rendererVersion: string;
  readonly model: string;
  readonly renderContextHash: string;
  /** SHA-256 of the system prompt, the canonical sorted tool list and the request params (for explanations). */
  readonly systemHash: string;
  readonly toolsHash: string;
  readonly paramsHash: string;
  readonly segments: readonly ManifestSegment[];
  /** Byte offset of the last stable breakpoint: the next turn's request starts with exactly these bytes. */
  readonly stableEnd: number;
  /** Byte offsets of the cache breakpoints placed in the request (Anthropic `cache_control`), else `[stableEnd]`. */
  readonly breakpoints: readonly number[];
  /** SHA-256 over the hashes of the segments up to the stable end: equal values mean equal prefixes. */
  readonly prefixHash: string;
  readonly lastEntryId: EntryId | null;
  readonly server?: ServerState;
  readonly totals: {
    readonly bytes: number;
    readonly entries: number;
    readonly tokens: number;
    readonly tokensEstimated: boolean;
    /** Tokens from the start to the stable end (what a provider can cache for the next turn). */
    readonly stableTokens: number;
  };
}

// Segment hashes repeat across turns (the whole history is re-rendered each turn without a render cache): memoize them.
const HASH_MEMO_MAX = 50_000;
const hashMemo = new Map<string, string>();
export const hashText = (text: string): string => {
  let h = hashMemo.get(text);
  if (h === undefined) {
    h = sha256Hex(text);
    if (hashMemo.size >= HASH_MEMO_MAX) hashMemo.clear();
    hashMemo.set(text, h);
  }
  return h;
};

const countTokens = (tokenizer: Tokenizer | undefined, text: string, bytes: number): number => {
  if (!tokenizer) return Math.ceil(bytes / 4);
  if (typeof tokenizer === "function") return tokenizer(text).length;
  return tokenizer.count(text);
};

/** A written segment as the manifest lists it (its index is set when the manifest is assembled). */
export const manifestSegment = (s: WrittenSegment, index: number, tokenizer: Tokenizer | undefined): ManifestSegment => {
  // Params are request settings, not prompt tokens.
  const tokens = s.kind === "params" ? 0 : countTokens(tokenizer, s.text, s.end - s.start);
  return {
    index,
    kind: s.kind,
    ...(s.entryIds ? { entryId: s.entryIds[0], entryIds: s.entryIds } : {}),
    ...(s.role !== undefined ? { role: s.role } : {}),
    ...(s.reasoning !== undefined ? { reasoning: s.reasoning } : {}),
    ...(s.hidden ? { hidden: s.hidden } : {}),
    ...(s.headLength !== undefined ? { headHash: hashText(s.text.slice(0, s.headLength)) } : {}),
    start: s.start,
    end: s.end,
    hash: hashText(s.text),
    tokens,
    tokensEstimated: tokenizer === undefined,
  };
};

export type ManifestMeta = Pick<Manifest, "renderer" | "rendererVersion" | "model" | "renderContextHash" | "systemHash" | "toolsHash" | "paramsHash">;

/** What a manifest is assembled from: the segments (read when first asked for) and the running totals. */
export interface ManifestParts {
  readonly segments: () => readonly ManifestSegment[];
  readonly stableEnd: number;
  readonly breakpoints: readonly number[];
  readonly prefixHash: string;
  readonly lastEntryId: EntryId | null;
  readonly server?: ServerState;
  readonly totals: Manifest["totals"];
}

/**
 * A manifest whose `segments` list is built on first access: a request after an append costs
 * O(new entries), and listing every segment of a long history is paid only by whoever reads it.
 */
export const assembleManifest = (meta: ManifestMeta, parts: ManifestParts): Manifest => {
  let segments: readonly ManifestSegment[] | undefined;
  const { renderer, rendererVersion, model, renderContextHash, systemHash, toolsHash, paramsHash } = meta;
  return {
    renderer,
    rendererVersion,
    model,
    renderContextHash,
    systemHash,
    toolsHash,
    paramsHash,
    get segments() {
      return (segments ??= parts.segments());
    },
    stableEnd: parts.stableEnd,
    breakpoints: parts.breakpoints,
    prefixHash: parts.prefixHash,
    lastEntryId: parts.lastEntryId,
    ...(parts.server ? { server: parts.server } : {}),
    totals: parts.totals,
  };
};

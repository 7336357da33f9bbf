import type { EntryId } from "@ctxsync/core";

export type SegmentKind = "params" | "system" | "tools" | "entry" | "generation-prompt";

/** A segment as a renderer writes it: its text and what it stands for. */
export interface SegmentDraft {
  readonly kind: SegmentKind;
  /** The log entries rendered in this segment (several when a provider merges consecutive turns into one message). */
  readonly entryIds?: readonly EntryId[];
  /** The role the segment is rendered as (user, assistant, tool, system...). */
  readonly role?: string;
  /** An assistant segment rendered with its reasoning (visible or hidden). */
  readonly reasoning?: boolean;
  /** Number of hidden blobs rendered into this segment. */
  readonly hidden?: number;
  /**
   * Templates: how many leading UTF-16 units of an assistant turn correspond to the generation
   * prompt (the manifest hashes them as `headHash`, so explain can check that the turn starts
   * exactly with the generation prompt it was produced under).
   */
  readonly headLength?: number;
}

export interface WrittenSegment extends SegmentDraft {
  readonly text: string;
  /** UTF-8 byte offsets into the written stream. */
  readonly start: number;
  readonly end: number;
}

// eslint-disable-next-line no-control-regex -- the ASCII range starts at NUL on purpose
const NON_ASCII = /[^\x00-\x7f]/;

/** UTF-8 length of a string as it goes on the wire (a lone surrogate is encoded as U+FFFD: 3 bytes). */
export const utf8Length = (s: string): number => {
  // Fast path for ASCII (the common case): one byte per UTF-16 unit.
  if (!NON_ASCII.test(s)) return s.length;
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: 4 bytes for 2 units
      i++;
    } else n += 2; // 3 bytes (lone surrogates are encoded as U+FFFD, also 3 bytes)
  }
  return n;
};

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Whether a string has unpaired UTF-16 surrogates (they cannot be encoded as UTF-8). */
export const hasLoneSurrogate = (s: string): boolean => {
  LONE_SURROGATE.lastIndex = 0;
  return LONE_SURROGATE.test(s);
};

/** The string with every unpaired surrogate replaced by U+FFFD: what a UTF-8 encoder would send anyway. */
export const wellFormed = (s: string): string => s.replace(LONE_SURROGATE, "\ufffd");

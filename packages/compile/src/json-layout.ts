import { canonicalJson, type JsonObject, type JsonValue } from "@ctxsync/core";
import type { Rendered } from "./render.js";
import { createWriter, type SegmentDraft, type StreamWriter } from "./writer.js";

/** A static member of the request (tools, system): written after the params, before the growing list. */
export interface HeadPart {
  readonly kind: "tools" | "system";
  readonly key: string;
  readonly value: JsonValue;
}

/** One segment of the growing list: the list items rendered from one entry (or one merged message). */
export interface ListGroup {
  readonly draft: SegmentDraft;
  readonly items: readonly JsonValue[];
}

/**
 * The shape of a JSON request, in prefix order. The serialization (docs/compile.md §bytes):
 *
 *   { <params, canonical, keys sorted> [, "<configKey>": { <config params sorted>, <head parts> }] [, <head parts>], "<listKey>": [ <groups> ] }
 *
 * Every value is canonical JSON. Only the list grows from turn to turn and it comes last, so a
 * request for turn k+1 starts with the bytes of the request for turn k up to the end of its last
 * list item. The text is valid JSON and is the body to send (`CompileResult.body`).
 */
export interface JsonLayout {
  readonly params: JsonObject;
  /** Gemini nests system and tools under `config`; its request params go there too. */
  readonly configKey?: string;
  readonly configParams?: JsonObject;
  readonly head: readonly HeadPart[];
  readonly listKey: string;
  readonly list: readonly ListGroup[];
}

const member = (key: string, value: JsonValue): string => `${JSON.stringify(key)}:${canonicalJson(value)}`;
const sortedMembers = (o: JsonObject): string[] =>
  Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => member(k, o[k] as JsonValue));

export interface WrittenLayout {
  readonly writer: StreamWriter;
  /** Byte offset of the end of the last list item (or of the head when the list is empty). */
  readonly stableEnd: number;
}

export const writeLayout = (layout: JsonLayout): WrittenLayout => {
  const w = createWriter();
  let first = true;
  const sep = (text: string): string => {
    const t = first ? text : `,${text}`;
    first = false;
    return t;
  };
  let params = "{";
  for (const m of sortedMembers(layout.params)) params += sep(m);
  const nested = layout.configKey !== undefined;
  if (nested) {
    params += sep(`${JSON.stringify(layout.configKey)}:{`);
    first = true;
    for (const m of sortedMembers(layout.configParams ?? {})) params += sep(m);
  }
  w.segment({ kind: "params" }, params);
  let stableEnd = w.bytes();
  for (const part of layout.head) {
    w.segment({ kind: part.kind }, sep(member(part.key, part.value)));
    stableEnd = w.bytes();
  }
  if (nested) {
    w.raw("}");
    first = false;
  }
  w.raw(sep(`${JSON.stringify(layout.listKey)}:[`));
  let n = 0;
  for (const g of layout.list) {
    if (g.items.length === 0) continue;
    w.segment(g.draft, (n++ > 0 ? "," : "") + g.items.map((i) => canonicalJson(i)).join(","));
    stableEnd = w.bytes();
  }
  w.raw("]}");
  return { writer: w, stableEnd };
};

/** The request object the layout serializes to (JSON.parse(body) deep-equals it). */
export const layoutObject = (layout: JsonLayout): JsonObject => {
  const out: JsonObject = { ...layout.params };
  const head: JsonObject = {};
  for (const p of layout.head) head[p.key] = p.value;
  if (layout.configKey !== undefined) out[layout.configKey] = { ...(layout.configParams ?? {}), ...head };
  else Object.assign(out, head);
  out[layout.listKey] = layout.list.flatMap((g) => g.items);
  return out;
};

/** A layout rendered as is: the body is the prefix stream. */
export const renderLayout = <R>(layout: JsonLayout): Rendered<R> => {
  const { writer, stableEnd } = writeLayout(layout);
  const body = writer.text();
  return { request: layoutObject(layout) as unknown as R, body, prefix: body, segments: writer.segments, bytes: writer.bytes(), stableEnd };
};

/**
 * Where cache breakpoints go in the message list (indexes among the entry messages): the end of
 * the previous turn — the message before the newest assistant message, exactly where the previous
 * request ended, so its cache write is read back — and the newest point, the last message.
 */
export const breakpointMessages = (isAssistant: readonly boolean[]): Set<number> => {
  const out = new Set<number>();
  const lastAssistant = isAssistant.lastIndexOf(true);
  if (lastAssistant > 0) out.add(lastAssistant - 1);
  if (isAssistant.length > 0) out.add(isAssistant.length - 1);
  return out;
};

/**
 * A request with cache breakpoint markers (Anthropic `cache_control`, OpenAI
 * `prompt_cache_breakpoint`). The markers move forward every turn, the content they mark does
 * not: the manifest indexes the serialization without markers (`prefix`), the body carries them.
 * `breakpoints` are the byte offsets (in `prefix`) of the end of the static part when it is
 * marked, and of the end of each marked entry message.
 */
export const renderMarked = <R>(layoutOf: (withMarks: boolean) => JsonLayout, staticMarked: boolean, markedEntries: ReadonlySet<number>): Rendered<R> => {
  const plain = writeLayout(layoutOf(false));
  const markedLayout = layoutOf(true);
  const segs = plain.writer.segments;
  const breakpoints: number[] = [];
  const staticSeg = segs.filter((s) => s.kind === "system" || s.kind === "tools").at(-1);
  if (staticMarked && staticSeg) breakpoints.push(staticSeg.end);
  const entrySegs = segs.filter((s) => s.kind === "entry");
  for (const i of [...markedEntries].sort((a, b) => a - b)) {
    const s = entrySegs[i];
    if (s) breakpoints.push(s.end);
  }
  return {
    request: layoutObject(markedLayout) as unknown as R,
    body: writeLayout(markedLayout).writer.text(),
    prefix: plain.writer.text(),
    segments: segs,
    bytes: plain.writer.bytes(),
    stableEnd: plain.stableEnd,
    breakpoints,
  };
};

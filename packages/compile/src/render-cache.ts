import { canonicalJson, type Entry, type EntryId, type JsonObject, type JsonValue } from "@ctxsync/core";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { assembleManifest, manifestSegment, type Manifest, type ManifestMeta, type ManifestSegment, type ServerState, type Tokenizer } from "./manifest.js";
import { planEntries, type PlanItem } from "./plan.js";
import type { JsonOpening, JsonRenderer, ListGroup, PromptOpening, PromptPiece, PromptRenderer, RenderEnv, Renderer, ServerStart } from "./render.js";
import { foldWarnings, recordTo, type CompileWarning, type WarningEvent } from "./warnings.js";
import { utf8Length, type SegmentDraft } from "./writer.js";

/**
 * Memoized rendering for a caller that compiles the same branch again and again (an agent loop):
 * keeps, per (renderer version, render-context hash, compile options), the rendered bytes,
 * manifest segments and warnings of a branch's history up to a point that later entries can no
 * longer change, so a request after an append renders only what follows that point (the last two
 * turns) plus one concatenation. The output is byte-identical to compiling without a cache.
 */
export interface RenderCache {
  /**
   * Hidden blobs were attached to these entries after they were compiled: forget what was rendered
   * from them (the next compile renders that history again, with the blobs).
   */
  invalidate(entryIds: Iterable<EntryId>): void;
  /** Forget everything. */
  clear(): void;
  /** How many memoized histories are held. */
  readonly size: number;
}

type Hasher = ReturnType<typeof sha256.create>;

/** The memoized part of one history under one render key. Everything in it only grows. */
interface Lineage {
  readonly key: string;
  /** Entries rendered into the memoized part: `entries[0..frozen)`; `frozen` is 0 or the index of an assistant entry. */
  frozen: number;
  /** The entries at 0 and frozen-1 when they were memoized (the objects: another log may reuse ids). */
  first: Entry | null;
  last: Entry | null;
  readonly ids: Set<EntryId>;
  readonly state: unknown;
  readonly out: Out;
  readonly lint: readonly CompileWarning[];
}

/** A byte stream being written: the memoized part of a lineage, or a whole one-off request. */
interface Out {
  readonly form: "json" | "prompt";
  readonly opening: JsonOpening | PromptOpening;
  /** The prefix stream (what the manifest indexes) and, for renderers with breakpoint markers, the body stream (what is sent) so far. */
  prefix: string;
  body: string;
  /** The body differs from the prefix (markers): `body` is written; otherwise it stays empty. */
  readonly marked: boolean;
  /** Prompts: the prompt so far, JSON-escaped (the body is `{…,"prompt":"<escaped>",…}`). */
  escaped: string;
  bytes: number;
  stableEnd: number;
  /** JSON: list groups written (the next one starts with a comma when there are any). */
  listCount: number;
  /** JSON: the plain list items written (for `request`). */
  readonly items: JsonValue[];
  readonly segments: ManifestSegment[];
  tokens: number;
  stableTokens: number;
  readonly hasher: Hasher;
  entries: number;
  /** Warnings of the plan (moved entries, missing results) and of the rendering, kept apart so splitting a history into spans never reorders them. */
  readonly planEvents: WarningEvent[];
  readonly events: WarningEvent[];
  readonly breakpoints: number[];
}

interface CacheInternals {
  readonly lineages: Lineage[];
  readonly max: number;
}
const internals = new WeakMap<RenderCache, CacheInternals>();

export const createRenderCache = (opts: { readonly maxHistories?: number } = {}): RenderCache => {
  const inner: CacheInternals = { lineages: [], max: Math.max(1, opts.maxHistories ?? 8) };
  const cache: RenderCache = {
    invalidate(ids) {
      const gone = [...ids];
      for (let i = inner.lineages.length - 1; i >= 0; i--) if (gone.some((id) => inner.lineages[i]!.ids.has(id))) inner.lineages.splice(i, 1);
    },
    clear: () => void inner.lineages.splice(0),
    get size() {
      return inner.lineages.length;
    },
  };
  internals.set(cache, inner);
  return cache;
};

const identities = new WeakMap<object, number>();
let nextIdentity = 1;
/** A stable number for a function or object option (different closures are different keys). */
export const identityOf = (o: object | undefined): number => {
  if (o === undefined) return 0;
  let id = identities.get(o);
  if (id === undefined) identities.set(o, (id = nextIdentity++));
  return id;
};

const member = (key: string, value: JsonValue): string => `${JSON.stringify(key)}:${canonicalJson(value)}`;
const sortedMembers = (o: JsonObject): string[] =>
  Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => member(k, o[k] as JsonValue));
const escapeJson = (s: string): string => JSON.stringify(s).slice(1, -1);

interface Writing {
  readonly tokenizer: Tokenizer | undefined;
}

const writeSegment = (o: Out, w: Writing, draft: SegmentDraft, text: string, bodyText = text): void => {
  const start = o.bytes;
  o.bytes += utf8Length(text);
  o.prefix += text;
  if (o.marked) o.body += bodyText;
  const seg = manifestSegment({ ...draft, text, start, end: o.bytes }, o.segments.length, w.tokenizer);
  o.segments.push(seg);
  o.tokens += seg.tokens;
  o.stableTokens += seg.tokens;
  o.hasher.update(utf8ToBytes(seg.hash));
  if (draft.kind === "entry") o.entries += draft.entryIds?.length ?? 0;
};

const writeRaw = (o: Out, text: string, bodyText = text): void => {
  o.bytes += utf8Length(text);
  o.prefix += text;
  if (o.marked) o.body += bodyText;
};

const groupText = (o: { listCount: number }, g: ListGroup, mark?: (v: JsonValue) => JsonValue): string =>
  (o.listCount > 0 ? "," : "") + g.items.map((i) => canonicalJson(mark ? mark(i) : i)).join(",");

const writeGroup = (o: Out, w: Writing, g: ListGroup, markedItems?: readonly JsonValue[]): void => {
  if (g.items.length === 0) return;
  const text = groupText(o, g);
  const body = markedItems ? (o.listCount > 0 ? "," : "") + markedItems.map((i) => canonicalJson(i)).join(",") : text;
  writeSegment(o, w, g.draft, text, body);
  o.listCount++;
  o.items.push(...g.items);
  o.stableEnd = o.bytes;
};

/** A stream with the static part written (params, tools, system). */
const openStream = (renderer: Renderer, env: RenderEnv, w: Writing, server?: ServerState): Out => {
  const events: WarningEvent[] = [];
  const sink = recordTo(events);
  const base = { prefix: "", body: "", escaped: "", bytes: 0, stableEnd: 0, listCount: 0, items: [], segments: [], tokens: 0, stableTokens: 0, hasher: sha256.create(), entries: 0, planEvents: [], events, breakpoints: [] };
  if (renderer.form === "prompt") {
    const opening = renderer.opening(env, sink);
    const o: Out = { ...base, form: "prompt", opening, marked: false };
    writeRaw(o, opening.lead);
    o.escaped += escapeJson(opening.lead);
    for (const p of opening.segments) {
      writeSegment(o, w, p.draft, p.text);
      o.escaped += escapeJson(p.text);
    }
    o.stableEnd = o.bytes;
    return o;
  }
  const opening = renderer.opening(env, sink, server);
  const o: Out = { ...base, form: "json", opening, marked: opening.marked !== undefined || renderer.mark?.(env) !== undefined };
  const members = sortedMembers(opening.params);
  writeSegment(o, w, { kind: "params" }, `{${members.join(",")}`);
  let first = members.length === 0;
  const sep = (t: string) => (first ? ((first = false), t) : `,${t}`);
  opening.head.forEach((part, i) => {
    const marked = opening.marked?.head[i] ?? part;
    const text = sep(member(part.key, part.value));
    writeSegment(o, w, { kind: part.kind }, text, (text.startsWith(",") ? "," : "") + member(marked.key, marked.value));
  });
  o.stableEnd = o.bytes;
  writeRaw(o, sep(`${JSON.stringify(opening.listKey)}:[`));
  opening.staticGroups.forEach((g, i) => writeGroup(o, w, g, opening.marked?.staticGroups[i]?.items));
  if (opening.staticBreakpoint) {
    const last = o.segments.filter((s) => s.kind === "system" || s.kind === "tools").at(-1);
    if (last) o.breakpoints.push(last.end);
  }
  return o;
};

/** Where cache breakpoints go among the list groups of the tail: the message before the newest assistant message, and the last one. */
const breakpointGroups = (groups: readonly ListGroup[]): Set<number> => {
  const out = new Set<number>();
  const lastAssistant = groups.map((g) => g.draft.role === "assistant").lastIndexOf(true);
  if (lastAssistant > 0) out.add(lastAssistant - 1);
  if (groups.length > 0) out.add(groups.length - 1);
  return out;
};

/**
 * Whether `entries` continues the memoized history: the entry where the memoized part ends is the
 * same entry object (the log's own: `log.transcript()` hands out the objects it holds). A transcript
 * is a path, so that entry names everything before it. Equal ids are not enough — another log (an
 * import, a test) may reuse them — so a transcript of copies is compiled afresh, never mistaken.
 */
const extends_ = (entries: readonly Entry[], l: Lineage): boolean =>
  l.frozen === 0 || (l.frozen <= entries.length && entries[l.frozen - 1] === l.last && entries[0] === l.first);

/** The first index in [from, n) of the second-to-last assistant entry (0 before two assistant turns exist). */
const nextFrontier = (renderer: Renderer, env: RenderEnv, entries: readonly Entry[], from: number, state: unknown): number => {
  let last = -1;
  let second = -1;
  for (let i = entries.length - 1; i >= from && second < 0; i--)
    if (entries[i]!.kind === "assistant") {
      if (last < 0) last = i;
      else second = i;
    }
  let f = second < 0 ? from : second;
  const limit = renderer.frontierLimit?.(env, entries, from, state);
  if (limit !== undefined) f = Math.min(f, limit);
  return Math.max(from, f);
};

/** Render items into `o`, memoized (a span that later entries cannot change). */
const commit = (renderer: Renderer, env: RenderEnv, w: Writing, o: Out, state: unknown, items: readonly PlanItem[], next: PlanItem | undefined): void => {
  const c = { env, state, warnings: recordTo(o.events), last: false };
  if (renderer.form === "prompt") {
    for (const p of (renderer as PromptRenderer).span(c, items, next)) {
      writeSegment(o, w, p.draft, p.text);
      o.escaped += escapeJson(p.text);
    }
    o.stableEnd = o.bytes;
  } else for (const g of (renderer as JsonRenderer).span(c, items, next)) writeGroup(o, w, g);
};

export interface RenderedRequest {
  readonly request: unknown;
  readonly body: string;
  readonly prefix: string;
  readonly manifest: Manifest;
  readonly warnings: readonly CompileWarning[];
}

export interface RenderArgs {
  readonly renderer: Renderer;
  readonly env: RenderEnv;
  readonly entries: readonly Entry[];
  readonly tokenizer: Tokenizer | undefined;
  readonly meta: ManifestMeta;
  /** Validates `entries[from..]` (entries before `from` were validated when they were memoized). */
  readonly check: (from: number) => void;
  /** Warnings about the static part (its lint): computed once per memoized history. */
  readonly lint: () => readonly CompileWarning[];
  readonly cache?: RenderCache;
  /** Everything besides the render context that changes the output: options identities. */
  readonly key: string;
}

/**
 * Render a request: the memoized part of the history (from the cache, when one holds a lineage
 * this transcript extends) plus the tail, rendered fresh. Without a cache the whole history is the
 * "memoized" part of a throwaway lineage — the same code path, so cached and fresh output agree.
 */
export const renderRequest = (a: RenderArgs): RenderedRequest => {
  const { renderer, env, entries } = a;
  const w: Writing = { tokenizer: a.tokenizer };
  const serverEvents: WarningEvent[] = [];
  const server = renderer.form === "json" ? renderer.server?.(env, entries, recordTo(serverEvents)) : undefined;
  if (server) {
    a.check(0);
    return renderServer(a, w, [...a.lint(), ...serverEvents], server);
  }
  const key = `${renderer.version}\u0000${env.renderContextHash}\u0000${a.key}`;
  const inner = a.cache ? internals.get(a.cache) : undefined;
  let lineage = inner?.lineages.filter((l) => l.key === key && extends_(entries, l)).sort((x, y) => y.frozen - x.frozen)[0];
  if (!lineage) {
    lineage = { key, frozen: 0, first: null, last: null, ids: new Set(), state: renderer.init(env), out: openStream(renderer, env, w), lint: a.lint() };
    if (inner) {
      inner.lineages.push(lineage);
      if (inner.lineages.length > inner.max) inner.lineages.shift();
    }
  } else if (inner) {
    inner.lineages.splice(inner.lineages.indexOf(lineage), 1);
    inner.lineages.push(lineage);
  }
  const F = lineage.frozen;
  a.check(F);
  const F2 = nextFrontier(renderer, env, entries, F, lineage.state);
  const tailPlanEvents: WarningEvent[] = [];
  const tailItems = planEntries(entries, F2, entries.length, recordTo(tailPlanEvents));
  if (F2 > F) {
    const o = lineage.out;
    try {
      commit(renderer, env, w, o, lineage.state, planEntries(entries, F, F2, recordTo(o.planEvents)), tailItems[0]);
    } catch (e) {
      // A half-written memoized part must never be reused.
      if (inner) inner.lineages.splice(inner.lineages.indexOf(lineage), 1);
      throw e;
    }
    for (let i = F; i < F2; i++) lineage.ids.add(entries[i]!.id);
    lineage.frozen = F2;
    lineage.first = entries[0]!;
    lineage.last = entries[F2 - 1]!;
  }
  return renderTail(a, w, lineage.out, renderer.fork(lineage.state), tailItems, [...lineage.lint, ...serverEvents], tailPlanEvents, undefined);
};

/** A request that relies on provider-held state: only the items after the held part, rendered once. */
const renderServer = (a: RenderArgs, w: Writing, pre: WarningEvent[], s: ServerStart): RenderedRequest => {
  const { renderer, env, entries } = a;
  const o = openStream(renderer, env, w, s.server);
  const planEvents: WarningEvent[] = [];
  const items = planEntries(entries, s.planFrom, entries.length, recordTo(planEvents)).filter((i) => i.at > s.heldThrough);
  return renderTail(a, w, o, renderer.init(env), items, pre, planEvents, s.server);
};

/** The tail after the memoized part, and the request, manifest and warnings of the whole. */
const renderTail = (a: RenderArgs, w: Writing, o: Out, state: unknown, items: readonly PlanItem[], pre: readonly WarningEvent[], tailPlanEvents: readonly WarningEvent[], server: ServerState | undefined): RenderedRequest => {
  const { renderer, env, entries } = a;
  const tailEvents: WarningEvent[] = [];
  const c = { env, state, warnings: recordTo(tailEvents), last: true };
  // The tail is written into a scratch stream that starts where the memoized part ends.
  const t: Out = { ...o, prefix: "", body: "", escaped: "", items: [], segments: [], tokens: 0, stableTokens: 0, entries: 0, planEvents: [], events: tailEvents, breakpoints: [], hasher: o.hasher.clone() };
  const segmentsBefore = o.segments.length;
  const offsetSegments = (segs: ManifestSegment[]): ManifestSegment[] => segs.map((s, i) => ({ ...s, index: segmentsBefore + i }));
  let request: () => unknown;
  if (renderer.form === "prompt") {
    const pieces: PromptPiece[] = [...(renderer as PromptRenderer).span(c, items, undefined), (renderer as PromptRenderer).closing(env)];
    for (const p of pieces) {
      writeSegment(t, w, p.draft, p.text);
      t.escaped += escapeJson(p.text);
    }
    t.stableEnd = t.bytes;
    const opening = o.opening as PromptOpening;
    const prompt = o.prefix + t.prefix;
    const model = env.ctx.model;
    const req = { ...opening.params, model, prompt };
    // `+` only: the memoized prompt is a rope, and Array#join would copy all of it.
    let body = "{";
    Object.keys(req)
      .sort()
      .forEach((k, i) => {
        body += i > 0 ? "," : "";
        body += k === "prompt" ? `"prompt":"` + o.escaped + t.escaped + `"` : member(k, (req as JsonObject)[k]!);
      });
    t.body = body + "}";
    t.prefix = prompt;
    request = () => req;
  } else {
    const groups = (renderer as JsonRenderer).span(c, items, undefined).filter((g) => g.items.length > 0);
    const mark = (renderer as JsonRenderer).mark?.(env);
    const marked = mark ? breakpointGroups(groups) : new Set<number>();
    const markedItems: JsonValue[] = [];
    groups.forEach((g, i) => {
      const m = marked.has(i) ? g.items.map((x, j) => (j === g.items.length - 1 ? mark!(x) : x)) : undefined;
      writeGroup(t, w, g, m);
      markedItems.push(...(m ?? g.items));
      if (m) t.breakpoints.push(t.bytes);
    });
    const closing = "]}";
    const opening = o.opening as JsonOpening;
    const frozenItems = o.items;
    const frozenCount = o.items.length;
    const staticCount = opening.staticGroups.reduce((n, g) => n + g.items.length, 0);
    request = () => {
      const head = opening.marked?.head ?? opening.head;
      const out: JsonObject = { ...opening.params };
      for (const p of head) out[p.key] = p.value;
      const statics = (opening.marked?.staticGroups ?? opening.staticGroups).flatMap((g) => g.items);
      out[opening.listKey] = [...statics, ...frozenItems.slice(staticCount, frozenCount), ...markedItems];
      return out;
    };
    t.prefix = o.prefix + t.prefix + closing;
    t.body = o.marked ? o.body + t.body + closing : t.prefix;
    t.bytes += utf8Length(closing);
  }
  const tailSegments = offsetSegments(t.segments);
  const frozenSegments = o.segments;
  const last = entries.length > 0 ? entries[entries.length - 1]!.id : null;
  const manifest = assembleManifest(a.meta, {
    segments: () => [...frozenSegments.slice(0, segmentsBefore), ...tailSegments],
    stableEnd: t.stableEnd,
    breakpoints: renderer.form === "json" && (renderer as JsonRenderer).mark?.(env) ? [...o.breakpoints, ...t.breakpoints] : [t.stableEnd],
    prefixHash: bytesToHex(t.hasher.digest()),
    lastEntryId: o.entries + t.entries > 0 ? last : null,
    ...(server ? { server } : {}),
    totals: {
      bytes: t.bytes,
      entries: o.entries + t.entries,
      tokens: o.tokens + t.tokens,
      tokensEstimated: a.tokenizer === undefined,
      stableTokens: o.stableTokens + t.stableTokens,
    },
  });
  const frozenEvents = o.events;
  const eventCount = frozenEvents.length;
  const frozenPlanEvents = o.planEvents;
  const planEventCount = frozenPlanEvents.length;
  let warnings: CompileWarning[] | undefined;
  let req: unknown;
  let built = false;
  return {
    get request() {
      if (!built) {
        req = request();
        built = true;
      }
      return req;
    },
    body: t.body,
    prefix: t.prefix,
    manifest,
    get warnings() {
      return (warnings ??= foldWarnings([pre, frozenPlanEvents.slice(0, planEventCount), tailPlanEvents, frozenEvents.slice(0, eventCount), tailEvents]));
    },
  };
};

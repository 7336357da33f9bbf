import type { EntryId } from "@ctxsync/core";
import { providerFamily } from "./hidden.js";
import type { Manifest, ManifestSegment } from "./manifest.js";
import type { SegmentKind } from "./writer.js";

export type BreakReason =
  | "identical" // same prefix, same params
  | "extends" // the new request starts with the whole previous prefix: a cache hit
  | "provider-changed"
  | "model-changed"
  | "renderer-changed" // same provider, another renderer or renderer version
  | "system-changed"
  | "tools-changed"
  | "params-changed" // same prompt, other request params (whether that misses is provider-specific)
  | "reasoning-dropped" // an assistant turn rendered with its reasoning before is rendered without it now
  | "hidden-differs" // the same entries, but other hidden blobs went back with them
  | "history-differs" // another entry (another branch, an edited or shorter history)
  | "template-mismatch" // a template renders a finished turn differently from the generation prompt it was produced under
  | "server-state"; // one of the requests relies on provider-held state (previous_response_id, cachedContent)

export interface Explanation {
  readonly reason: BreakReason;
  /** The first segment of the previous manifest that the next one does not repeat (null: none). */
  readonly firstDifference: { readonly segmentIndex: number; readonly kind: SegmentKind; readonly entryId?: EntryId; readonly role?: string } | null;
  /** Tokens of the previous prefix the next request can still be served from cache. */
  readonly cachedPrefixTokens: number;
  /** Tokens of the previous stable prefix that must be computed again. */
  readonly lostTokens: number;
  readonly tokensEstimated: boolean;
  readonly message: string;
}

const promptSegments = (m: Manifest): ManifestSegment[] => m.segments.filter((s) => s.kind !== "params");
const sum = (segs: readonly ManifestSegment[]): number => segs.reduce((a, s) => a + s.tokens, 0);

const reasonFor = (a: ManifestSegment, b: ManifestSegment | undefined): BreakReason => {
  if (a.kind === "generation-prompt" && b?.role === "assistant") return "template-mismatch";
  if (a.kind === "system") return "system-changed";
  if (a.kind === "tools") return "tools-changed";
  if (!b || a.kind !== "entry" || b.kind !== "entry") return "history-differs";
  const same = a.entryIds?.join(",") === b.entryIds?.join(",");
  if (same && a.role === "assistant" && a.reasoning === true && b.reasoning !== true) return "reasoning-dropped";
  if (same && (a.hidden ?? 0) !== (b.hidden ?? 0)) return "hidden-differs";
  return "history-differs";
};

const MESSAGES: Record<BreakReason, string> = {
  identical: "same prefix and params",
  extends: "the request starts with the whole previous prefix",
  "provider-changed": "another provider: nothing cached can be used",
  "model-changed": "another model: caches are per model",
  "renderer-changed": "another renderer version renders other bytes",
  "system-changed": "the system prompt changed",
  "tools-changed": "the tool list changed",
  "params-changed": "the prompt is the same but request params changed (some providers key their cache on them, e.g. Anthropic thinking settings)",
  "reasoning-dropped": "the template dropped the reasoning of an earlier assistant turn",
  "hidden-differs": "other hidden blobs (thinking, reasoning items, signatures) went back with the same turn",
  "history-differs": "the history differs",
  "template-mismatch": "the template renders the finished assistant turn without the generation prompt it was produced under (e.g. Qwen3 enable_thinking=false drops the empty think block from history)",
  "server-state": "a request relies on provider-held state; only the parts sent were compared",
};

/**
 * Why the next request can (or cannot) reuse the cache the previous one left: the first segment
 * that differs, what it is, and how many tokens of cached prefix that costs. Providers that cache
 * only at explicit breakpoints (Anthropic) keep the prefix up to the last breakpoint before the
 * difference; the others keep every whole segment before it.
 */
export const explain = (prev: Manifest, next: Manifest): Explanation => {
  const estimated = prev.totals.tokensEstimated || next.totals.tokensEstimated;
  const P = promptSegments(prev);
  const N = promptSegments(next);
  const whole = (reason: BreakReason, detail: string): Explanation => ({
    reason,
    firstDifference: P[0] ? { segmentIndex: P[0].index, kind: P[0].kind } : null,
    cachedPrefixTokens: 0,
    lostTokens: prev.totals.stableTokens,
    tokensEstimated: estimated,
    message: `${MESSAGES[reason]}: ${detail}`,
  });
  if (providerFamily(prev.renderer) !== providerFamily(next.renderer)) return whole("provider-changed", `${prev.renderer} → ${next.renderer}`);
  if (prev.model !== next.model) return whole("model-changed", `${prev.model} → ${next.model}`);
  if (prev.renderer !== next.renderer || prev.rendererVersion !== next.rendererVersion)
    return whole("renderer-changed", `${prev.rendererVersion} → ${next.rendererVersion}`);

  let i = 0;
  while (i < P.length && i < N.length && P[i]!.hash === N[i]!.hash) i++;
  // A template's generation prompt is the start of the next assistant turn: reused, if that turn really starts with it.
  if (i === P.length - 1 && P[i]!.kind === "generation-prompt" && N[i]?.headHash === P[i]!.hash) i++;
  const server = prev.server !== undefined || next.server !== undefined;
  const stableTokens = prev.totals.stableTokens;
  if (i >= P.length) {
    const reason: BreakReason = server ? "server-state" : prev.paramsHash !== next.paramsHash ? "params-changed" : N.length > P.length ? "extends" : "identical";
    const cached = Math.min(sum(P), stableTokens);
    return { reason, firstDifference: null, cachedPrefixTokens: cached, lostTokens: stableTokens - cached, tokensEstimated: estimated, message: MESSAGES[reason] };
  }
  const a = P[i]!;
  const b = N[i];
  const reason = server ? "server-state" : reasonFor(a, b);
  // Cached prefix: the whole segments before the difference, cut back to the last breakpoint for breakpoint-only caches.
  let limit = a.start;
  if (prev.renderer === "anthropic") limit = Math.max(0, ...prev.breakpoints.filter((bp) => bp <= a.start));
  const cached = Math.min(sum(P.filter((s) => s.end <= limit)), stableTokens);
  const where = a.entryId !== undefined ? `${a.role ?? a.kind} entry ${a.entryId}` : a.kind;
  return {
    reason,
    firstDifference: { segmentIndex: a.index, kind: a.kind, ...(a.entryId !== undefined ? { entryId: a.entryId } : {}), ...(a.role !== undefined ? { role: a.role } : {}) },
    cachedPrefixTokens: cached,
    lostTokens: Math.max(0, stableTokens - cached),
    tokensEstimated: estimated,
    message: `${MESSAGES[reason]} (first difference: segment ${a.index}, ${where})`,
  };
};

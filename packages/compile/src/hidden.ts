import type { Entry, EntryId, HiddenBlob, JsonValue } from "@ctxsync/core";
import type { RendererId } from "./context.js";
import type { HiddenDropReason, WarningSink } from "./warnings.js";

/** Where the compiler gets an entry's hidden blobs (from `openHidden(doc).blobs`, or anything equivalent). */
export type HiddenLookup = (entryId: EntryId) => readonly HiddenBlob[];

/** Which provider issued blobs a renderer may send back. Templates (self-hosted) take none. */
export const providerFamily = (r: RendererId): string => {
  switch (r) {
    case "openai-chat":
    case "openai-responses":
      return "openai";
    case "anthropic":
      return "anthropic";
    case "gemini":
      return "google";
    case "deepseek":
      return "deepseek";
    default:
      return "local";
  }
};

const PROVIDER_ALIASES: Record<string, string> = { gemini: "google", "google-genai": "google", vertex: "google" };
const normalizeProvider = (p: string): string => {
  const l = p.toLowerCase();
  return PROVIDER_ALIASES[l] ?? (l.startsWith("openai") ? "openai" : l);
};

const SNAPSHOT_SUFFIX = /-(\d{8}|\d{4}-\d{2}-\d{2}|\d{2}-\d{2}|\d{3}|latest|preview|exp)$/;

/**
 * The model family a blob is valid for: the model id without its dated snapshot or channel suffix
 * (`claude-3-5-sonnet-20241022` → `claude-3-5-sonnet`, `gemini-2.0-flash-001` → `gemini-2.0-flash`).
 * Providers bind blobs to a model family at least; callers with finer rules pass `sameModelFamily`.
 */
export const modelFamily = (model: string): string => {
  let m = model.toLowerCase().replace(/^models\//, "");
  for (let prev = ""; prev !== m; ) {
    prev = m;
    m = m.replace(SNAPSHOT_SUFFIX, "");
  }
  return m;
};

export interface BlobEnv {
  readonly renderer: RendererId;
  readonly model: string;
  readonly lookup?: HiddenLookup;
  readonly sameModelFamily?: (blobModel: string, model: string) => boolean;
}

/** A check of a blob's `data` for one kind: undefined when it has the shape the renderer needs, else why not. */
export type DataCheck = (data: JsonValue) => string | undefined;

/**
 * The blobs of `entry` that may go back into this request, in their original order. Every
 * other blob is left out with a `hidden-dropped` warning: a blob is rendered only for the
 * provider (and model family) that issued it, and only if this renderer has a place for its kind.
 * Providers hand blobs back with assistant turns, so only assistant entries have a place for any.
 */
export const takeBlobs = (env: BlobEnv, warnings: WarningSink, entry: Entry, assistantKinds: Readonly<Record<string, DataCheck>>): HiddenBlob[] => {
  const entryId = entry.id;
  const kinds = entry.kind === "assistant" ? assistantKinds : {};
  const blobs = env.lookup?.(entryId) ?? [];
  if (blobs.length === 0) return [];
  const family = providerFamily(env.renderer);
  const same = env.sameModelFamily ?? ((a: string, b: string) => modelFamily(a) === modelFamily(b));
  const out: HiddenBlob[] = [];
  const drop = (b: HiddenBlob, reason: HiddenDropReason, why: string) =>
    warnings.push({
      code: "hidden-dropped",
      entryId,
      blobKind: b.kind,
      blobProvider: b.provider,
      blobModel: b.model,
      reason,
      message: `hidden ${b.kind} blob of entry ${entryId} left out: ${why}`,
    });
  for (const b of [...blobs].sort((a, c) => a.order - c.order)) {
    if (normalizeProvider(b.provider) !== family) drop(b, "other-provider", `issued by ${b.provider}, request is for ${env.renderer}`);
    else if (!same(b.model, env.model)) drop(b, "other-model-family", `issued for ${b.model}, request is for ${env.model}`);
    else {
      const check = Object.hasOwn(kinds, b.kind) ? kinds[b.kind] : undefined;
      if (!check) drop(b, "unsupported-kind", `${env.renderer} takes no ${b.kind} on ${entry.kind} entries`);
      else {
        const problem = check(b.data);
        if (problem) drop(b, "bad-data", problem);
        else out.push(b);
      }
    }
  }
  return out;
};

/** Data checks shared by renderers: an object with the given string fields. */
export const hasStrings =
  (...fields: string[]): DataCheck =>
  (data) => {
    if (typeof data !== "object" || data === null || Array.isArray(data)) return "data must be an object";
    const missing = fields.find((f) => typeof data[f] !== "string");
    return missing ? `data.${missing} must be a string` : undefined;
  };

import { canonicalJson, type Entry } from "@ctxsync/core";
import { compile, type CompileOptions } from "./compile.js";
import type { RenderContext } from "./context.js";
import type { CacheHandle } from "./render.js";
import { geminiModelName, type GeminiRequest } from "./renderers/gemini.js";
import type { CompileWarning } from "./warnings.js";

/**
 * The REST `CachedContent` body of `POST /v1beta/cachedContents` (camelCase, as it goes on the wire):
 * the model resource name and exactly the system instruction, tools, tool config and contents
 * `compile` renders for the cached prefix.
 */
export interface GeminiCachedContent {
  model: string;
  contents: GeminiRequest["contents"];
  systemInstruction?: GeminiRequest["systemInstruction"];
  tools?: GeminiRequest["tools"];
  toolConfig?: GeminiRequest["toolConfig"];
  ttl?: string;
  displayName?: string;
}

export interface GeminiCachePlan {
  readonly request: GeminiCachedContent;
  /** The exact bytes to send (canonical JSON of `request`). */
  readonly body: string;
  /** The handle to pass as `opts.cacheHandle` once the provider has named the cache. */
  handle(name: string): CacheHandle;
  readonly warnings: readonly CompileWarning[];
}

/**
 * The explicit Gemini cache for a prefix of a branch: exactly the system instruction, tools and
 * contents `compile` renders for `prefix`, so a later request that names the cache sends only
 * what follows. End `prefix` at a message boundary with no tool loop open — after an assistant
 * turn's results, or where a request ends (just before an assistant turn): a cache that stops
 * inside a run of user-side entries splits a message the full request would merge, and one that
 * stops inside a tool loop holds entries the full request sends after the loop's results.
 */
export const geminiCachePlan = (
  prefix: readonly Entry[],
  ctx: RenderContext & { readonly provider: "gemini" },
  opts: Omit<CompileOptions, "cacheHandle" | "cache"> & { readonly ttl?: string; readonly displayName?: string } = {},
): GeminiCachePlan => {
  const { ttl, displayName, ...compileOpts } = opts;
  const r = compile(prefix, ctx, compileOpts);
  const { systemInstruction, tools, toolConfig, contents } = r.request;
  const upTo = prefix.length > 0 ? prefix[prefix.length - 1]!.id : null;
  const request: GeminiCachedContent = {
    model: geminiModelName(ctx.model),
    contents,
    ...(systemInstruction ? { systemInstruction } : {}),
    ...(tools ? { tools } : {}),
    ...(toolConfig ? { toolConfig } : {}),
    ...(ttl !== undefined ? { ttl } : {}),
    ...(displayName !== undefined ? { displayName } : {}),
  };
  return {
    request,
    body: canonicalJson(request),
    handle: (name) => ({ name, upTo, renderContextHash: r.manifest.renderContextHash, model: ctx.model }),
    warnings: r.warnings,
  };
};

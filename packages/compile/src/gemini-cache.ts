import type { Entry } from "@ctxsync/core";
import { compile, type CompileOptions } from "./compile.js";
import type { RenderContext } from "./context.js";
import type { CacheHandle } from "./render.js";
import type { GeminiContent, GeminiRequest } from "./renderers/gemini.js";
import type { CompileWarning } from "./warnings.js";

/** `caches.create` parameters in the shape of `@google/genai` (`CreateCachedContentParameters`). */
export interface GeminiCacheCreateRequest {
  model: string;
  config: {
    contents: GeminiContent[];
    systemInstruction?: NonNullable<GeminiRequest["config"]>["systemInstruction"];
    tools?: NonNullable<GeminiRequest["config"]>["tools"];
    ttl?: string;
    displayName?: string;
  };
}

export interface GeminiCachePlan {
  readonly request: GeminiCacheCreateRequest;
  /** The handle to pass as `opts.cacheHandle` once the provider has named the cache. */
  handle(name: string): CacheHandle;
  readonly warnings: readonly CompileWarning[];
}

/**
 * The explicit Gemini cache for a prefix of a branch: exactly the system instruction, tools and
 * contents `compile` renders for `prefix`, so a later request that names the cache sends only
 * what follows. End `prefix` at a message boundary — after an assistant turn, or where a request
 * ends (just before one): a cache that stops inside a run of user-side entries splits a message
 * the full request would merge.
 */
export const geminiCachePlan = (
  prefix: readonly Entry[],
  ctx: RenderContext & { readonly provider: "gemini" },
  opts: Omit<CompileOptions, "cacheHandle"> & { readonly ttl?: string; readonly displayName?: string } = {},
): GeminiCachePlan => {
  const { ttl, displayName, ...compileOpts } = opts;
  const r = compile(prefix, ctx, compileOpts);
  const { systemInstruction, tools } = r.request.config ?? {};
  const upTo = prefix.length > 0 ? prefix[prefix.length - 1]!.id : null;
  return {
    request: {
      model: ctx.model,
      config: {
        contents: r.request.contents,
        ...(systemInstruction ? { systemInstruction } : {}),
        ...(tools ? { tools } : {}),
        ...(ttl !== undefined ? { ttl } : {}),
        ...(displayName !== undefined ? { displayName } : {}),
      },
    },
    handle: (name) => ({ name, upTo, renderContextHash: r.manifest.renderContextHash, model: ctx.model }),
    warnings: r.warnings,
  };
};

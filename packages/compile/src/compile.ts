import { canonicalJson, ENTRY_KINDS, isCoreError, isJsonObject, sha256Hex, type Entry } from "@ctxsync/core";
import { normalizeContext, renderContextHash, type RenderContext, type RendererId } from "./context.js";
import { compileError, toCompileError } from "./errors.js";
import type { HiddenLookup } from "./hidden.js";
import { lintStatic } from "./lint.js";
import type { Manifest, Tokenizer } from "./manifest.js";
import type { CacheHandle, Renderer } from "./render.js";
import { identityOf, renderRequest, type RenderCache } from "./render-cache.js";
import { anthropic, type AnthropicRequest } from "./renderers/anthropic.js";
import { deepseek, type DeepSeekRequest } from "./renderers/deepseek.js";
import { gemini, type GeminiRequest } from "./renderers/gemini.js";
import { openaiChat, type OpenAIChatRequest } from "./renderers/openai-chat.js";
import { openaiResponses, type OpenAIResponsesRequest } from "./renderers/openai-responses.js";
import { chatml } from "./templates/chatml.js";
import { llama3 } from "./templates/llama3.js";
import type { CompletionRequest } from "./templates/prompt.js";
import { qwen3 } from "./templates/qwen3.js";
import type { CompileWarning } from "./warnings.js";

/** The request type each renderer produces. */
export interface RequestByRenderer {
  "openai-chat": OpenAIChatRequest;
  "openai-responses": OpenAIResponsesRequest;
  anthropic: AnthropicRequest;
  gemini: GeminiRequest;
  deepseek: DeepSeekRequest;
  chatml: CompletionRequest;
  qwen3: CompletionRequest;
  llama3: CompletionRequest;
}

/** The renderer of each provider id. */
export const RENDERER_TABLE: { readonly [P in RendererId]: Renderer } = {
  "openai-chat": openaiChat,
  "openai-responses": openaiResponses,
  anthropic,
  gemini,
  deepseek,
  chatml,
  qwen3,
  llama3,
};

export interface CompileOptions {
  /** An entry's hidden blobs (e.g. `openHidden(doc).blobs`). Without it no blob is rendered. */
  readonly hidden?: HiddenLookup;
  /** Conversation and branch: OpenAI `prompt_cache_key` is derived from them. */
  readonly conversation?: string;
  readonly branch?: string;
  /** Counts manifest tokens; without one, tokens are estimated (bytes / 4) and marked so. */
  readonly tokenizer?: Tokenizer;
  /** An explicit provider cache holding a prefix of this transcript (Gemini cachedContent). */
  readonly cacheHandle?: CacheHandle;
  /** Whether a blob issued for `blobModel` may go back to `model` (default: same model family, see `modelFamily`). */
  readonly sameModelFamily?: (blobModel: string, model: string) => boolean;
  /** Lint the static part for volatile content (default true). */
  readonly lint?: boolean;
  /**
   * Memoized rendering (`createRenderCache()`): a request after an append renders only the last turns.
   * The output is byte-identical to compiling without it. Call `cache.invalidate(ids)` when hidden
   * blobs are attached to entries compiled before (the client session does).
   */
  readonly cache?: RenderCache;
}

export interface CompileResult<R = unknown> {
  readonly provider: RendererId;
  /** The model the request is for (Gemini names it in the URL path, not in the body). */
  readonly model: string;
  /** The provider-native request (typed per renderer). */
  readonly request: R;
  /** The exact bytes to send: JSON.parse(body) deep-equals `request`. */
  readonly body: string;
  /** The byte stream the manifest's offsets index (docs/compile.md). */
  readonly prefix: string;
  readonly manifest: Manifest;
  readonly warnings: readonly CompileWarning[];
}

/** Entries `from..` are entries, each the child of the one before (entries before `from` were checked when memoized). */
const checkTranscript = (transcript: readonly Entry[], from: number): void => {
  if (!Array.isArray(transcript)) throw compileError("invalid-transcript", "transcript must be an array of entries");
  for (let i = from; i < transcript.length; i++) {
    const e = transcript[i];
    if (!isJsonObject(e) || typeof e.id !== "string" || !(ENTRY_KINDS as readonly unknown[]).includes(e.kind) || !isJsonObject(e.content))
      throw compileError("invalid-transcript", `transcript[${i}] is not an entry`);
    const prev = transcript[i - 1];
    if (prev && e.parent !== prev.id)
      throw compileError("invalid-transcript", `transcript[${i}] (${e.id}) does not follow ${prev.id}: a transcript is a path from the root`, { index: i });
  }
};

/**
 * Compile a branch's transcript under a render context into a provider-native request, the
 * manifest of its prefix and the warnings about what was worked around. Throws a CompileError
 * only when no request can be produced (bad render context, a transcript that is not a path).
 */
export function compile<P extends RendererId>(
  transcript: readonly Entry[],
  ctx: RenderContext & { readonly provider: P },
  opts?: CompileOptions,
): CompileResult<RequestByRenderer[P]>;
export function compile(transcript: readonly Entry[], ctx: RenderContext, opts: CompileOptions = {}): CompileResult {
  try {
    const n = normalizeContext(ctx);
    if (!Array.isArray(transcript)) throw compileError("invalid-transcript", "transcript must be an array of entries");
    const hash = renderContextHash(n);
    const renderer = RENDERER_TABLE[n.provider];
    const out = renderRequest({
      renderer,
      env: {
        ctx: n,
        renderContextHash: hash,
        blobs: { renderer: n.provider, model: n.model, ...(opts.hidden ? { lookup: opts.hidden } : {}), ...(opts.sameModelFamily ? { sameModelFamily: opts.sameModelFamily } : {}) },
        ...(opts.conversation !== undefined ? { conversation: opts.conversation } : {}),
        ...(opts.branch !== undefined ? { branch: opts.branch } : {}),
        ...(opts.cacheHandle !== undefined ? { cacheHandle: opts.cacheHandle } : {}),
      },
      entries: transcript,
      tokenizer: opts.tokenizer,
      meta: {
        renderer: n.provider,
        rendererVersion: renderer.version,
        model: n.model,
        renderContextHash: hash,
        systemHash: sha256Hex(canonicalJson(n.system ?? null)),
        toolsHash: sha256Hex(canonicalJson(n.tools)),
        paramsHash: sha256Hex(canonicalJson(n.options)),
      },
      check: (from) => checkTranscript(transcript, from),
      lint: () => (opts.lint !== false ? lintStatic(n) : []),
      ...(opts.cache ? { cache: opts.cache } : {}),
      key: [opts.conversation ?? "", opts.branch ?? "", opts.lint === false ? 0 : 1, identityOf(opts.hidden), identityOf(opts.sameModelFamily), identityOf(opts.tokenizer as object | undefined)].join("\u0000"),
    });
    return {
      provider: n.provider,
      model: n.model,
      get request() {
        return out.request;
      },
      body: out.body,
      prefix: out.prefix,
      manifest: out.manifest,
      get warnings() {
        return out.warnings;
      },
    };
  } catch (e) {
    // Core refuses values with no JSON form (NaN, functions) in params, tool schemas or hand-made entries.
    if (isCoreError(e) && e.code === "invalid-json") throw compileError("invalid-context", `cannot render: ${e.message}`, { cause: e });
    throw toCompileError(e);
  }
}

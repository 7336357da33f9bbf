import { canonicalJson, ENTRY_KINDS, isCoreError, isJsonObject, sha256Hex, type Entry } from "@ctxsync/core";
import { normalizeContext, renderContextHash, type RenderContext, type RendererId } from "./context.js";
import { compileError, toCompileError } from "./errors.js";
import type { HiddenLookup } from "./hidden.js";
import { lintStatic } from "./lint.js";
import { buildManifest, type Manifest, type Tokenizer } from "./manifest.js";
import type { CacheHandle, Renderer } from "./render.js";
import { anthropic, type AnthropicRequest } from "./renderers/anthropic.js";
import { deepseek, type DeepSeekRequest } from "./renderers/deepseek.js";
import { gemini, type GeminiRequest } from "./renderers/gemini.js";
import { openaiChat, type OpenAIChatRequest } from "./renderers/openai-chat.js";
import { openaiResponses, type OpenAIResponsesRequest } from "./renderers/openai-responses.js";
import { chatml } from "./templates/chatml.js";
import { llama3 } from "./templates/llama3.js";
import type { CompletionRequest } from "./templates/prompt.js";
import { qwen3 } from "./templates/qwen3.js";
import { createWarningSink, type CompileWarning } from "./warnings.js";

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

export const RENDERER_TABLE: { readonly [P in RendererId]: Renderer<RequestByRenderer[P]> } = {
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
}

export interface CompileResult<R = unknown> {
  readonly provider: RendererId;
  /** The provider-native request (typed per renderer). */
  readonly request: R;
  /** The exact bytes to send: JSON.parse(body) deep-equals `request`. */
  readonly body: string;
  /** The byte stream the manifest's offsets index (docs/compile.md). */
  readonly prefix: string;
  readonly manifest: Manifest;
  readonly warnings: readonly CompileWarning[];
}

const checkTranscript = (transcript: readonly Entry[]): void => {
  if (!Array.isArray(transcript)) throw compileError("invalid-transcript", "transcript must be an array of entries");
  transcript.forEach((e, i) => {
    if (!isJsonObject(e) || typeof e.id !== "string" || !(ENTRY_KINDS as readonly unknown[]).includes(e.kind) || !isJsonObject(e.content))
      throw compileError("invalid-transcript", `transcript[${i}] is not an entry`);
    const prev = transcript[i - 1];
    if (prev && e.parent !== prev.id)
      throw compileError("invalid-transcript", `transcript[${i}] (${e.id}) does not follow ${prev.id}: a transcript is a path from the root`, { index: i });
  });
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
    checkTranscript(transcript);
    const warnings = createWarningSink();
    if (opts.lint !== false) lintStatic(n).forEach((w) => warnings.push(w));
    const hash = renderContextHash(n);
    const renderer = RENDERER_TABLE[n.provider] as Renderer<unknown>;
    const out = renderer.render({
      entries: transcript,
      ctx: n,
      renderContextHash: hash,
      warnings,
      blobs: { renderer: n.provider, model: n.model, warnings, ...(opts.hidden ? { lookup: opts.hidden } : {}), ...(opts.sameModelFamily ? { sameModelFamily: opts.sameModelFamily } : {}) },
      ...(opts.conversation !== undefined ? { conversation: opts.conversation } : {}),
      ...(opts.branch !== undefined ? { branch: opts.branch } : {}),
      ...(opts.cacheHandle !== undefined ? { cacheHandle: opts.cacheHandle } : {}),
    });
    const manifest = buildManifest({
      ...out,
      renderer: n.provider,
      rendererVersion: renderer.version,
      model: n.model,
      renderContextHash: hash,
      systemHash: sha256Hex(canonicalJson(n.system ?? null)),
      toolsHash: sha256Hex(canonicalJson(n.tools)),
      paramsHash: sha256Hex(canonicalJson(n.options)),
      ...(opts.tokenizer ? { tokenizer: opts.tokenizer } : {}),
    });
    return { provider: n.provider, request: out.request, body: out.body, prefix: out.prefix, manifest, warnings: warnings.list };
  } catch (e) {
    // Core refuses values with no JSON form (NaN, functions) in params, tool schemas or hand-made entries.
    if (isCoreError(e) && e.code === "invalid-json") throw compileError("invalid-context", `cannot render: ${e.message}`, { cause: e });
    throw toCompileError(e);
  }
}

import { canonicalJson, isJsonObject, sha256Hex, type JsonObject } from "@ctxsync/core";
import { compileError } from "./errors.js";

/** The renderers: provider-native JSON requests and raw completion prompts through chat templates. */
export const RENDERERS = ["openai-chat", "openai-responses", "anthropic", "gemini", "deepseek", "chatml", "qwen3", "llama3"] as const;
export type RendererId = (typeof RENDERERS)[number];

/** A tool as the caller declares it; rendered into each provider's own shape. */
export interface ToolSpec {
  readonly name: string;
  readonly description?: string;
  /** JSON Schema of the arguments (an object schema). */
  readonly parameters?: JsonObject;
}

/** Renderer switches (all part of the render-context hash). */
export interface RenderOptions {
  /** Extra request parameters merged verbatim into the request (temperature, max_tokens, thinking, ...). */
  readonly params?: JsonObject;
  /** openai-responses: full stateless input (default) or chaining on `previous_response_id`. */
  readonly responsesMode?: "stateless" | "previous_response_id";
  /** qwen3: keep reasoning of every turn (default, prefix-stable) or drop it like the stock template. */
  readonly reasoning?: "keep" | "stock";
  /** qwen3: `enable_thinking=false` adds an empty think block to the generation prompt (and, in keep mode, to history turns). */
  readonly enableThinking?: boolean;
  /** openai-chat: content as text parts with explicit `prompt_cache_breakpoint`s (gpt-5.6+). */
  readonly explicitBreakpoints?: boolean;
  /** anthropic: TTL of the cache breakpoints (default 5m). */
  readonly cacheTtl?: "5m" | "1h";
}

/**
 * What a request is rendered with besides the log: given at call time, never stored in the log
 * (DESIGN.md §3). Its hash is recorded with every request so that a cache miss can be explained.
 */
export interface RenderContext {
  readonly provider: RendererId;
  readonly model: string;
  readonly system?: string;
  readonly tools?: readonly ToolSpec[];
  readonly options?: RenderOptions;
}

/** A validated render context whose tools are in their deterministic order (sorted by name). */
export interface NormalizedContext extends RenderContext {
  readonly tools: readonly ToolSpec[];
  readonly options: RenderOptions;
}

const OPTION_KEYS = new Set(["params", "responsesMode", "reasoning", "enableThinking", "cacheTtl", "explicitBreakpoints"]);

export const normalizeContext = (ctx: RenderContext): NormalizedContext => {
  const bad = (msg: string) => compileError("invalid-context", msg);
  if (!isJsonObject(ctx as unknown)) throw bad("render context must be an object");
  if (!(RENDERERS as readonly string[]).includes(ctx.provider))
    throw bad(`unknown provider ${JSON.stringify(ctx.provider)}; expected one of ${RENDERERS.join(", ")}`);
  if (typeof ctx.model !== "string" || ctx.model === "") throw bad("render context needs a model");
  if (ctx.system !== undefined && typeof ctx.system !== "string") throw bad("system must be a string");
  const tools = ctx.tools ?? [];
  if (!Array.isArray(tools)) throw bad("tools must be an array");
  const seen = new Set<string>();
  for (const t of tools) {
    if (!isJsonObject(t) || typeof t.name !== "string" || t.name === "") throw bad("every tool needs a name");
    if (seen.has(t.name)) throw bad(`duplicate tool name ${JSON.stringify(t.name)}`);
    seen.add(t.name);
    if (t.description !== undefined && typeof t.description !== "string") throw bad(`tool ${t.name}: description must be a string`);
    if (t.parameters !== undefined && !isJsonObject(t.parameters)) throw bad(`tool ${t.name}: parameters must be a JSON schema object`);
  }
  const options = ctx.options ?? {};
  if (!isJsonObject(options as unknown)) throw bad("options must be an object");
  const unknown = Object.keys(options).find((k) => !OPTION_KEYS.has(k));
  if (unknown) throw bad(`unknown option ${JSON.stringify(unknown)}`);
  if (options.params !== undefined && !isJsonObject(options.params)) throw bad("options.params must be an object");
  if (options.responsesMode !== undefined && !["stateless", "previous_response_id"].includes(options.responsesMode))
    throw bad("options.responsesMode must be stateless or previous_response_id");
  if (options.reasoning !== undefined && !["keep", "stock"].includes(options.reasoning)) throw bad("options.reasoning must be keep or stock");
  if (options.cacheTtl !== undefined && !["5m", "1h"].includes(options.cacheTtl)) throw bad("options.cacheTtl must be 5m or 1h");
  if (options.enableThinking !== undefined && typeof options.enableThinking !== "boolean") throw bad("options.enableThinking must be boolean");
  if (options.explicitBreakpoints !== undefined && typeof options.explicitBreakpoints !== "boolean") throw bad("options.explicitBreakpoints must be boolean");
  // Deterministic tool order: by name (UTF-16 code units, like canonical JSON keys), whatever order the caller used.
  const sorted = [...tools].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ...ctx, tools: sorted, options };
};

/** SHA-256 of the canonical JSON of the normalized render context (tool order does not matter). */
export const renderContextHash = (ctx: RenderContext): string => {
  const n = normalizeContext(ctx);
  return sha256Hex(canonicalJson({ provider: n.provider, model: n.model, system: n.system, tools: n.tools, options: n.options }));
};

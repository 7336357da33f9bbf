import { chatmlRenderer } from "./chatml.js";

export const RENDERER_VERSION = "qwen3/2";

/**
 * Qwen3's ChatML template with reasoning kept in every turn (like Qwen3.8 `preserve_thinking`,
 * llama.cpp `--reasoning-preserve`). `options.reasoning: "stock"` reproduces the stock template,
 * which drops `<think>` blocks of turns before the last user query (PROVIDERS.md §7) — the
 * cache-breaking behaviour `explain` reports as `reasoning-dropped`.
 */
export const qwen3 = chatmlRenderer("qwen3", RENDERER_VERSION, (env) => ({
  stock: env.ctx.options.reasoning === "stock",
  enableThinking: env.ctx.options.enableThinking !== false,
}));

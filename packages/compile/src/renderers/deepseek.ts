import type { JsonRenderer } from "../render.js";
import { chatGroups, chatOpening, type ChatMessage, type OpenAIChatRequest } from "./openai-chat.js";

export const RENDERER_VERSION = "deepseek/2";

/** An assistant message with DeepSeek's plain-text `reasoning_content`. */
export type DeepSeekMessage = ChatMessage | { role: "assistant"; content: string; reasoning_content?: string; tool_calls?: NonNullable<Extract<ChatMessage, { role: "assistant" }>["tool_calls"]> };
export interface DeepSeekRequest extends Omit<OpenAIChatRequest, "messages" | "prompt_cache_key"> {
  messages: DeepSeekMessage[];
}

/**
 * Legacy `deepseek-reasoner` (R1) rejects `reasoning_content` in history (400), so it is stripped
 * from every turn — consistently, which keeps the prefix stable. Every other model (V3/V4, thinking
 * mode or not) gets it back on every assistant turn that has it: V4 thinking mode requires it on
 * tool-call turns and ignores it elsewhere (PROVIDERS.md §5).
 */
export const isLegacyReasoner = (model: string): boolean => /deepseek-reasoner|deepseek-r1/i.test(model);

export const deepseek: JsonRenderer<undefined> = {
  id: "deepseek",
  version: RENDERER_VERSION,
  form: "json",
  init: () => undefined,
  fork: () => undefined,
  // DeepSeek caches automatically by prefix; it has no prompt_cache_key.
  opening: (env) => chatOpening(env, {}, "string"),
  span: (c, items) => {
    const legacy = isLegacyReasoner(c.env.ctx.model);
    return chatGroups(c, items, {
      reasoning: legacy ? "omit" : "reasoning_content",
      omitWhy: `${c.env.ctx.model} rejects reasoning_content in history; it is left out of every turn`,
      form: "string",
    });
  },
};

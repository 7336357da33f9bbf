import { sendChat, type ChatFlavor, type RawChatUsage } from "./chat-completions.js";
import { defaultNow } from "./clock.js";
import { openaiClient, type OpenAIClientOptions } from "./openai-sdk.js";
import type { Transport } from "./types.js";

export const DEEPSEEK_BASE_URL = "https://api.deepseek.com";

/**
 * DeepSeek's usage: `prompt_cache_hit_tokens` (read) and `prompt_cache_miss_tokens` (the uncached
 * part, which DeepSeek persists as new cache units: its write counter, PROVIDERS.md §0/§5).
 * Some gateways fill `prompt_tokens_details.cached_tokens` instead.
 */
export const deepseekUsage = (u: RawChatUsage) => {
  const prompt = u.prompt_tokens ?? (u.prompt_cache_hit_tokens ?? 0) + (u.prompt_cache_miss_tokens ?? 0);
  const cached = u.prompt_cache_hit_tokens ?? u.prompt_tokens_details?.cached_tokens ?? 0;
  const miss = u.prompt_cache_miss_tokens ?? Math.max(0, prompt - cached);
  const reasoning = u.completion_tokens_details?.reasoning_tokens;
  return {
    promptTokens: prompt,
    cachedTokens: cached,
    cacheWriteTokens: miss,
    outputTokens: u.completion_tokens ?? 0,
    ...(typeof reasoning === "number" ? { reasoningTokens: reasoning } : {}),
  };
};

const FLAVOR: ChatFlavor = { provider: "deepseek", metaProvider: "deepseek", outputLimitField: "max_tokens", usage: deepseekUsage };

/**
 * DeepSeek through the `openai` SDK with DeepSeek's base URL. `reasoning_content` (plain text)
 * streams as reasoning and is kept in the entry (compile sends it back on V4 tool-call turns).
 */
export const createDeepSeekTransport = (o: OpenAIClientOptions = {}): Transport => {
  const client = openaiClient(o, { baseURL: DEEPSEEK_BASE_URL, apiKeyEnv: "DEEPSEEK_API_KEY" });
  const now = o.now ?? defaultNow;
  return { provider: "deepseek", send: (input) => sendChat(client, input, FLAVOR, { now }) };
};

import { openaiChatUsage, sendChat, type ChatFlavor } from "./chat-completions.js";
import { defaultNow } from "./clock.js";
import { openaiClient, type OpenAIClientOptions } from "./openai-sdk.js";
import type { Transport } from "./types.js";

const FLAVOR: ChatFlavor = {
  provider: "openai-chat",
  metaProvider: "openai",
  outputLimitField: "max_completion_tokens",
  usage: openaiChatUsage,
};

/**
 * OpenAI Chat Completions through the `openai` SDK: streaming with `stream_options.include_usage`,
 * the SDK's retries and errors. Chat Completions returns no hidden state (PROVIDERS.md §1), so
 * results carry no blobs.
 */
export const createOpenAIChatTransport = (o: OpenAIClientOptions = {}): Transport => {
  const client = openaiClient(o);
  const now = o.now ?? defaultNow;
  return { provider: "openai-chat", send: (input) => sendChat(client, input, FLAVOR, { now }) };
};

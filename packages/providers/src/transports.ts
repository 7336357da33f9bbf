import { createAnthropicTransport } from "./anthropic.js";
import { createDeepSeekTransport } from "./deepseek.js";
import { providerError } from "./errors.js";
import { createGeminiTransport } from "./gemini.js";
import { createOpenAIChatTransport } from "./openai-chat.js";
import { createOpenAICompatibleTransport } from "./openai-compatible.js";
import { createOpenAIResponsesTransport } from "./openai-responses.js";
import { PROVIDER_IDS, type ProviderId, type Transport, type TransportOptions } from "./types.js";

/** What every factory understands; each takes what applies to it. */
export interface AnyTransportOptions extends TransportOptions {
  readonly apiKey?: string;
  readonly baseURL?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** openai-compatible: `meta.provider` of the results. */
  readonly name?: string;
}

/** The transport for a provider id (`ctxsync replay --provider P`). */
export const createTransport = (provider: ProviderId, o: AnyTransportOptions = {}): Transport => {
  switch (provider) {
    case "openai-chat":
      return createOpenAIChatTransport(o);
    case "openai-responses":
      return createOpenAIResponsesTransport(o);
    case "anthropic":
      return createAnthropicTransport(o);
    case "gemini":
      return createGeminiTransport(o);
    case "deepseek":
      return createDeepSeekTransport(o);
    case "openai-compatible":
      return createOpenAICompatibleTransport(o);
    default:
      throw providerError("bad-request", `unknown provider ${JSON.stringify(provider)}; expected one of ${PROVIDER_IDS.join(", ")}`);
  }
};

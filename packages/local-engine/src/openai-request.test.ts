import { describe, expect, it } from "vitest";
import { isEngineError } from "./errors.js";
import { DEFAULT_MAX_TOKENS, parseChatRequest, parseCompletionRequest } from "./openai-request.js";

const code = (fn: () => unknown) => {
  try {
    fn();
    return "ok";
  } catch (e) {
    return isEngineError(e) ? e.code : "other";
  }
};

describe("OpenAI request parsing", () => {
  it("reads the chat fields this engine honours", () => {
    const p = parseChatRequest({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      max_completion_tokens: 7,
      stream: true,
      stream_options: { include_usage: true },
      prompt_cache_key: "conv-1",
      stop: "END",
      id_slot: -1,
    });
    expect(p).toMatchObject({ maxTokens: 7, stream: true, includeUsage: true, cacheKey: "conv-1", stop: ["END"], slotId: undefined });
    expect(parseChatRequest({ messages: [{ role: "user", content: "x" }] }).maxTokens).toBe(DEFAULT_MAX_TOKENS);
  });

  it("refuses what it cannot honour", () => {
    expect(code(() => parseChatRequest({ messages: [] }))).toBe("bad-request");
    expect(code(() => parseChatRequest({ messages: [{ role: "wizard", content: "x" }] }))).toBe("bad-request");
    expect(code(() => parseChatRequest({ messages: [{ role: "user", content: "x" }], n: 2 }))).toBe("bad-request");
    expect(code(() => parseChatRequest({ messages: [{ role: "user", content: "x" }], max_tokens: -1 }))).toBe("bad-request");
    expect(code(() => parseCompletionRequest({ prompt: ["a", "b"] }))).toBe("bad-request");
  });

  it("accepts a completion prompt as text or token ids", () => {
    expect(parseCompletionRequest({ prompt: "hi" }).prompt).toBe("hi");
    expect(parseCompletionRequest({ prompt: ["hi"] }).prompt).toBe("hi");
    expect(parseCompletionRequest({ prompt: [1, 2, 3] }).prompt).toEqual([1, 2, 3]);
  });
});

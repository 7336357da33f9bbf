import { isJsonObject } from "@ctxsync/core";
import type { RendererId } from "../context.js";
import { ANTHROPIC_RULES, checkAnthropic } from "./anthropic.js";
import { checkDeepSeek, DEEPSEEK_RULES } from "./deepseek.js";
import { checkGemini, GEMINI_RULES } from "./gemini.js";
import { CHAT_RULES, checkChat } from "./openai-chat.js";
import { checkResponses, RESPONSES_RULES } from "./openai-responses.js";
import { violations, type Obj, type RuleInfo, type Violation } from "./rules.js";
import { checkTemplate, TEMPLATE_RULES } from "./template.js";

export type { RuleInfo, Violation } from "./rules.js";

/** What `checkRequest` checks: a renderer's output (the provider family it targets). */
export type CheckedProvider = RendererId;

/** Every rule, per provider family: its id, the provider's documented rule or the exact error, and where that comes from. */
export const PROVIDER_RULES: { readonly [family: string]: readonly RuleInfo[] } = {
  "openai-chat": Object.values(CHAT_RULES),
  deepseek: [...Object.values(CHAT_RULES), ...Object.values(DEEPSEEK_RULES)],
  "openai-responses": Object.values(RESPONSES_RULES),
  anthropic: Object.values(ANTHROPIC_RULES),
  gemini: Object.values(GEMINI_RULES),
  templates: Object.values(TEMPLATE_RULES),
};

/**
 * The structural rules a provider enforces on a request, checked on a body (the bytes to send, or
 * their parsed JSON): one violation per broken rule instance, with the rule id, a path into the
 * body and the provider's rule or the error users report. `model` is for Gemini, whose body does
 * not name it (it decides whether thought signatures are validated).
 */
export const checkRequest = (provider: CheckedProvider, body: string | object, opts: { readonly model?: string } = {}): Violation[] => {
  let value: unknown = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch (e) {
      return [{ rule: "json", path: "", message: `the body is not JSON: ${(e as Error).message}` }];
    }
  }
  if (!isJsonObject(value)) return [{ rule: "json", path: "", message: "the body is not a JSON object" }];
  const v = violations();
  const o = value as Obj;
  switch (provider) {
    case "openai-chat":
      checkChat(o, v);
      break;
    case "deepseek":
      checkDeepSeek(o, v);
      break;
    case "openai-responses":
      checkResponses(o, v);
      break;
    case "anthropic":
      checkAnthropic(o, v);
      break;
    case "gemini":
      checkGemini(o, v, opts.model);
      break;
    case "chatml":
    case "qwen3":
      checkTemplate("chatml", o, v);
      break;
    case "llama3":
      checkTemplate("llama3", o, v);
      break;
  }
  return v.list;
};

import { isLegacyReasoner } from "../renderers/deepseek.js";
import { checkChat } from "./openai-chat.js";
import { arr, isObj, rule, type Obj, type Violations } from "./rules.js";

export const DEEPSEEK_RULES = {
  legacyReasoning: rule(
    "deepseek.reasoner-no-reasoning-content",
    "Legacy `deepseek-reasoner` (R1): sending `reasoning_content` back gave a 400, so it had to be stripped.",
    "PROVIDERS.md §5 (api-docs.deepseek.com/guides/reasoning_model)",
  ),
} as const;

/** DeepSeek: the OpenAI chat rules, plus legacy R1's refusal of `reasoning_content` in history. */
export const checkDeepSeek = (body: Obj, v: Violations): void => {
  checkChat(body, v);
  if (typeof body.model === "string" && isLegacyReasoner(body.model))
    arr(body.messages).forEach((m, i) => {
      if (isObj(m) && m.reasoning_content !== undefined) v.add(DEEPSEEK_RULES.legacyReasoning, `messages[${i}].reasoning_content`, `${body.model} with reasoning_content in history`);
    });
};

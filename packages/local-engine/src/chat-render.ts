import { resolveChatWrapper, type ChatHistoryItem, type ChatWrapper, type LlamaModel } from "node-llama-cpp";
import { engineError } from "./errors.js";

/**
 * OpenAI chat messages → prompt tokens, through the model's own chat template as
 * node-llama-cpp resolves it (ChatML for the generated test model). Rendering must be
 * stable: the same history always gives the same tokens, or prefix reuse breaks.
 */

export interface ChatMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  content: string | null | ReadonlyArray<{ type: string; text?: string }>;
}

export interface RenderedChat {
  tokens: number[];
  /** Special tokens that end the assistant turn (in addition to the model's EOG tokens). */
  stopTokens: number[];
  /** Plain-text stop triggers of the template. */
  stopStrings: string[];
}

function textOf(content: ChatMessage["content"]): string {
  if (content === null) return "";
  if (typeof content === "string") return content;
  return content.map((part) => (part.type === "text" ? (part.text ?? "") : "")).join("");
}

export function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  for (const m of messages) {
    const text = textOf(m.content);
    switch (m.role) {
      case "system":
      case "developer":
        history.push({ type: "system", text });
        break;
      case "user":
      case "tool": // tool results are rendered as user turns: the tiny model has no tool syntax
        history.push({ type: "user", text });
        break;
      case "assistant":
        history.push({ type: "model", response: [text] });
        break;
      default:
        throw engineError("bad-request", `unsupported message role ${String((m as { role: unknown }).role)}`);
    }
  }
  // An empty model turn at the end makes the template emit the generation prompt.
  history.push({ type: "model", response: [] });
  return history;
}

export function createChatRenderer(model: LlamaModel): (messages: readonly ChatMessage[]) => RenderedChat {
  // Nothing volatile and nothing dropped from history (DESIGN.md §3, PROVIDERS.md §7): no
  // "today's date" in the system turn, and earlier reasoning kept, so a turn renders to
  // the same tokens every time and prefix reuse survives.
  const wrapper: ChatWrapper = resolveChatWrapper(model, {
    customWrapperSettings: {
      "llama3.1": { todayDate: null },
      "llama3.2-lightweight": { todayDate: null },
      harmony: { todayDate: null, keepOnlyLastThought: false },
      muse: { todayDate: null, keepOnlyLastThought: false },
      qwen: { keepOnlyLastThought: false },
      deepSeek: { keepOnlyLastThought: false },
    },
  });
  return (messages) => {
    if (messages.length === 0) throw engineError("bad-request", "messages must not be empty");
    const state = wrapper.generateContextState({ chatHistory: toChatHistory(messages) });
    const tokens = state.contextText.tokenize(model.tokenizer);
    const stopTokens: number[] = [];
    const stopStrings: string[] = [];
    for (const trigger of state.stopGenerationTriggers) {
      const triggerTokens = trigger.tokenize(model.tokenizer);
      const onlySpecial = trigger.values.every((v) => typeof v !== "string");
      if (onlySpecial && triggerTokens.length === 1 && triggerTokens[0] !== undefined) stopTokens.push(triggerTokens[0]);
      else if (!onlySpecial) stopStrings.push(trigger.toString());
    }
    return { tokens, stopTokens, stopStrings };
  };
}

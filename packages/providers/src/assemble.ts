import { toolCallFromText, type AssistantContent, type ToolCall } from "@ctxsync/core";
import type { ProviderWarning, StreamDelta } from "./types.js";

/**
 * Collects an assistant turn as it streams — text, visible reasoning, tool calls — reports each
 * piece to `onDelta`, and times the first output. One per send; every transport feeds it.
 */
export interface Assembler {
  text(t: string): void;
  reasoning(t: string): void;
  /** A tool call's piece: `index` orders calls; id/name may come with any delta (first one wins). */
  toolCall(index: number, piece: { id?: string | undefined; name?: string | undefined; args?: string | undefined }): void;
  /** A whole tool call (non-streaming responses). */
  wholeToolCall(index: number, id: string, name: string, args: string): void;
  readonly ttftMs: number | null;
  elapsedMs(): number;
  content(warnings: ProviderWarning[]): AssistantContent;
}

export const createAssembler = (now: () => number, onDelta?: (d: StreamDelta) => void): Assembler => {
  const start = now();
  let first: number | null = null;
  let text = "";
  let reasoning: string | undefined;
  const calls = new Map<number, { id: string; name: string; args: string }>();
  const seen = () => {
    if (first === null) first = now() - start;
  };
  const emit = (d: StreamDelta) => {
    seen();
    onDelta?.(d);
  };
  return {
    text(t) {
      if (t === "") return;
      text += t;
      emit({ type: "text", text: t });
    },
    reasoning(t) {
      if (t === "") return;
      reasoning = (reasoning ?? "") + t;
      emit({ type: "reasoning", text: t });
    },
    toolCall(index, piece) {
      let c = calls.get(index);
      const isNew = !c;
      if (!c) {
        c = { id: "", name: "", args: "" };
        calls.set(index, c);
      }
      if (piece.id && !c.id) c.id = piece.id;
      if (piece.name && !c.name) c.name = piece.name;
      if (piece.args) c.args += piece.args;
      if (isNew || piece.args)
        emit({ type: "tool-call", index, ...(piece.id ? { id: piece.id } : {}), ...(piece.name ? { name: piece.name } : {}), argumentsDelta: piece.args ?? "" });
    },
    wholeToolCall(index, id, name, args) {
      calls.set(index, { id, name, args });
      emit({ type: "tool-call", index, id, name, argumentsDelta: args });
    },
    get ttftMs() {
      return first;
    },
    elapsedMs: () => now() - start,
    content(warnings) {
      const toolCalls: ToolCall[] = [...calls.entries()]
        .sort(([a], [b]) => a - b)
        .map(([, c]) => {
          const args = c.args === "" ? "{}" : c.args;
          try {
            JSON.parse(args);
          } catch {
            warnings.push({ code: "tool-arguments-invalid", callId: c.id, message: `tool call ${c.id} (${c.name}): arguments are not valid JSON; kept as text` });
          }
          return toolCallFromText(c.id, c.name, args);
        });
      return {
        text,
        ...(reasoning !== undefined ? { reasoning } : {}),
        ...(toolCalls.length > 0 ? { toolCalls } : {}),
      };
    },
  };
};

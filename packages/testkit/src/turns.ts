import type { Entry, EntryInput, JsonObject, JsonValue, ToolCall } from "@ctxsync/core";
import type { Rng } from "./rng.js";

/** Random content shaped like real agent loops: user turns, assistant steps with tool calls and their results. */

const TOOLS = ["bash", "read_file", "write_file", "search", "list_dir", "get_reservation", "update_booking"] as const;

export const sentence = (rng: Rng, minWords = 1, maxWords = 12): string => {
  const n = rng.int(minWords, maxWords);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(rng.word(1, 8));
  // Now and then characters that stress canonical serialization: quotes, newlines, non-ASCII, emoji.
  if (rng.chance(0.1)) words.push(rng.pick(['"quoted"', "line\nbreak", "naïve", "日本語", "🙂", "\\back\\slash", "tab\there"]));
  return words.join(" ");
};

const jsonValue = (rng: Rng, depth = 0): JsonValue => {
  const r = rng.int(0, depth > 1 ? 3 : 5);
  switch (r) {
    case 0:
      return sentence(rng, 1, 4);
    case 1:
      return rng.int(-1000, 100000) / (rng.chance(0.3) ? 8 : 1);
    case 2:
      return rng.chance(0.5);
    case 3:
      return null;
    case 4: {
      const a: JsonValue[] = [];
      for (let i = rng.int(0, 3); i > 0; i--) a.push(jsonValue(rng, depth + 1));
      return a;
    }
    default:
      return jsonObject(rng, depth + 1);
  }
};

const jsonObject = (rng: Rng, depth = 0): JsonObject => {
  const o: JsonObject = {};
  for (let i = rng.int(1, 3); i > 0; i--) o[rng.word(1, 7)] = jsonValue(rng, depth);
  return o;
};

export const toolCall = (rng: Rng): ToolCall => {
  const args = jsonObject(rng);
  const id = `call_${rng.id(8)}`;
  const name = rng.pick(TOOLS);
  // Models sometimes emit non-canonical argument text (spacing, key order): kept verbatim.
  if (rng.chance(0.2)) return { id, name, arguments: args, argumentsText: JSON.stringify(args, null, 1) };
  if (rng.chance(0.03)) return { id, name, argumentsText: `{"broken": ${rng.word()}` };
  return { id, name, arguments: args };
};

export const userTurn = (rng: Rng): EntryInput => ({ kind: "user", content: { text: sentence(rng) } });

/** One step of an agent loop: an assistant message, and a result for each tool call it makes. */
export const agentStep = (rng: Rng): EntryInput[] => {
  const calls: ToolCall[] = [];
  for (let i = rng.chance(0.6) ? rng.int(1, 3) : 0; i > 0; i--) calls.push(toolCall(rng));
  const assistant: EntryInput = {
    kind: "assistant",
    content: {
      text: calls.length > 0 && rng.chance(0.5) ? "" : sentence(rng),
      ...(rng.chance(0.3) ? { reasoning: sentence(rng, 3, 20) } : {}),
      ...(calls.length > 0 ? { toolCalls: calls } : {}),
    },
  };
  const results: EntryInput[] = calls.map((c) => ({
    kind: "tool_result",
    content: { callId: c.id, text: sentence(rng, 0, 30), ...(rng.chance(0.1) ? { isError: true } : {}) },
  }));
  return [assistant, ...results];
};

/**
 * A random turn to append after `transcript` (the branch as the appending device sees it):
 * a user message, an agent step, a config change, or a summary of the transcript so far.
 */
export const randomTurn = (rng: Rng, transcript: readonly Entry[]): EntryInput[] => {
  const r = rng.next();
  if (r < 0.35) return [userTurn(rng)];
  if (r < 0.9) return agentStep(rng);
  if (r < 0.95) return [{ kind: "config", content: { changes: { mode: rng.pick(["plan", "act", "ask"]), cwd: `/${rng.word()}` } } }];
  const first = transcript[0];
  const last = transcript[transcript.length - 1];
  if (!first || !last) return [userTurn(rng)];
  return [{ kind: "summary", content: { text: sentence(rng, 5, 20), from: first.id, to: last.id } }];
};


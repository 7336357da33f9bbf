import type { EntryId, JsonObject } from "@ctxsync/core";
import { requestParams, type PromptPiece, type RenderEnv } from "../render.js";
import type { WarningSink } from "../warnings.js";
import { hasLoneSurrogate, wellFormed, type SegmentDraft } from "../writer.js";

/** A raw completion request for a self-hosted engine (OpenAI-compatible `/v1/completions`, llama.cpp `/completion`). */
export interface CompletionRequest {
  model: string;
  prompt: string;
}

/** Request params of a completion request (everything but `model` and `prompt`). */
export const promptParams = (env: RenderEnv): JsonObject => requestParams(env.ctx, ["model", "prompt"]);

/**
 * A prompt segment, with unpaired surrogates written as U+FFFD: they cannot be encoded in UTF-8
 * (an encoder sends U+FFFD anyway, and a JSON parser such as llama.cpp's refuses the `\ud8xx`
 * escape), so the prompt the manifest indexes is the prompt the engine reads. `lone-surrogate`
 * names the entries concerned.
 */
export const piece = (w: WarningSink, draft: SegmentDraft, text: string): PromptPiece => {
  if (!hasLoneSurrogate(text)) return { draft, text };
  for (const id of draft.entryIds ?? []) w.merged("lone-surrogate", id as EntryId, "unpaired UTF-16 surrogates in the prompt are written as U+FFFD (what a UTF-8 encoder sends)");
  return { draft, text: wellFormed(text) };
};

/** The static part's text, with unpaired surrogates written as U+FFFD (`static-lone-surrogate`). */
export const staticText = (w: WarningSink, where: "system" | "tools", text: string): string => {
  if (!hasLoneSurrogate(text)) return text;
  w.push({ code: "static-lone-surrogate", where, message: `unpaired UTF-16 surrogates in the ${where === "system" ? "system prompt" : "tool definitions"} are written as U+FFFD` });
  return wellFormed(text);
};

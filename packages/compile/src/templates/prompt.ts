import { canonicalJson, type JsonObject } from "@ctxsync/core";
import { requestParams, type RenderEnv, type Rendered } from "../render.js";
import { createWriter, type StreamWriter } from "../writer.js";

/** A raw completion request for a self-hosted engine (OpenAI-compatible `/v1/completions`, llama.cpp `/completion`). */
export interface CompletionRequest {
  model: string;
  prompt: string;
}

/**
 * Runs a template's writer and wraps the rendered prompt into a completion request. For
 * templates the prefix stream *is* the prompt, and the whole prompt (generation prompt
 * included) is stable: the next turn's prompt starts with all of it.
 */
export const renderPrompt = (env: RenderEnv, write: (w: StreamWriter) => void): Rendered<CompletionRequest> => {
  const w = createWriter();
  write(w);
  const prompt = w.text();
  const params: JsonObject = requestParams(env.ctx, ["model", "prompt"]);
  const request = { ...params, model: env.ctx.model, prompt } as CompletionRequest & JsonObject;
  return { request, body: canonicalJson(request), prefix: prompt, segments: w.segments, bytes: w.bytes(), stableEnd: w.bytes() };
};

import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { generateTestModel, type TestModelInfo } from "./gguf/test-model.js";

/**
 * Shared by the model-backed tests (not part of the package API, excluded from the build):
 * the generated model in a temp dir, and a prompt long enough to make reuse visible.
 */
export async function tempModel(seed: number, dir?: string): Promise<TestModelInfo & { dir: string }> {
  const where = dir ?? (await mkdtemp(join(os.tmpdir(), "ctxsync-engine-test-")));
  const info = await generateTestModel({ seed, path: join(where, `tiny-llama-s${seed}.gguf`) });
  return { ...info, dir: where };
}

export const LONG_TEXT =
  "The user asked the assistant to sync the agent state. The model said the cache holds the prefix tokens, " +
  "and the replay log can restore the slot when the device comes back. ";

export function maxAbsDiff(a: Map<number, number>, b: Map<number, number>): number {
  let max = a.size === b.size ? 0 : Infinity;
  for (const [token, p] of a) max = Math.max(max, Math.abs(p - (b.get(token) ?? Infinity)));
  return max;
}

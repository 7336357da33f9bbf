import { createEngine } from "./engine.js";
import { isEngineError } from "./errors.js";

/**
 * Test helper run in a fresh process: restore a saved slot state, then compute the
 * next-token distribution of a prompt that extends it. Proves a state file carries
 * the KV cache across processes. Prints one JSON line.
 */
const args = JSON.parse(process.argv[2] ?? "{}") as { modelPath: string; stateDir: string; stateName: string; prompt: number[]; contextSize: number; slots: number };
const engine = await createEngine({ modelPath: args.modelPath, stateDir: args.stateDir, slots: args.slots, contextSize: args.contextSize });
try {
  const restore = await engine.restoreSlot(0, { filename: args.stateName });
  const { probabilities, cache } = await engine.nextTokenProbabilities(args.prompt);
  process.stdout.write(JSON.stringify({ ok: true, restore, cache, probabilities: [...probabilities] }) + "\n");
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, code: isEngineError(err) ? err.code : "other", message: String(err) }) + "\n");
} finally {
  await engine.close();
}

import type { Command } from "../command.js";

/** `ctxsync engine`: the local llama.cpp engine. Loaded lazily so other commands never load node-llama-cpp. */
export const engine: Command = {
  name: "engine",
  summary: "serve a GGUF model through llama.cpp with a real, observable KV cache (OpenAI-compatible)",
  // Kept here (not imported) so that `--help` does not load node-llama-cpp; mirrors local-engine's ENGINE_USAGE.
  usage: `ctxsync engine --model FILE.gguf [--port N] [--host ADDR] [--slots N] [--ctx-size N] [--threads N]
                      [--state-dir DIR] [--max-cached-tokens N] [--flash-attention]
ctxsync engine --generate-test-model PATH [--seed N]   write the deterministic tiny test model and exit`,
  async run(argv) {
    const { runEngineCommand } = await import("@ctxsync/local-engine");
    const r = await runEngineCommand(argv);
    if (r.exitCode !== 0 || !r.closed) return r.exitCode;
    await r.closed;
    return 0;
  },
};

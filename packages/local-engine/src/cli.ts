import os from "node:os";
import { parseArgs } from "node:util";
import { engineError, isEngineError } from "./errors.js";
import { generateTestModel } from "./gguf/test-model.js";
import { startEngine, type RunningEngine } from "./start.js";

/**
 * `ctxsync engine --model FILE.gguf [--port N] ...`: the entry point apps/cli calls.
 * Also `--generate-test-model PATH [--seed N]` writes the project's tiny test model.
 */

export const ENGINE_USAGE = `usage: ctxsync engine --model FILE.gguf [options]
  --model FILE            GGUF model file (any llama.cpp model)
  --port N                HTTP port (default 8080; 0 = any free port)
  --host ADDR             bind address (default 127.0.0.1)
  --slots N               context sequences / KV slots (default 4)
  --ctx-size N            tokens per slot (default 8192)
  --threads N             CPU threads (default: number of cores)
  --state-dir DIR         where slot states are saved (default $TMPDIR/ctxsync-engine-state)
  --max-cached-tokens N   memory budget: tokens cached over all slots (default slots x ctx-size)
  --flash-attention       enable flash attention (off by default: it perturbs probabilities)
ctxsync engine --generate-test-model PATH [--seed N]
                          write the deterministic tiny llama GGUF used by tests, then exit`;

function int(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw engineError("bad-request", `--${name} must be an integer ≥ ${min}`);
  return n;
}

export type EngineCommand =
  | { kind: "help" }
  | { kind: "generate-test-model"; path: string; seed: number }
  | {
      kind: "serve";
      options: Parameters<typeof startEngine>[0];
    };

export function parseEngineArgs(argv: readonly string[]): EngineCommand {
  const { values } = parseArgs({
    args: [...argv],
    allowPositionals: false,
    options: {
      model: { type: "string", short: "m" },
      port: { type: "string" },
      host: { type: "string" },
      slots: { type: "string" },
      "ctx-size": { type: "string" },
      threads: { type: "string" },
      "state-dir": { type: "string" },
      "max-cached-tokens": { type: "string" },
      "flash-attention": { type: "boolean" },
      "generate-test-model": { type: "string" },
      seed: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return { kind: "help" };
  if (values["generate-test-model"] !== undefined) {
    return { kind: "generate-test-model", path: values["generate-test-model"], seed: int("seed", values.seed, 0) ?? 1 };
  }
  if (values.model === undefined) throw engineError("bad-request", "--model FILE.gguf is required");
  const opt = <T>(key: string, v: T | undefined) => (v === undefined ? {} : { [key]: v });
  return {
    kind: "serve",
    options: {
      modelPath: values.model,
      port: int("port", values.port, 0) ?? 8080,
      ...opt("host", values.host),
      ...opt("slots", int("slots", values.slots, 1)),
      ...opt("contextSize", int("ctx-size", values["ctx-size"], 16)),
      threads: int("threads", values.threads, 1) ?? os.availableParallelism(),
      ...opt("stateDir", values["state-dir"]),
      ...opt("maxCachedTokens", int("max-cached-tokens", values["max-cached-tokens"], 1)),
      flashAttention: values["flash-attention"] ?? false,
    },
  };
}

/**
 * Runs the command. For `serve`, resolves once the server is listening, with a handle
 * whose `closed` promise settles after SIGINT/SIGTERM shut it down.
 */
export async function runEngineCommand(
  argv: readonly string[],
  log: (line: string) => void = (line) => console.error(line),
): Promise<{ exitCode: number; running?: RunningEngine; closed?: Promise<void> }> {
  let cmd: EngineCommand;
  try {
    cmd = parseEngineArgs(argv);
  } catch (err) {
    log(`${(err as Error).message}\n${ENGINE_USAGE}`);
    return { exitCode: 2 };
  }
  if (cmd.kind === "help") {
    log(ENGINE_USAGE);
    return { exitCode: 0 };
  }
  if (cmd.kind === "generate-test-model") {
    const info = await generateTestModel({ seed: cmd.seed, path: cmd.path });
    log(`wrote ${info.path}: ${info.parameters} parameters, ${info.vocabSize} tokens, ${info.sizeBytes} bytes`);
    return { exitCode: 0 };
  }
  let running: RunningEngine;
  try {
    running = await startEngine(cmd.options);
  } catch (err) {
    // A bad model file or a busy port is the user's to fix: say what, not a stack trace.
    if (!isEngineError(err) && (err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    log(`ctxsync engine: ${(err as Error).message}`);
    return { exitCode: 1 };
  }
  const { engine } = running;
  log(
    `ctxsync engine: ${engine.modelName} (sha256 ${engine.modelSha256.slice(0, 16)}…), ${engine.slotCount} slots × ${engine.contextSize} tokens, ` +
      `state dir ${engine.stateDir}\nlistening on ${running.url}/v1`,
  );
  // `closed` settles however the server stops: a signal, or the caller's close().
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      try {
        await running.close();
      } finally {
        markClosed();
      }
    })();
    return closing;
  };
  const onSignal = () => void close();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return { exitCode: 0, running: { ...running, close }, closed };
}

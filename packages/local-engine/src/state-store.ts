import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { LlamaContextSequence } from "node-llama-cpp";
import { engineError } from "./errors.js";
import { hashTokens } from "./hashing.js";

/**
 * KV state on disk. Each saved state is two files in the state directory:
 * `NAME.kv` (llama.cpp's sequence state, written by node-llama-cpp) and `NAME.json`
 * (a sidecar naming the model file hash and the prefix hash). llama.cpp may crash the
 * process when it loads a state made by another model, so the sidecar is checked
 * first and the `.kv` file is never handed to node-llama-cpp unless it matches.
 * Default names are `<model hash 16>-<prefix hash>`, so the same prefix saved from
 * two models never collides and can be found again by prefix hash.
 */

export const STATE_FORMAT = "ctxsync-kv-state/1";

export interface StateSidecar {
  format: typeof STATE_FORMAT;
  modelSha256: string;
  modelFile: string;
  prefixHash: string;
  tokenCount: number;
  kvBytes: number;
  /**
   * Sequences in the saving context. llama.cpp keeps one KV stream per sequence and
   * refuses ("n_stream mismatch") a state from a context with another count.
   */
  slots: number;
  savedAt: string;
}

export interface StateStore {
  readonly dir: string;
  defaultName(prefixHash: string): string;
  save(seq: LlamaContextSequence, name?: string): Promise<{ name: string; sidecar: StateSidecar }>;
  /** Verifies the sidecar, then loads the state into `seq`. */
  restore(seq: LlamaContextSequence, name: string): Promise<StateSidecar>;
  readSidecar(name: string): Promise<StateSidecar>;
  remove(name: string): Promise<void>;
}

/** State names are plain file names: no directories, so a request cannot reach outside the store. */
export function checkStateName(name: string): string {
  const stem = name.replace(/\.(kv|json)$/, "");
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/.test(stem) || stem.includes("..")) {
    throw engineError("bad-request", `invalid state name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-'`);
  }
  return stem;
}

function parseSidecar(raw: string, name: string): StateSidecar {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (cause) {
    throw engineError("bad-state-file", `state ${name}: sidecar is not JSON`, cause);
  }
  const v = value as Partial<StateSidecar> | null;
  if (
    !v ||
    v.format !== STATE_FORMAT ||
    typeof v.modelSha256 !== "string" ||
    typeof v.prefixHash !== "string" ||
    typeof v.tokenCount !== "number" ||
    typeof v.kvBytes !== "number" ||
    typeof v.slots !== "number"
  ) {
    throw engineError("bad-state-file", `state ${name}: sidecar is not a ${STATE_FORMAT} header`);
  }
  return v as StateSidecar;
}

export function createStateStore(opts: { dir: string; modelSha256: string; modelPath: string; slots: number }): StateStore {
  const { dir, modelSha256 } = opts;
  const paths = (name: string) => ({ kv: join(dir, `${name}.kv`), json: join(dir, `${name}.json`) });

  async function readSidecar(name: string): Promise<StateSidecar> {
    const stem = checkStateName(name);
    let raw: string;
    try {
      raw = await readFile(paths(stem).json, "utf8");
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") {
        const kvExists = await stat(paths(stem).kv).then(
          () => true,
          () => false,
        );
        throw kvExists
          ? engineError("bad-state-file", `state ${stem}: the .kv file has no .json sidecar, so its model cannot be checked; refusing to load it`)
          : engineError("state-not-found", `no saved state named ${stem} in ${dir}`);
      }
      throw cause;
    }
    return parseSidecar(raw, stem);
  }

  return {
    dir,
    defaultName: (prefixHash) => `${modelSha256.slice(0, 16)}-${prefixHash}`,
    async save(seq, name) {
      const tokens = seq.contextTokens;
      const prefixHash = hashTokens(tokens);
      const stem = checkStateName(name ?? `${modelSha256.slice(0, 16)}-${prefixHash}`);
      await mkdir(dir, { recursive: true });
      const p = paths(stem);
      // Sidecar last: a crash between the two writes leaves a .kv without a header,
      // which restore refuses, rather than a header that vouches for a partial file.
      await rm(p.json, { force: true });
      const { fileSize } = await seq.saveStateToFile(p.kv);
      const sidecar: StateSidecar = {
        format: STATE_FORMAT,
        modelSha256,
        modelFile: basename(opts.modelPath),
        prefixHash,
        tokenCount: tokens.length,
        kvBytes: fileSize,
        slots: opts.slots,
        savedAt: new Date().toISOString(),
      };
      await writeFile(p.json, JSON.stringify(sidecar, null, 2) + "\n");
      return { name: stem, sidecar };
    },
    async restore(seq, name) {
      const stem = checkStateName(name);
      const sidecar = await readSidecar(stem);
      if (sidecar.modelSha256 !== modelSha256) {
        throw engineError(
          "model-mismatch",
          `state ${stem} was saved with model ${sidecar.modelFile} (sha256 ${sidecar.modelSha256.slice(0, 16)}…), ` +
            `but this engine runs ${basename(opts.modelPath)} (sha256 ${modelSha256.slice(0, 16)}…); refusing to load it`,
        );
      }
      if (sidecar.slots !== opts.slots) {
        throw engineError(
          "config-mismatch",
          `state ${stem} was saved by an engine with ${sidecar.slots} slots; this one has ${opts.slots}, and llama.cpp only loads a sequence state into a context with the same number of sequences`,
        );
      }
      const p = paths(stem);
      const size = await stat(p.kv).then(
        (s) => s.size,
        () => -1,
      );
      if (size !== sidecar.kvBytes) {
        throw engineError("bad-state-file", `state ${stem}: .kv file is ${size < 0 ? "missing" : `${size} bytes`}, sidecar says ${sidecar.kvBytes}`);
      }
      if (sidecar.tokenCount > seq.contextSize) {
        throw engineError("context-overflow", `state ${stem} holds ${sidecar.tokenCount} tokens, more than the slot's ${seq.contextSize}`);
      }
      try {
        await seq.loadStateFromFile(p.kv, { acceptRisk: true });
      } catch (cause) {
        await seq.clearHistory().catch(() => undefined);
        throw engineError("bad-state-file", `state ${stem}: node-llama-cpp could not load it: ${String(cause)}`, cause);
      }
      const loaded = hashTokens(seq.contextTokens);
      if (loaded !== sidecar.prefixHash) {
        await seq.clearHistory();
        throw engineError("bad-state-file", `state ${stem}: loaded tokens hash to ${loaded.slice(0, 16)}…, sidecar says ${sidecar.prefixHash.slice(0, 16)}…`);
      }
      return sidecar;
    },
    readSidecar,
    async remove(name) {
      const p = paths(checkStateName(name));
      await rm(p.kv, { force: true });
      await rm(p.json, { force: true });
    },
  };
}

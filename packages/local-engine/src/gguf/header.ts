import { open } from "node:fs/promises";
import { engineError } from "../errors.js";

/**
 * A cheap sanity check of a GGUF file's fixed header, done before node-llama-cpp sees the
 * file: its GGUF reader was seen to hang on a file with a bad version field instead of
 * failing, which would take the engine down with it.
 */
export async function checkGgufHeader(path: string): Promise<{ version: number; tensors: number; metadataKeys: number }> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch (cause) {
    throw engineError("model-load-failed", `cannot open model file ${path}: ${String(cause)}`, cause);
  }
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(24);
    const { bytesRead } = await fh.read(head, 0, 24, 0);
    const fail = (why: string) => engineError("model-load-failed", `${path} is not a usable GGUF model: ${why}`);
    if (bytesRead < 24) throw fail(`only ${bytesRead} bytes`);
    if (head.toString("latin1", 0, 4) !== "GGUF") throw fail("no GGUF magic");
    const version = head.readUInt32LE(4);
    if (version !== 2 && version !== 3) throw fail(`unsupported GGUF version ${version}`);
    const tensors = head.readBigUInt64LE(8);
    const metadataKeys = head.readBigUInt64LE(16);
    // Each tensor info and each key takes more than 8 bytes, so larger counts are corrupt.
    if (tensors === 0n || tensors * 8n > BigInt(size) || metadataKeys * 8n > BigInt(size)) {
      throw fail(`implausible header (${tensors} tensors, ${metadataKeys} keys in ${size} bytes)`);
    }
    return { version, tensors: Number(tensors), metadataKeys: Number(metadataKeys) };
  } finally {
    await fh.close();
  }
}

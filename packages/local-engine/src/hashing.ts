import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/**
 * Identity of what a KV state belongs to: the model file's bytes and the exact token
 * prefix. A state is only ever loaded when both match (DESIGN.md §2, §7).
 */

/** SHA-256 of a file, streamed so multi-GB real models do not need to fit in memory. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** SHA-256 over the token ids as little-endian uint32: the prefix's identity. */
export function hashTokens(tokens: readonly number[]): string {
  const buf = Buffer.alloc(tokens.length * 4);
  tokens.forEach((t, i) => buf.writeUInt32LE(t, i * 4));
  return createHash("sha256").update(buf).digest("hex");
}

export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

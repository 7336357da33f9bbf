import { open } from "node:fs/promises";
import { engineError } from "../errors.js";

/**
 * A minimal GGUF v3 writer (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
 * header, typed metadata key/values, tensor infos, then tensor data aligned to
 * `general.alignment` (32 by default). Little-endian only. It supports exactly what the
 * test-model generator needs: scalar and array metadata, F32 tensors.
 */

/** GGUF metadata value types, numbered as in the spec. */
const T = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

export type GgufScalar =
  | { type: "u32"; value: number }
  | { type: "i32"; value: number }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string };

export type GgufArray =
  | { type: "array"; itemType: "string"; values: readonly string[] }
  | { type: "array"; itemType: "f32"; values: readonly number[] }
  | { type: "array"; itemType: "i32"; values: readonly number[] };

export type GgufValue = GgufScalar | GgufArray;

export interface GgufTensor {
  name: string;
  /** GGML order: `dims[0]` is the innermost (contiguous) dimension. */
  dims: readonly number[];
  data: Float32Array;
}

export interface GgufFile {
  metadata: ReadonlyArray<readonly [string, GgufValue]>;
  tensors: readonly GgufTensor[];
  alignment?: number;
}

const GGML_TYPE_F32 = 0;

/** Growable little-endian byte buffer for the header part of the file. */
function byteSink() {
  let buf = Buffer.alloc(1 << 16);
  let len = 0;
  const ensure = (n: number) => {
    if (len + n <= buf.length) return;
    let size = buf.length * 2;
    while (size < len + n) size *= 2;
    const next = Buffer.alloc(size);
    buf.copy(next, 0, 0, len);
    buf = next;
  };
  const put = (size: number, write: (b: Buffer, at: number) => unknown) => {
    ensure(size);
    write(buf, len);
    len += size;
  };
  return {
    u32: (v: number) => put(4, (b, at) => b.writeUInt32LE(v, at)),
    i32: (v: number) => put(4, (b, at) => b.writeInt32LE(v, at)),
    u64: (v: number) => put(8, (b, at) => b.writeBigUInt64LE(BigInt(v), at)),
    f32: (v: number) => put(4, (b, at) => b.writeFloatLE(v, at)),
    u8: (v: number) => put(1, (b, at) => b.writeUInt8(v, at)),
    string(s: string) {
      const bytes = Buffer.from(s, "utf8");
      put(8, (b, at) => b.writeBigUInt64LE(BigInt(bytes.length), at));
      put(bytes.length, (b, at) => bytes.copy(b, at));
    },
    pad(alignment: number) {
      const n = (alignment - (len % alignment)) % alignment;
      ensure(n);
      len += n; // Buffer.alloc zero-fills, so padding bytes are 0 as the spec asks
    },
    get length() {
      return len;
    },
    bytes() {
      return buf.subarray(0, len);
    },
  };
}

function writeValue(sink: ReturnType<typeof byteSink>, key: string, value: GgufValue): void {
  switch (value.type) {
    case "u32":
    case "i32":
    case "f32":
      sink.u32(T[value.type]);
      sink[value.type](value.value);
      return;
    case "bool":
      sink.u32(T.bool);
      sink.u8(value.value ? 1 : 0);
      return;
    case "string":
      sink.u32(T.string);
      sink.string(value.value);
      return;
    case "array":
      sink.u32(T.array);
      sink.u32(T[value.itemType]);
      sink.u64(value.values.length);
      for (const v of value.values) {
        if (value.itemType === "string") sink.string(v as string);
        else if (value.itemType === "f32") sink.f32(v as number);
        else sink.i32(v as number);
      }
      return;
    default:
      throw engineError("gguf-invalid", `unsupported GGUF value for key ${key}`);
  }
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** Encodes the header (magic .. tensor infos, padded). Tensor data follows it. */
export function encodeGgufHeader(file: GgufFile): { header: Buffer; offsets: number[] } {
  const alignment = file.alignment ?? 32;
  const sink = byteSink();
  sink.u32(0x46554747); // "GGUF" read as a little-endian uint32
  sink.u32(3);
  sink.u64(file.tensors.length);
  const metadata = [...file.metadata];
  if (file.alignment !== undefined) metadata.push(["general.alignment", { type: "u32", value: alignment }]);
  sink.u64(metadata.length);
  const seen = new Set<string>();
  for (const [key, value] of metadata) {
    if (seen.has(key)) throw engineError("gguf-invalid", `duplicate GGUF key ${key}`);
    seen.add(key);
    sink.string(key);
    writeValue(sink, key, value);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of file.tensors) {
    const count = t.dims.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw engineError("gguf-invalid", `tensor ${t.name}: dims give ${count} values, data has ${t.data.length}`);
    }
    sink.string(t.name);
    sink.u32(t.dims.length);
    for (const d of t.dims) sink.u64(d);
    sink.u32(GGML_TYPE_F32);
    sink.u64(offset);
    offsets.push(offset);
    offset = alignUp(offset + t.data.byteLength, alignment);
  }
  sink.pad(alignment);
  return { header: Buffer.from(sink.bytes()), offsets };
}

/** Writes a GGUF file; returns its size in bytes. */
export async function writeGguf(path: string, file: GgufFile): Promise<number> {
  const alignment = file.alignment ?? 32;
  const { header, offsets } = encodeGgufHeader(file);
  const fh = await open(path, "w");
  try {
    await fh.write(header, 0, header.length, 0);
    let end = header.length;
    for (const [i, t] of file.tensors.entries()) {
      const at = header.length + (offsets[i] ?? 0);
      // Float32Array is host-endian; every platform node-llama-cpp ships for is little-endian.
      const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      await fh.write(bytes, 0, bytes.length, at);
      end = at + bytes.length;
    }
    const padded = alignUp(end, alignment);
    if (padded > end) await fh.write(Buffer.alloc(padded - end), 0, padded - end, end);
    return padded;
  } finally {
    await fh.close();
  }
}

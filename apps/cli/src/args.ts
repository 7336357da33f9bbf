import { parseArgs, type ParseArgsConfig } from "node:util";

/** A usage error: main prints it with the command's usage and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util parseArgs, with errors turned into UsageError. Every ctxsync option takes a string value. */
export const parse = <O extends Options>(
  argv: string[],
  options: O,
  allowPositionals = false,
): { values: { [K in keyof O]?: string }; positionals: string[] } => {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true }) as never;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
};

export const intOption = (name: string, v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
};

/** Sizes such as 1048576, 512k, 16m, 1g. */
export const sizeOption = (name: string, v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt;
  const m = /^(\d+)([kmg]?)b?$/i.exec(v.trim());
  if (!m) throw new UsageError(`--${name} must be a size like 65536, 512k, 16m, 1g; got ${JSON.stringify(v)}`);
  return Number(m[1]) * { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"];
};

/** Durations such as 500ms, 30s, 5m. */
export const durationOption = (name: string, v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt;
  const m = /^(\d+)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new UsageError(`--${name} must be a duration like 500ms, 30s, 5m; got ${JSON.stringify(v)}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "ms") as "ms" | "s" | "m" | "h"];
};

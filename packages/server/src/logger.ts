/** Structured logs: one JSON object per line (`time`, `level`, `event`, fields), to stderr by default. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
export const isLogLevel = (s: unknown): s is LogLevel => typeof s === "string" && s in RANK;

/** stderr where the runtime has one (Node, Bun, Deno), else the console. */
const toStderr = (line: string): void => {
  const stderr = (globalThis as { process?: { stderr?: { write(s: string): unknown } } }).process?.stderr;
  if (stderr) stderr.write(line);
  else console.error(line.trimEnd());
};

export const createLogger = (level: LogLevel = "info", write: (line: string) => void = toStderr): Logger => {
  const emit = (lvl: Exclude<LogLevel, "silent">) => (event: string, fields: LogFields = {}) => {
    if (RANK[lvl] < RANK[level]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, event, ...fields }) + "\n");
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
};

export const silentLogger: Logger = createLogger("silent");

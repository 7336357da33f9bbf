/**
 * A progress bar on stderr for long rebuilds: redrawn in place on a terminal; one line per update
 * when stderr is a file or a pipe (updates come per prefill chunk, a few per rebuild).
 */
export interface ProgressBar {
  update(done: number, total: number, label?: string): void;
  done(message: string): void;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

export const progressBar = (out: NodeJS.WriteStream = process.stderr, opts: { width?: number; now?: () => number } = {}): ProgressBar => {
  const width = opts.width ?? 30;
  const now = opts.now ?? Date.now;
  const start = now();
  const tty = out.isTTY === true;
  let drawn = false;
  const line = (done: number, total: number, label: string) => {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const fill = Math.round(frac * width);
    const secs = ((now() - start) / 1000).toFixed(1);
    return `[${"#".repeat(fill)}${".".repeat(width - fill)}] ${String(Math.round(frac * 100)).padStart(3)}% ${fmt(done)}/${fmt(total)} tokens ${secs}s${label ? ` ${label}` : ""}`;
  };
  return {
    update(done, total, label = "") {
      if (tty) {
        out.write(`\r${line(done, total, label)}`);
        drawn = true;
      } else out.write(`${line(done, total, label)}\n`);
    },
    done(message) {
      if (tty && drawn) out.write("\n");
      out.write(`${message}\n`);
    },
  };
};

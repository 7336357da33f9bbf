// Resource use of a server process and its descendants, read from /proc (Linux only).
// The whole tree is measured so that a server which forks helpers (or a launcher that
// re-execs node) is not flattered: RSS is summed over the live tree at each sample, CPU is
// utime+stime of every process seen, taken at its last sample.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const clockTicks = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime in clock ticks. */
  readonly cpuTicks: number;
}

const readStat = (pid: number): ProcStat | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { pid, ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined; // the process is gone
  }
};

/** Resident set size in kB (`VmRSS`), or the high-water mark (`VmHWM`). */
const readStatusKb = (pid: number, field: "VmRSS" | "VmHWM"): number => {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
};

/** `root` and all its live descendants. */
const processTree = (root: number): ProcStat[] => {
  const all: ProcStat[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) all.push(s);
  }
  const byParent = new Map<number, ProcStat[]>();
  for (const s of all) byParent.set(s.ppid, [...(byParent.get(s.ppid) ?? []), s]);
  const rootStat = all.find((s) => s.pid === root);
  if (!rootStat) return [];
  const out: ProcStat[] = [];
  const queue = [rootStat];
  while (queue.length > 0) {
    const s = queue.shift()!;
    out.push(s);
    queue.push(...(byParent.get(s.pid) ?? []));
  }
  return out;
};

export interface ProcSampler {
  /** CPU seconds used by the tree so far. */
  cpuSeconds(): number;
  /** RSS of the tree (MB) at the first sample: the idle server before any client. */
  readonly startRssMb: number;
  /** Stop polling; returns the peak resident set size of the tree in MB. */
  stop(): { peakRssMb: number; cpuS: number; processes: number };
}

/** Poll the process tree rooted at `pid` every `intervalMs` until `stop()`. */
export const sampleProcessTree = (pid: number, intervalMs = 50): ProcSampler => {
  const lastTicks = new Map<number, number>();
  let peakKb = 0;
  let lastKb = 0;
  const sample = () => {
    const tree = processTree(pid);
    let rssKb = 0;
    for (const s of tree) {
      lastTicks.set(s.pid, s.cpuTicks);
      rssKb += readStatusKb(s.pid, "VmRSS");
    }
    lastKb = rssKb;
    // The root's own high-water mark catches peaks between two polls.
    peakKb = Math.max(peakKb, rssKb, readStatusKb(pid, "VmHWM"));
  };
  sample();
  const startRssMb = lastKb / 1024;
  const timer = setInterval(sample, intervalMs);
  const cpuSeconds = () => {
    let ticks = 0;
    for (const t of lastTicks.values()) ticks += t;
    return ticks / clockTicks;
  };
  return {
    startRssMb,
    cpuSeconds: () => {
      sample();
      return cpuSeconds();
    },
    stop() {
      clearInterval(timer);
      sample();
      return { peakRssMb: peakKb / 1024, cpuS: cpuSeconds(), processes: lastTicks.size };
    },
  };
};

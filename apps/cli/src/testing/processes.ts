import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Spawning the real `ctxsync` CLI and stock-client peers as separate processes (for tests). */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
const MAIN = join(REPO, "apps", "cli", "src", "main.ts");
const PEER = join(REPO, "apps", "cli", "src", "testing", "yws-peer.ts");
// `node --import tsx` runs in one process, so a SIGKILL really kills the server (no tsx wrapper).
const NODE_ARGS = ["--import", "tsx", "--conditions=development"];

export interface Proc {
  readonly child: ChildProcess;
  readonly events: Array<Record<string, unknown>>;
  /** Resolves with the first event (past or future) matching `pred`. */
  next(pred: (e: Record<string, unknown>) => boolean, ms?: number, what?: string): Promise<Record<string, unknown>>;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

const track = (child: ChildProcess): Proc => {
  const events: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      events.push({ event: "text", line });
    }
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  return {
    child,
    events,
    stderr: () => err,
    exited,
    next(pred, ms = 15_000, what = "event") {
      return new Promise((res, rej) => {
        let from = 0;
        const check = () => {
          for (; from < events.length; from++) {
            if (pred(events[from]!)) {
              waiters.delete(check);
              clearTimeout(timer);
              res(events[from]!);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          rej(new Error(`timed out waiting for ${what}; stderr: ${err.slice(-2000)}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
  };
};

export interface ServerProc extends Proc {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
}

export const startServerProcess = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProc> => {
  const child = spawn(process.execPath, [...NODE_ARGS, MAIN, "serve", ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const p = track(child);
  const listening = await Promise.race([
    p.next((e) => e.event === "listening", 30_000, "listening"),
    p.exited.then((code) => {
      throw new Error(`server exited with ${code}: ${p.stderr()}`);
    }),
  ]);
  return { ...p, url: listening.url as string, wsUrl: listening.sync as string, port: listening.port as number };
};

export interface PeerProc extends Proc {
  send(cmd: Record<string, unknown>): void;
  state(): Promise<{ entries: Array<{ id: string; text: string }>; branches: Record<string, { head: string }>; usage: string[]; blobs: string[] }>;
}

export const startPeer = (wsUrl: string, conversation: string, token?: string): PeerProc => {
  const child = spawn(process.execPath, [...NODE_ARGS, PEER, wsUrl, conversation, ...(token ? [token] : [])], {
    cwd: REPO,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const p = track(child);
  const send = (cmd: Record<string, unknown>) => child.stdin!.write(JSON.stringify(cmd) + "\n");
  return {
    ...p,
    send,
    async state() {
      const n = p.events.length;
      send({ cmd: "state" });
      const ev = await p.next((e) => e.event === "state" && p.events.indexOf(e) >= n, 10_000, "state");
      return ev as never;
    },
  };
};

/**
 * Run the CLI with a reader that does not read its stdout until the process has exited (or `maxStallMs`
 * passed), as a slow `| jq` would: output past the pipe's buffer (64 KiB) is only complete if the CLI
 * waits for it to drain before exiting. (A CLI that waits is never seen exiting early, so it is read
 * after `maxStallMs`: then the test takes that long.)
 */
export const runCliSlowReader = (args: string[], maxStallMs: number) =>
  new Promise<{ code: number | null; stdout: Buffer; stderr: string }>((res) => {
    const child = spawn(process.execPath, [...NODE_ARGS, MAIN, ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.pause();
    let code: number | null = null;
    let exited = false;
    let ended = false;
    let reading = false;
    const read = () => {
      if (reading) return;
      reading = true;
      child.stdout.on("data", (d: Buffer) => chunks.push(d));
      child.stdout.on("end", () => {
        ended = true;
        if (exited) res({ code, stdout: Buffer.concat(chunks), stderr });
      });
      child.stdout.resume();
    };
    const timer = setTimeout(read, maxStallMs);
    child.on("exit", (c) => {
      code = c;
      exited = true;
      clearTimeout(timer);
      read();
      if (ended) res({ code, stdout: Buffer.concat(chunks), stderr });
    });
  });

export const runCli = (args: string[], env: NodeJS.ProcessEnv = {}, input?: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
    const child = spawn(process.execPath, [...NODE_ARGS, MAIN, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
    child.on("exit", (code) => res({ code, stdout, stderr }));
  });

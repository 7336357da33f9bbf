// Start a sync server as a child process on a free loopback port, wait until it accepts
// connections, and stop it again. Output is kept (last lines only) for error messages.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, connect } from "node:net";

export interface ServerCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
}

export interface RunningServer {
  readonly pid: number;
  readonly port: number;
  /** The last lines the server printed (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });

const keepTail = (child: ChildProcess, maxLines = 40) => {
  const lines: string[] = [];
  const add = (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter((l) => l.trim() !== ""));
    if (lines.length > maxLines) lines.splice(0, lines.length - maxLines);
  };
  child.stdout?.on("data", add);
  child.stderr?.on("data", add);
  return () => lines.join("\n");
};

/** Spawn `cmd` (which must listen on `port`) and resolve once the port accepts TCP connections. */
export const startServer = async (cmd: ServerCommand, port: number, timeoutMs = 30_000): Promise<RunningServer> => {
  const child = spawn(cmd.command, cmd.args, { cwd: cmd.cwd, stdio: ["ignore", "pipe", "pipe"] });
  const output = keepTail(child);
  let exited: string | undefined;
  const gone = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = signal ? `killed by ${signal}` : `exited with code ${code}`;
      resolve();
    });
    child.once("error", (err) => {
      exited = `could not start: ${err.message}`;
      resolve();
    });
  });
  const stop = async (graceMs = 5000) => {
    if (exited === undefined) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await gone;
      clearTimeout(timer);
    }
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) throw new Error(`server ${exited} before listening:\n${output()}`);
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`server not listening on port ${port} after ${timeoutMs} ms:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid!, port, output, stop };
};

/** One CLI command: `ctxsync <name> …`. Each lives in its own file under commands/. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** Resolves with the exit code (a long-running command resolves when it stops). */
  run(argv: string[]): Promise<number>;
}

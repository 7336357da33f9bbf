import { UsageError } from "./args.js";
import type { Command } from "./command.js";
import { COMMANDS } from "./commands/index.js";

const help = (commands: readonly Command[]) =>
  ["usage: ctxsync <command> [options]", "", ...commands.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`), "", "ctxsync <command> --help for its options"].join("\n");

/** Run one command; resolves with the exit code. Usage errors print the command's usage and give 2. */
export const runCli = async (argv: string[], commands: readonly Command[] = COMMANDS): Promise<number> => {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(help(commands) + "\n");
    return name ? 0 : 2;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`ctxsync: unknown command ${JSON.stringify(name)}\n\n${help(commands)}\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${cmd.usage}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`ctxsync ${cmd.name}: ${e.message}\n\nusage: ${cmd.usage}\n`);
      return 2;
    }
    throw e;
  }
};

export { runCli } from "./cli.js";
export { COMMANDS } from "./commands/index.js";
export type { Command } from "./command.js";
export { UsageError, parse } from "./args.js";

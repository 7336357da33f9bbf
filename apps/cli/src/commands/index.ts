import type { Command } from "../command.js";
import { engine } from "./engine.js";
import { exportCommand } from "./export.js";
import { importCommand } from "./import.js";
import { replay } from "./replay.js";
import { serve } from "./serve.js";
import { token } from "./token.js";

/** The command table: add a command by adding a file and a line here. */
export const COMMANDS: readonly Command[] = [serve, token, importCommand, exportCommand, engine, replay];

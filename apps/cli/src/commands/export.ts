import { writeFile } from "node:fs/promises";
import { isConversationId, MAIN } from "@ctxsync/core";
import { parse, UsageError } from "../args.js";
import type { Command } from "../command.js";
import { rest, targetOf } from "../target.js";

export const exportCommand: Command = {
  name: "export",
  summary: "write a conversation's branch as JSONL",
  usage: `ctxsync export --conversation ID [--branch main] [--out FILE] [--server URL [--token T] | --data DIR]
  Prints to stdout unless --out is given.`,
  async run(argv) {
    const { values: o } = parse(argv, {
      conversation: { type: "string" },
      branch: { type: "string" },
      out: { type: "string" },
      server: { type: "string" },
      token: { type: "string" },
      data: { type: "string" },
    });
    if (!o.conversation || !isConversationId(o.conversation)) throw new UsageError("--conversation ID is required");
    const id = o.conversation;
    const branch = o.branch ?? MAIN;
    const text = await rest(targetOf(o), `/v1/conversations/${encodeURIComponent(id)}/export?branch=${encodeURIComponent(branch)}`);
    if (o.out) await writeFile(o.out, text);
    else process.stdout.write(text);
    return 0;
  },
};

import { writeFile } from "node:fs/promises";
import { exportJsonl, isConversationId, MAIN } from "@ctxsync/core";
import { parse, UsageError } from "../args.js";
import type { Command } from "../command.js";
import { rest, targetOf, withLocalServer } from "../target.js";

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
    const target = targetOf(o);
    let text: string;
    if (target.kind === "server") {
      text = await (await rest(target, `/v1/conversations/${encodeURIComponent(id)}/export?branch=${encodeURIComponent(branch)}`)).text();
    } else {
      text = await withLocalServer(target.dir, async (server) => {
        if (!(await server.store.has(id))) throw new Error(`no conversation ${JSON.stringify(id)} in ${target.dir}`);
        return server.rooms.with(id, (room) => room.read(() => exportJsonl(room.log!, branch)));
      });
    }
    if (o.out) await writeFile(o.out, text);
    else process.stdout.write(text);
    return 0;
  },
};

import { readFile } from "node:fs/promises";
import { isConversationId, MAIN } from "@ctxsync/core";
import { parse, UsageError } from "../args.js";
import type { Command } from "../command.js";
import { rest, targetOf } from "../target.js";

export const importCommand: Command = {
  name: "import",
  summary: "append a JSONL transcript to a conversation's branch",
  usage: `ctxsync import <file.jsonl> --conversation ID [--branch main] [--server URL [--token T] | --data DIR]
  With --server it posts to a running server (the token needs the admin scope); otherwise it writes
  the data directory (default ./data) directly.`,
  async run(argv) {
    const { values: o, positionals } = parse(
      argv,
      { conversation: { type: "string" }, branch: { type: "string" }, server: { type: "string" }, token: { type: "string" }, data: { type: "string" } },
      true,
    );
    const [file, ...extra] = positionals;
    if (!file || extra.length > 0) throw new UsageError("give exactly one JSONL file");
    if (!o.conversation || !isConversationId(o.conversation)) throw new UsageError("--conversation ID is required (letters, digits, _ . : -)");
    const id = o.conversation;
    const branch = o.branch ?? MAIN;
    const text = await readFile(file, "utf8");
    const target = targetOf(o);
    const result: unknown = JSON.parse(
      await rest(target, `/v1/conversations/${encodeURIComponent(id)}/import?branch=${encodeURIComponent(branch)}`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body: text,
      }),
    );
    process.stdout.write(JSON.stringify(result) + "\n");
    return 0;
  },
};

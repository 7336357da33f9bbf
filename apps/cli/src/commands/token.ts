import { parseScopes, parseTtl, signToken } from "@ctxsync/protocol";
import { parse, UsageError } from "../args.js";
import type { Command } from "../command.js";

export const token: Command = {
  name: "token",
  summary: "print a signed token (HS256) for a conversation and scopes",
  usage: `ctxsync token --secret S --conversation ID --scopes read,append[,hidden][,admin] [--ttl 1h] [--subject WHO]
  --secret may come from CTXSYNC_AUTH_SECRET. --conversation '*' makes a token for every conversation.`,
  async run(argv) {
    const { values: o } = parse(argv, {
      secret: { type: "string" },
      conversation: { type: "string" },
      scopes: { type: "string" },
      ttl: { type: "string" },
      subject: { type: "string" },
    });
    const secret = o.secret ?? process.env.CTXSYNC_AUTH_SECRET;
    if (!secret) throw new UsageError("--secret is required (or set CTXSYNC_AUTH_SECRET)");
    if (!o.conversation) throw new UsageError("--conversation is required");
    if (!o.scopes) throw new UsageError("--scopes is required (read, append, hidden, admin)");
    let scopes;
    let ttlSeconds;
    try {
      scopes = parseScopes(o.scopes);
      ttlSeconds = parseTtl(o.ttl ?? "1h");
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    process.stdout.write(signToken(secret, { conversation: o.conversation, scopes, ttlSeconds, ...(o.subject ? { subject: o.subject } : {}) }) + "\n");
    return 0;
  },
};

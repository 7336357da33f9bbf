// A client process for the SIGKILL test: appends entries forever, printing each id only after
// the append call returned. argv: storage dir, sync url, conversation, token.
import { fsStorage, openSession } from "@ctxsync/client/node";

const [dir, url, conversation, token] = process.argv.slice(2) as [string, string, string, string];
const session = await openSession({ conversation, url, token, storage: fsStorage({ dir }), device: "killed-device", maxBackoffMs: 200 });
for (let i = 0; ; i++) {
  const e = await session.appendUser(`turn ${i} written before the kill`);
  process.stdout.write(`${e.id}\n`);
}

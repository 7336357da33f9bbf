// A device that takes the drive lease and then just stays alive (until SIGKILL). argv: url, conversation, device, token.
import { memoryStorage, openSession } from "@ctxsync/client/node";

const [url, conversation, device, token] = process.argv.slice(2) as [string, string, string, string];
const session = await openSession({ conversation, url, token, storage: memoryStorage(), device, maxBackoffMs: 200 });
await session.whenSynced();
await session.drive("main");
process.stdout.write("driving\n");
setInterval(() => {}, 1000);

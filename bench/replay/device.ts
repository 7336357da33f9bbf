// One device of the rebuilds-per-eviction benchmark, in its own process. argv: sync url, conversation,
// device, token, engine url, system prompt. Says "ready" once synced; every "go" line on stdin pre-warms
// the branch through replay and prints the outcome as one JSON line; "exit" ends it.
import { createInterface } from "node:readline";
import type { RenderContext } from "@ctxsync/compile";
import { createOpenAICompatibleTransport } from "@ctxsync/providers";
import { memoryStorage, openSession } from "@ctxsync/client/node";

const [url, conversation, device, token, engineUrl, system] = process.argv.slice(2) as [string, string, string, string, string, string];
const ctx: RenderContext = { provider: "openai-chat", model: "tiny", system, options: { params: { max_tokens: 4, temperature: 0 } } };
const session = await openSession({
  conversation,
  url,
  token,
  device,
  storage: memoryStorage(),
  transport: createOpenAICompatibleTransport({ baseURL: `${engineUrl}/v1`, maxRetries: 0, name: "local" }),
  replay: { engine: { url: engineUrl }, timers: false },
});
await session.whenSynced();
process.stdout.write("ready\n");
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "exit") break;
  try {
    await session.whenSynced();
    const out = await session.prewarm(ctx);
    process.stdout.write(`${JSON.stringify({ device, status: out.status, how: out.how ?? null })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ device, error: e instanceof Error ? e.message : String(e) })}\n`);
  }
}
await session.close();
process.exit(0);

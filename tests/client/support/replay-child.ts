// A device in its own process for the one-rebuild-per-prefix test. argv: sync url, conversation, device,
// token, engine url. Opens the session, says "ready" once synced, and on "go" (stdin) pre-warms the
// branch's prefix through replay; prints one JSON line with the outcome, then exits.
import { createOpenAICompatibleTransport } from "@ctxsync/providers";
import type { RenderContext } from "@ctxsync/compile";
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
process.stdin.once("data", async () => {
  try {
    const out = await session.prewarm(ctx);
    await session.whenSynced();
    process.stdout.write(`${JSON.stringify({ device, ...out })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ device, error: e instanceof Error ? e.message : String(e) })}\n`);
  } finally {
    await session.close();
    process.exit(0);
  }
});

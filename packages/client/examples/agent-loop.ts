// An agent loop on @ctxsync/client: append turns, compile for a provider, run tools, record usage.
// Run it:   pnpm ts packages/client/examples/agent-loop.ts   (tsx with the development condition: no build)
// Synced:   CTXSYNC_URL=ws://127.0.0.1:8787/sync CTXSYNC_TOKEN=… pnpm ts packages/client/examples/agent-loop.ts
// (start a server with `ctxsync serve --port 8787 --data ./data`; without CTXSYNC_URL it runs offline.)
// The model is a scripted stand-in so the example runs without an API key: replace `callModel`
// with a real request (`fetch(url, { method: "POST", body: compiled.body })`).
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { AssistantContent, Entry } from "@ctxsync/core";
import { fsStorage, openSession, type Session } from "@ctxsync/client/node";

const TOOLS = [{ name: "list_files", description: "List the files of a directory", parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] } }];

/** Stand-in for the model: asks for a tool on a new question, answers from the tool's output. */
const callModel = (transcript: readonly Entry[]): AssistantContent => {
  const last = transcript.at(-1);
  if (last?.kind === "tool_result") return { text: `The directory holds ${last.content.text.split("\n").filter(Boolean).length} entries.` };
  return { text: "", reasoning: "I should look at the directory first.", toolCalls: [{ id: `call_${transcript.length}`, name: "list_files", arguments: { path: "." } }] };
};

const runTool = (name: string, args: unknown): { text: string; isError?: boolean } => {
  if (name !== "list_files") return { text: `unknown tool ${name}`, isError: true };
  try {
    return { text: readdirSync((args as { path: string }).path).sort().join("\n") };
  } catch (e) {
    return { text: (e as Error).message, isError: true };
  }
};

export interface AgentLoopOptions {
  readonly dir: string;
  readonly conversation: string;
  readonly question: string;
  readonly url?: string;
  readonly token?: string;
  readonly log?: (line: string) => void;
}

export const runAgentLoop = async (o: AgentLoopOptions): Promise<Session> => {
  const log = o.log ?? console.log;
  const session = await openSession({
    conversation: o.conversation,
    storage: fsStorage({ dir: o.dir }), // durable before each append returns; works offline
    device: "agent-laptop",
    ...(o.url ? { url: o.url } : {}),
    ...(o.token ? { token: o.token } : {}),
  });
  session.on("status", (s) => log(`sync: ${s}`));
  session.on("error", (e) => log(`sync error ${e.code}: ${e.message}`));
  await session.drive(); // one driver per branch: a second device is told who holds it

  await session.appendUser(o.question);
  for (let step = 0; step < 4; step++) {
    const compiled = session.compile({ provider: "openai-chat", model: "gpt-4.1", system: "You are a careful shell agent.", tools: TOOLS });
    log(`request ${step}: ${compiled.manifest.totals.bytes} bytes, ${compiled.manifest.segments.length} segments, prefix ${compiled.manifest.prefixHash.slice(0, 12)}`);
    const reply = callModel(session.transcript());
    session.streamPartial({ text: reply.text }); // others watch the turn being generated
    const turn = await session.appendAssistant(reply, { provider: "openai-chat", model: "gpt-4.1" });
    await session.recordUsage({
      provider: "openai-chat",
      model: "gpt-4.1",
      entry: turn.id,
      branch: session.branch,
      promptTokens: compiled.manifest.totals.tokens,
      cachedTokens: 0,
      expectedCachedTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: Math.ceil(reply.text.length / 4),
      renderContextHash: compiled.manifest.renderContextHash,
    });
    if (!reply.toolCalls?.length) break;
    for (const call of reply.toolCalls) {
      const result = runTool(call.name, call.arguments);
      await session.appendToolResult(call.id, result.text, { isError: result.isError === true });
    }
  }
  for (const e of session.transcript()) log(`${e.kind.padEnd(11)} ${JSON.stringify(e.content).slice(0, 90)}`);
  return session;
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const session = await runAgentLoop({
    dir: process.env.CTXSYNC_CLIENT_DIR ?? mkdtempSync(join(tmpdir(), "ctxsync-agent-")),
    conversation: process.env.CTXSYNC_CONVERSATION ?? "demo",
    question: "How many files are in the current directory?",
    ...(process.env.CTXSYNC_URL ? { url: process.env.CTXSYNC_URL } : {}),
    ...(process.env.CTXSYNC_TOKEN ? { token: process.env.CTXSYNC_TOKEN } : {}),
  });
  if (process.env.CTXSYNC_URL) await session.whenSynced(10_000).catch((e: Error) => console.log(`not synced: ${e.message}`));
  await session.close();
}

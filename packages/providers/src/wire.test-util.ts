import { readFileSync } from "node:fs";
import type { ToolSpec } from "@ctxsync/compile";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { newEntryId, type DeviceId, type Entry, type EntryId, type EntryInput } from "@ctxsync/core";

/**
 * Test helpers (not part of the package API, excluded from the build): a wire-capturing `fetch`
 * and transcripts built without a Yjs document.
 */

export interface CapturedRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  /** The body exactly as handed to fetch, decoded as UTF-8. */
  readonly body: string;
  /** The body's raw bytes. */
  readonly bytes: Uint8Array;
}

const toBytes = async (body: unknown): Promise<Uint8Array> => {
  if (body === undefined || body === null) return new Uint8Array();
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof Blob) return new Uint8Array(await body.arrayBuffer());
  throw new Error(`wire capture: unsupported body type ${Object.prototype.toString.call(body)}`);
};

/** A `fetch` that records every request's bytes and forwards it to `inner` (the network, or a simulator's handler). */
export const captureFetch = (inner: typeof fetch = fetch): { fetch: typeof fetch; requests: CapturedRequest[] } => {
  const requests: CapturedRequest[] = [];
  const wrapped = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : undefined;
    const bytes = req && init?.body === undefined ? new Uint8Array(await req.clone().arrayBuffer()) : await toBytes(init?.body);
    requests.push({
      url: req ? req.url : String(input),
      method: init?.method ?? req?.method ?? "GET",
      headers: new Headers(init?.headers ?? req?.headers),
      body: new TextDecoder().decode(bytes),
      bytes,
    });
    return inner(input, init);
  }) as typeof fetch;
  return { fetch: wrapped, requests };
};

/** A transcript (a path from the root) from entry inputs. */
export const transcript = (inputs: readonly EntryInput[]): Entry[] => {
  const out: Entry[] = [];
  let parent: EntryId | null = null;
  for (const input of inputs) {
    const e = { id: newEntryId(), parent, kind: input.kind, content: input.content, meta: { device: "test" as DeviceId, time: 0 } } as Entry;
    out.push(e);
    parent = e.id;
  }
  return out;
};

export const user = (text: string): EntryInput => ({ kind: "user", content: { text } });

/** A recorded HTTP answer: status, content type and body text (an SSE transcript or JSON). */
export interface WireFixture {
  readonly status?: number;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A `fetch` that records each request and answers with the next fixture (the last one repeats). */
export const fixtureFetch = (...answers: WireFixture[]): { fetch: typeof fetch; requests: CapturedRequest[] } => {
  let i = 0;
  return captureFetch((async () => {
    const a = answers[Math.min(i++, answers.length - 1)]!;
    return new Response(a.body, { status: a.status ?? 200, headers: { "content-type": a.contentType ?? (a.body.startsWith("{") ? "application/json" : "text/event-stream"), ...a.headers } });
  }) as typeof fetch);
};

/** An SSE transcript from events (`event:` lines when named), as the providers write them. */
export const sseText = (events: readonly (object | { event: string; data: object } | string)[], nl = "\n"): string =>
  events
    .map((e) => {
      if (typeof e === "string") return `data: ${e}${nl}${nl}`;
      if ("event" in e && "data" in e && typeof e.event === "string") return `event: ${e.event}${nl}data: ${JSON.stringify(e.data)}${nl}${nl}`;
      return `data: ${JSON.stringify(e)}${nl}${nl}`;
    })
    .join("");


export const readFixture = (name: string): string => readFileSync(join(FIXTURES, name), "utf8");
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "__fixtures__");

/** The tool every agent-loop test uses. */
export const BASH: ToolSpec = { name: "bash", description: "Run a shell command", parameters: { type: "object", properties: { cmd: { type: "string" } }, required: ["cmd"] } };

/** A short agent loop: a question, a tool call and its result, a follow-up. */
export const agentLoop = (): EntryInput[] => [
  user("list the files"),
  { kind: "assistant", content: { text: "", toolCalls: [{ id: "call_1", name: "bash", arguments: { cmd: "ls" } }] } },
  { kind: "tool_result", content: { callId: "call_1", text: "README.md\nsrc" } },
  user("and the hidden ones?"),
];

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

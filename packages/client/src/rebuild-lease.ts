import type { LeaseAnswer, LeaseRequest } from "@ctxsync/core";
import type { LeaseService } from "@ctxsync/replay";
import { syncError } from "@ctxsync/protocol";

/**
 * The rebuild lease through the sync server's compare-and-set (`POST /v1/conversations/:id/cache/lease`,
 * docs/replay.md): one answer per request, decided in the server's write queue for `C/cache`. No
 * server answer, no lease: a device that cannot reach the server does not rebuild (its next turn will).
 */
export interface HttpLeaseOptions {
  /** The server's HTTP base (`http://host:port`), or its sync URL (`ws://host:port/sync`), from which it is derived. */
  readonly url: string;
  readonly conversation: string;
  readonly token?: string;
  readonly fetch?: typeof fetch;
  /** Give up on an answer after this long (default 10 s). */
  readonly timeoutMs?: number;
}

/** `ws://h:p/sync` → `http://h:p`; `wss:` → `https:`; an http(s) URL is kept (without a trailing slash). */
export const httpBase = (url: string): string => {
  const u = new URL(url);
  if (u.protocol === "ws:") u.protocol = "http:";
  else if (u.protocol === "wss:") u.protocol = "https:";
  const path = u.pathname.replace(/\/+$/, "").replace(/\/sync$/, "");
  return `${u.protocol}//${u.host}${path}`;
};

export const httpLeaseService = (o: HttpLeaseOptions): LeaseService => {
  const endpoint = `${httpBase(o.url)}/v1/conversations/${encodeURIComponent(o.conversation)}/cache/lease`;
  const f = o.fetch ?? fetch;
  return {
    async request(req: LeaseRequest): Promise<LeaseAnswer> {
      const res = await f(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
        body: JSON.stringify(req),
        signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      });
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } } & Partial<LeaseAnswer>;
      if (!res.ok) throw syncError("internal", `rebuild lease refused by the server: HTTP ${res.status} ${body.error?.code ?? ""} ${body.error?.message ?? ""}`.trim(), { status: res.status });
      if (typeof body.granted !== "boolean") throw syncError("internal", "rebuild lease: the server's answer has no `granted`");
      return body as LeaseAnswer;
    },
  };
};

import { providerError, type SlotTarget } from "@ctxsync/providers";

/**
 * `GET /slots` of a self-hosted engine: what each slot holds now. packages/local-engine reports the
 * hash of each slot's tokens (`prefix_hash`), so replay can tell, without evaluating anything, whether
 * the state it saved after the last turn is still in a slot. llama-server has the route without the
 * hash: there a probe cannot tell, and replay relies on detection from `cached_tokens` alone.
 */
export interface SlotView {
  readonly slot: number;
  readonly tokens: number;
  readonly prefixHash?: string;
}

export const listSlots = async (t: SlotTarget): Promise<SlotView[]> => {
  const root = t.url.replace(/\/+$/, "").replace(/\/v1$/, "");
  let res: Response;
  try {
    res = await (t.fetch ?? fetch)(`${root}/slots`, {
      headers: t.apiKey ? { authorization: `Bearer ${t.apiKey}` } : {},
      ...(t.signal ? { signal: t.signal } : {}),
    });
  } catch (e) {
    throw providerError("network", `GET /slots: ${e instanceof Error ? e.message : String(e)}`, { provider: "openai-compatible", cause: e });
  }
  if (!res.ok) throw providerError(res.status >= 500 ? "upstream" : "bad-request", `GET /slots: HTTP ${res.status}`, { provider: "openai-compatible", status: res.status });
  const json = (await res.json().catch(() => null)) as unknown;
  if (!Array.isArray(json)) throw providerError("invalid-response", "GET /slots: not a list", { provider: "openai-compatible" });
  return json.map((s: { id?: unknown; id_slot?: unknown; n_tokens?: unknown; prefix_hash?: unknown }, i) => ({
    slot: typeof s.id === "number" ? s.id : typeof s.id_slot === "number" ? s.id_slot : i,
    tokens: typeof s.n_tokens === "number" ? s.n_tokens : 0,
    ...(typeof s.prefix_hash === "string" ? { prefixHash: s.prefix_hash } : {}),
  }));
};

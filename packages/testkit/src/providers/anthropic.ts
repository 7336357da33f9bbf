import { hash53 } from "./hash.js";
import { createPrefixCache, segment, type Segment } from "./prefix-cache.js";
import { createBase, json, keyWithout, limitOutput, readJson, simulator, sse, textOf, type ProviderSimulator, type SimOptions } from "./sim.js";
import { streamPieces as pieces } from "./tokenizer.js";

/**
 * Anthropic Messages (PROVIDERS.md §3): prefix caching only at `cache_control` breakpoints (≤ 4,
 * the top-level automatic one included), each looking back ~20 blocks for an earlier entry, in
 * the order tools → system → messages; 5 min or 1 h TTL refreshed on every hit; nothing cached
 * below the model's minimum; thinking blocks whose signatures are verified byte-exact when they
 * come back, and the rule that a tool-use turn must come back with its thinking.
 */
const MARKERS = new Set(["cache_control"]);

const err = (status: number, type: string, message: string) => json(status, { type: "error", error: { type, message }, request_id: `req_sim${status}` });
const FAULTS: Record<number, [string, string]> = {
  429: ["rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit (https://docs.claude.com/en/api/rate-limits); see the response headers for current usage."],
  500: ["api_error", "Internal server error"],
  529: ["overloaded_error", "Overloaded"],
};
const fault = (status: number) => {
  const [type, message] = FAULTS[status] ?? ["api_error", `Simulated error ${status}`];
  return err(status, type, message);
};

const THINKING_REQUIRED = (i: number, found: string) =>
  `messages.${i}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${found}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking`;

type Block = Record<string, unknown> & { type?: string };
interface Msg {
  role: string;
  content: string | Block[];
}

const blocksOf = (m: Msg): Block[] => (typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content);
const familyOf = (model: string) => model.toLowerCase().replace(/-(\d{8}|latest)$/, "");

export const createAnthropicSimulator = (o: SimOptions = {}): ProviderSimulator => {
  const base = createBase("anthropic", o);
  const cache = createPrefixCache();

  const messages = async (body: Record<string, unknown>): Promise<Response> => {
    const model = typeof body.model === "string" ? body.model : "";
    if (!model) return err(400, "invalid_request_error", "model: Field required");
    if (typeof body.max_tokens !== "number") return err(400, "invalid_request_error", "max_tokens: Field required");
    const msgs = body.messages as Msg[] | undefined;
    if (!Array.isArray(msgs) || msgs.length === 0) return err(400, "invalid_request_error", "messages: at least one message is required");
    const f = base.facts(model);
    const thinking = body.thinking as { type?: string; budget_tokens?: number; display?: string } | undefined;
    const thinkingOn = thinking?.type === "enabled" || thinking?.type === "adaptive";
    if (thinking?.type === "enabled") {
      const budget = thinking.budget_tokens ?? 0;
      if (budget < 1024) return err(400, "invalid_request_error", "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024");
      if (body.max_tokens <= budget)
        return err(400, "invalid_request_error", "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size");
    }

    // ---- blocks in prefix order, breakpoints, and the blob checks ----
    const keys: Segment[] = [];
    const breakpoints: { index: number; ttl: string }[] = [];
    const push = (key: string, block: Block) => {
      keys.push(segment(key));
      const cc = block.cache_control as { ttl?: string } | undefined;
      if (cc) breakpoints.push({ index: keys.length - 1, ttl: cc.ttl ?? "5m" });
    };
    for (const t of (body.tools as Block[] | undefined) ?? []) push(`tool|${keyWithout(t, MARKERS)}`, t);
    const system = typeof body.system === "string" ? [{ type: "text", text: body.system }] : ((body.system as Block[] | undefined) ?? []);
    for (const s of system) push(`sys|${keyWithout(s, MARKERS)}`, s);
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      const blocks = blocksOf(m);
      for (let j = 0; j < blocks.length; j++) {
        const b = blocks[j]!;
        if (m.role === "assistant" && b.type === "thinking") {
          const p = typeof b.signature === "string" ? base.signer.open(b.signature) : undefined;
          const ok = p !== undefined && p === `${familyOf(model)}|${hash53(String(b.thinking))}`;
          if (!ok) return err(400, "invalid_request_error", `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`);
        }
        if (m.role === "assistant" && b.type === "redacted_thinking") {
          const p = typeof b.data === "string" ? base.signer.open(b.data) : undefined;
          if (p === undefined || !p.startsWith(`${familyOf(model)}|`)) return err(400, "invalid_request_error", `messages.${i}.content.${j}: Invalid \`data\` in \`redacted_thinking\` block`);
        }
        push(`${i}|${m.role}|${keyWithout(b, MARKERS)}`, b);
      }
    }
    if (body.cache_control && keys.length > 0) breakpoints.push({ index: keys.length - 1, ttl: (body.cache_control as { ttl?: string }).ttl ?? "5m" });
    if (breakpoints.length > 4) return err(400, "invalid_request_error", `A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints.length}.`);
    if (thinkingOn) {
      // A tool loop must come back with the thinking that preceded its tool use (PROVIDERS.md §3.5).
      const lastUser = msgs.at(-1)!;
      const lastAssistant = msgs.map((m, i) => [m, i] as const).filter(([m]) => m.role === "assistant").at(-1);
      if (lastUser.role === "user" && blocksOf(lastUser).some((b) => b.type === "tool_result") && lastAssistant && blocksOf(lastAssistant[0]).some((b) => b.type === "tool_use")) {
        const first = blocksOf(lastAssistant[0])[0]?.type ?? "none";
        if (first !== "thinking" && first !== "redacted_thinking") return err(400, "invalid_request_error", THINKING_REQUIRED(lastAssistant[1], first));
      }
    }

    // ---- the cache ----
    const now = base.clock.now();
    const chain = cache.chain(`anthropic:${model}`, keys);
    const bps = [...new Map(breakpoints.map((b) => [b.index, b])).values()].sort((a, b) => a.index - b.index);
    const lookback = f.cache.lookbackBlocks ?? 20;
    let hit = -1;
    for (const bp of bps) hit = Math.max(hit, cache.deepest(chain, now, bp.index, bp.index - lookback));
    const read = hit >= 0 ? chain.cum[hit]! : 0;
    if (hit >= 0) cache.hit(chain, hit, now);
    let written = hit;
    const creation = { "5m": 0, "1h": 0 } as Record<string, number>;
    for (const bp of bps) {
      if (bp.index <= written || chain.cum[bp.index]! < f.cache.minCacheableTokens) continue;
      const ttl = bp.ttl === "1h" ? "1h" : "5m";
      cache.write(chain, bp.index, now, f.cache.ttlMs[ttl] ?? f.cache.ttlMs.default, { refreshOnHit: true });
      creation[ttl]! += chain.cum[bp.index]! - (written >= 0 ? chain.cum[written]! : 0);
      written = bp.index;
    }
    const created = creation["5m"]! + creation["1h"]!;
    const input = chain.total - read - created;

    // ---- the answer ----
    const warm = body.max_tokens <= f.cache.warmOutputTokens;
    const ans = await base.answer({
      family: "anthropic",
      endpoint: "messages",
      model,
      messages: [...system.map((s) => ({ role: "system", text: String(s.text ?? "") })), ...msgs.map((m) => ({ role: m.role === "user" && blocksOf(m).every((b) => b.type === "tool_result") ? "tool" : m.role, text: blocksOf(m).map((b) => (b.type === "tool_result" ? textOf(b.content) || String(b.content ?? "") : String(b.text ?? ""))).join("") }))],
      body,
      promptTokens: chain.total,
      warm,
    });
    base.prefill(input + created, read);
    const out = limitOutput(thinkingOn ? ans : { ...ans, reasoning: "" }, body.max_tokens);
    const outputTokens = out.tokens.text + out.tokens.reasoning + out.tokens.tools;
    base.output(outputTokens);
    const content: Block[] = [];
    if (thinkingOn) {
      if (ans.redacted) content.push({ type: "redacted_thinking", data: base.signer.sign(`${familyOf(model)}|${hash53(out.reasoning)}`) });
      else {
        const shown = thinking?.display === "omitted" ? "" : out.reasoning;
        content.push({ type: "thinking", thinking: shown, signature: base.signer.sign(`${familyOf(model)}|${hash53(shown)}`) });
      }
    }
    if (out.text !== "" || (ans.toolCalls ?? []).length === 0 || out.truncated) content.push({ type: "text", text: out.text });
    if (!out.truncated)
      for (const c of ans.toolCalls ?? []) content.push({ type: "tool_use", id: c.id ?? base.signer.id("toolu"), name: c.name, input: typeof c.arguments === "string" ? (JSON.parse(c.arguments || "{}") as unknown) : c.arguments });
    const stop = out.truncated ? "max_tokens" : content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn";
    const usage = {
      input_tokens: input,
      cache_creation_input_tokens: created,
      cache_read_input_tokens: read,
      cache_creation: { ephemeral_5m_input_tokens: creation["5m"], ephemeral_1h_input_tokens: creation["1h"] },
      output_tokens: outputTokens,
      service_tier: "standard",
    };
    base.record({ kind: "generate", endpoint: "messages", model, status: 200, usage: { promptTokens: chain.total, cachedTokens: read, cacheWriteTokens: created, cacheWrite1hTokens: creation["1h"]!, outputTokens }, warm });
    const id = base.signer.id("msg");
    const message = { id, type: "message", role: "assistant", model, content, stop_reason: stop, stop_sequence: null, usage };
    if (body.stream !== true) return json(200, message);

    const events: { event: string; data: string }[] = [];
    const ev = (event: string, data: object) => events.push({ event, data: JSON.stringify({ type: event, ...data }) });
    ev("message_start", { message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } });
    ev("ping", {});
    const failMid = base.takeFault() !== undefined;
    content.forEach((b, index) => {
      if (b.type === "thinking") {
        ev("content_block_start", { index, content_block: { type: "thinking", thinking: "", signature: "" } });
        for (const t of pieces(String(b.thinking))) ev("content_block_delta", { index, delta: { type: "thinking_delta", thinking: t } });
        ev("content_block_delta", { index, delta: { type: "signature_delta", signature: b.signature } });
      } else if (b.type === "redacted_thinking") ev("content_block_start", { index, content_block: b });
      else if (b.type === "text") {
        ev("content_block_start", { index, content_block: { type: "text", text: "" } });
        for (const t of pieces(String(b.text))) ev("content_block_delta", { index, delta: { type: "text_delta", text: t } });
      } else {
        ev("content_block_start", { index, content_block: { ...b, input: {} } });
        for (const t of pieces(JSON.stringify(b.input), 6)) ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: t } });
      }
      ev("content_block_stop", { index });
    });
    if (failMid) {
      const cut = events.findIndex((e) => e.event === "content_block_delta");
      return sse([...events.slice(0, cut < 0 ? events.length : cut + 1), { event: "error", data: JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }) }]);
    }
    ev("message_delta", { delta: { stop_reason: stop, stop_sequence: null }, usage: { input_tokens: input, cache_creation_input_tokens: created, cache_read_input_tokens: read, output_tokens: outputTokens } });
    ev("message_stop", {});
    return sse(events);
  };

  const handle = async (req: Request): Promise<Response> => {
    if (base.requireKey && !req.headers.get("x-api-key") && !/^Bearer \S+/.test(req.headers.get("authorization") ?? ""))
      return err(401, "authentication_error", "x-api-key header is required");
    const path = new URL(req.url).pathname.replace(/\/+$/, "");
    if (req.method !== "POST" || !path.endsWith("/v1/messages")) return err(404, "not_found_error", `Not found: ${req.method} ${path}`);
    const parsed = await readJson(req);
    if (!parsed.ok) return err(400, "invalid_request_error", parsed.message);
    const f = base.takeHttpFault(parsed.body.stream === true);
    if (f) {
      base.record({ kind: "error", endpoint: "messages", model: String(parsed.body.model ?? ""), status: f.status, warm: false });
      return fault(f.status);
    }
    return messages(parsed.body);
  };

  return simulator(base, handle, { evictAll: () => cache.clear() });
};

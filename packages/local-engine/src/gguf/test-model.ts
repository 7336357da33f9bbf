import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { engineError } from "../errors.js";
import { createRng, type Rng } from "./rng.js";
import { buildSpmVocab } from "./vocab.js";
import { writeGguf, type GgufTensor, type GgufValue } from "./writer.js";

/**
 * Generates the project's own test model: a deterministic random-weight llama GGUF,
 * a few MB, that llama.cpp loads like any real model. It lets tests and benchmarks
 * exercise a real KV cache without downloading anything. Same options → same bytes.
 */

export interface TestModelOptions {
  seed: number;
  path: string;
  layers?: number;
  embedding?: number;
  heads?: number;
  kvHeads?: number;
  feedForward?: number;
  /** `llama.context_length`: the longest context the model claims to support. */
  contextLength?: number;
}

export interface TestModelInfo {
  path: string;
  sizeBytes: number;
  parameters: number;
  vocabSize: number;
  layers: number;
  embedding: number;
}

// ChatML, the template the control tokens <|im_start|>/<|im_end|> are there for.
const CHAT_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

function gaussian(rng: Rng, count: number, std: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.normal() * std;
  return out;
}

function ones(count: number): Float32Array {
  return new Float32Array(count).fill(1);
}

export async function generateTestModel(options: TestModelOptions): Promise<TestModelInfo> {
  const layers = options.layers ?? 4;
  const embd = options.embedding ?? 128;
  const heads = options.heads ?? 4;
  const kvHeads = options.kvHeads ?? 2;
  const ff = options.feedForward ?? 384;
  const contextLength = options.contextLength ?? 32768;
  if (embd % heads !== 0 || heads % kvHeads !== 0) {
    throw engineError("gguf-invalid", "embedding must divide by heads and heads by kvHeads");
  }
  const headDim = embd / heads;
  const kvDim = headDim * kvHeads;
  const vocab = buildSpmVocab();
  const nVocab = vocab.tokens.length;
  const rng = createRng(options.seed);

  // Scales chosen so activations stay O(1) and the output distribution is peaked enough
  // to be informative (a near-uniform distribution would hide numeric differences).
  const w = (fanIn: number) => 1 / Math.sqrt(fanIn);
  const tensors: GgufTensor[] = [
    { name: "token_embd.weight", dims: [embd, nVocab], data: gaussian(rng, embd * nVocab, 1) },
  ];
  for (let l = 0; l < layers; l++) {
    const p = `blk.${l}.`;
    tensors.push(
      { name: `${p}attn_norm.weight`, dims: [embd], data: ones(embd) },
      { name: `${p}attn_q.weight`, dims: [embd, embd], data: gaussian(rng, embd * embd, w(embd)) },
      { name: `${p}attn_k.weight`, dims: [embd, kvDim], data: gaussian(rng, embd * kvDim, w(embd)) },
      { name: `${p}attn_v.weight`, dims: [embd, kvDim], data: gaussian(rng, embd * kvDim, w(embd)) },
      { name: `${p}attn_output.weight`, dims: [embd, embd], data: gaussian(rng, embd * embd, w(embd)) },
      { name: `${p}ffn_norm.weight`, dims: [embd], data: ones(embd) },
      { name: `${p}ffn_gate.weight`, dims: [embd, ff], data: gaussian(rng, embd * ff, w(embd)) },
      { name: `${p}ffn_up.weight`, dims: [embd, ff], data: gaussian(rng, embd * ff, w(embd)) },
      { name: `${p}ffn_down.weight`, dims: [ff, embd], data: gaussian(rng, ff * embd, w(ff)) },
    );
  }
  tensors.push(
    { name: "output_norm.weight", dims: [embd], data: ones(embd) },
    { name: "output.weight", dims: [embd, nVocab], data: gaussian(rng, embd * nVocab, 3 * w(embd)) },
  );

  const u32 = (value: number): GgufValue => ({ type: "u32", value });
  const metadata: Array<[string, GgufValue]> = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: `ctxsync-test-llama-s${options.seed}` }],
    ["general.file_type", u32(0)], // ALL_F32
    ["llama.context_length", u32(contextLength)],
    ["llama.embedding_length", u32(embd)],
    ["llama.block_count", u32(layers)],
    ["llama.feed_forward_length", u32(ff)],
    ["llama.attention.head_count", u32(heads)],
    ["llama.attention.head_count_kv", u32(kvHeads)],
    ["llama.rope.dimension_count", u32(headDim)],
    ["llama.rope.freq_base", { type: "f32", value: 10000 }],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", value: 1e-5 }],
    ["llama.vocab_size", u32(nVocab)],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "array", itemType: "string", values: vocab.tokens }],
    ["tokenizer.ggml.scores", { type: "array", itemType: "f32", values: vocab.scores }],
    ["tokenizer.ggml.token_type", { type: "array", itemType: "i32", values: vocab.types }],
    ["tokenizer.ggml.bos_token_id", u32(vocab.bosId)],
    ["tokenizer.ggml.eos_token_id", u32(vocab.eosId)],
    ["tokenizer.ggml.unknown_token_id", u32(vocab.unkId)],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
    ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
    // No implicit leading "▁": ChatML text after a control token should not gain a space.
    ["tokenizer.ggml.add_space_prefix", { type: "bool", value: false }],
    ["tokenizer.chat_template", { type: "string", value: CHAT_TEMPLATE }],
  ];

  await mkdir(dirname(options.path), { recursive: true });
  const sizeBytes = await writeGguf(options.path, { metadata, tensors });
  const parameters = tensors.reduce((n, t) => n + t.data.length, 0);
  return { path: options.path, sizeBytes, parameters, vocabSize: nVocab, layers, embedding: embd };
}

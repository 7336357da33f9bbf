/**
 * A SentencePiece-style ("llama" tokenizer model) vocabulary that llama.cpp accepts:
 * <unk>, <s>, </s>, two ChatML control tokens, the 256 byte-fallback tokens `<0x00>`..`<0xFF>`,
 * the printable ASCII characters, and merged pieces for a fixed word list. Every merged
 * piece has all its prefixes in the vocabulary, so SentencePiece's pairwise merging can
 * reach it; anything else falls back to bytes.
 */

/** llama.cpp token types (llama_token_type). */
export const TokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

export interface SpmVocab {
  tokens: string[];
  scores: number[];
  types: number[];
  unkId: number;
  bosId: number;
  eosId: number;
  imStartId: number;
  imEndId: number;
}

const SPACE = "\u2581"; // SentencePiece's visible space "▁"

// Words chosen to look like agent transcripts (chat roles, code, caching talk), so test
// prompts tokenize into a realistic mix of merged pieces and byte fallbacks.
const WORDS = (
  "the and to of a in is you that it for on with as are this be at have or from by not but what all were " +
  "we when your can said there use an each which she do how their if will up other about out many then them " +
  "these so some her would make like him into time has look two more write go see number no way could people " +
  "my than first water been call who oil its now find long down day did get come made may part " +
  "user assistant system tool tools function message messages content role model cache cached token tokens " +
  "prompt context state sync agent file data hello world return const let import export async await " +
  "true false null string number type interface error value key request response stream slot prefix hash " +
  "save restore erase evict memory device branch fork replay log entry test example question answer please " +
  "thanks yes ok run build code line read"
).split(" ");

export function buildSpmVocab(): SpmVocab {
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  const index = new Map<string, number>();
  const add = (text: string, type: number, score: number) => {
    if (index.has(text)) return;
    index.set(text, tokens.length);
    tokens.push(text);
    scores.push(score);
    types.push(type);
  };
  add("<unk>", TokenType.unknown, 0);
  add("<s>", TokenType.control, 0);
  add("</s>", TokenType.control, 0);
  add("<|im_start|>", TokenType.control, 0);
  add("<|im_end|>", TokenType.control, 0);
  for (let b = 0; b < 256; b++) {
    add(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, TokenType.byte, 0);
  }
  // Single characters score lowest, so longer pieces win whenever they apply.
  add(SPACE, TokenType.normal, -1000);
  for (let c = 33; c < 127; c++) add(String.fromCharCode(c), TokenType.normal, -1000 - c);
  // Merged pieces: every prefix (length >= 2) of "▁word" and of "word". Earlier words
  // get higher scores, like frequency-ranked SentencePiece pieces.
  let rank = 0;
  for (const word of WORDS) {
    for (const form of [SPACE + word, word]) {
      for (let end = 2; end <= form.length; end++) add(form.slice(0, end), TokenType.normal, -(++rank));
    }
  }
  return {
    tokens,
    scores,
    types,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    imStartId: 3,
    imEndId: 4,
  };
}

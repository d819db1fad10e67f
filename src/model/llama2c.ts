// Karpathy's llama2.c checkpoints (the "legacy" format run.c reads): 7 int32 (dim, hidden_dim, n_layers,
// n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means a separate classifier follows), then
// f32 weights in the order token_embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final,
// freq_cis_real, freq_cis_imag (unused: rope is recomputed), [wcls]. Every matrix is stored [out, in].
// Format: https://github.com/karpathy/llama2.c/blob/master/run.c (read_checkpoint / memory_map_weights).
import { readFileSync, statSync } from 'node:fs';
import type { Block, Linear, ModelConfig, ModelWeights } from './weights.js';
import { checkConfig } from './weights.js';

const HEADER_BYTES = 28;
/** "ak42": llama2.c's versioned export (export.py version 1/2), which run.c itself does not read. */
const MAGIC_AK42 = 0x616b3432;

export function loadLlama2c(file: string): ModelWeights {
  const size = statSync(file).size;
  if (size < HEADER_BYTES) throw new Error(`${file}: too small for a llama2.c checkpoint (${size} bytes)`);
  const buf = readFileSync(file);
  const hdr = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + HEADER_BYTES));
  if (hdr[0] === MAGIC_AK42) {
    throw new Error(`${file}: a llama2.c versioned export ("ak42"); re-export with export.py --version 0 (the legacy format run.c reads)`);
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabRaw, seqLen] = Array.from(hdr) as number[] as [number, number, number, number, number, number, number];
  const shared = vocabRaw > 0;
  const vocab = Math.abs(vocabRaw);
  const config: ModelConfig = {
    arch: 'llama',
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize: vocab,
    maxSeqLen: seqLen,
    normEps: 1e-5,
    ropeTheta: 10000,
    ropeStyle: 'interleaved',
    bosId: 1,
  };
  checkConfig(config, file);
  const hs = dim / nHeads;
  const kvDim = nKvHeads * hs;
  const L = nLayers;
  const counts = [
    vocab * dim,
    L * dim,
    L * dim * dim,
    L * kvDim * dim,
    L * kvDim * dim,
    L * dim * dim,
    L * dim,
    L * hiddenDim * dim,
    L * dim * hiddenDim,
    L * hiddenDim * dim,
    dim,
    (seqLen * hs) / 2,
    (seqLen * hs) / 2,
    shared ? 0 : vocab * dim,
  ];
  const floats = counts.reduce((a, b) => a + b, 0);
  const want = HEADER_BYTES + floats * 4;
  if (size !== want) {
    throw new Error(`${file}: ${size} bytes, but the header (dim ${dim}, hidden ${hiddenDim}, ${L} layers, vocab ${vocab}, seq_len ${seqLen}, ${shared ? 'shared' : 'separate'} classifier) implies ${want}`);
  }
  // Copy into an aligned f32 array (the file's data starts at byte 28, aligned to 4).
  const all = new Float32Array(floats);
  new Uint8Array(all.buffer).set(buf.subarray(HEADER_BYTES));
  let at = 0;
  const take = (n: number) => all.subarray(at, (at += n));
  const embed = take(counts[0]!);
  const rmsAtt = take(counts[1]!);
  const wq = take(counts[2]!);
  const wk = take(counts[3]!);
  const wv = take(counts[4]!);
  const wo = take(counts[5]!);
  const rmsFfn = take(counts[6]!);
  const w1 = take(counts[7]!);
  const w2 = take(counts[8]!);
  const w3 = take(counts[9]!);
  const rmsFinal = take(counts[10]!);
  take(counts[11]!);
  take(counts[12]!);
  const head = shared ? embed : take(counts[13]!);
  const lin = (src: Float32Array, l: number, out: number, inn: number): Linear => ({ w: src.subarray(l * out * inn, (l + 1) * out * inn), b: null, out, in: inn });
  const blocks: Block[] = [];
  for (let l = 0; l < L; l++) {
    blocks.push({
      attnNorm: { w: rmsAtt.subarray(l * dim, (l + 1) * dim), b: null },
      q: lin(wq, l, dim, dim),
      k: lin(wk, l, kvDim, dim),
      v: lin(wv, l, kvDim, dim),
      o: lin(wo, l, dim, dim),
      mlpNorm: { w: rmsFfn.subarray(l * dim, (l + 1) * dim), b: null },
      gate: lin(w1, l, hiddenDim, dim),
      up: lin(w3, l, hiddenDim, dim),
      down: lin(w2, l, dim, hiddenDim),
    });
  }
  return { config, embed, posEmbed: null, blocks, finalNorm: { w: rmsFinal, b: null }, head };
}

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/rng.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Array, f32ToF16Array } from '../../src/data/half.js';
import { readSafetensors } from '../../src/data/safetensors.js';
import { SAE_LENS_VERSION, readSae, writeSaelens } from '../../src/io/saelens.js';
import type { SaeExport, SaelensArchitecture } from '../../src/io/saelens.js';
import { bytes, rawSafetensors, save, tempDir, throwsWith } from '../data/fixtures.js';

const s = suite('io/saelens');
const tmp = tempDir('saelens');
s.after(() => tmp.cleanup());

function randomSae(seed: number, architecture: SaelensArchitecture, dIn: number, dSae: number): SaeExport {
  const rng = new Rng(seed);
  const n = (len: number) => rng.fillNormal(new Float32Array(len));
  return {
    architecture,
    dIn,
    dSae,
    W_enc: n(dIn * dSae),
    W_dec: n(dSae * dIn),
    b_enc: n(dSae),
    b_dec: n(dIn),
    ...(architecture === 'jumprelu' ? { threshold: rng.fillUniform(new Float32Array(dSae), 0, 1) } : {}),
    ...(architecture === 'topk' ? { k: 1 + rng.int(dSae) } : {}),
    applyBDecToInput: architecture !== 'standard',
    normalizeActivations: architecture === 'topk' ? 'expected_average_only_in' : 'none',
    metadata: {
      model_name: 'gpt2',
      hook_name: 'blocks.8.hook_resid_pre',
      context_size: 128,
      batchtopk: { k: 32, lr: 3e-4, seed },
    },
  };
}

s('write -> read round trip for every architecture; cfg.json and tensor layout as SAELens 6 expects', () => {
  fc.assert(
    fc.property(
      fc.nat(),
      fc.constantFrom<SaelensArchitecture>('jumprelu', 'topk', 'standard'),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 13 }),
      (seed, arch, dIn, dSae) => {
        const dir = tmp.path(`rt-${arch}`);
        const sae = randomSae(seed, arch, dIn, dSae);
        writeSaelens(dir, sae);
        assert.equal(readdirSync(dir).sort(), ['cfg.json', 'sae_weights.safetensors']);
        const cfg = JSON.parse(readFileSync(join(dir, 'cfg.json'), 'utf8'));
        const expected: Record<string, unknown> = {
          architecture: arch,
          d_in: dIn,
          d_sae: dSae,
          dtype: 'float32',
          device: 'cpu',
          apply_b_dec_to_input: sae.applyBDecToInput,
          normalize_activations: sae.normalizeActivations,
          reshape_activations: 'none',
        };
        if (arch === 'topk') Object.assign(expected, { k: sae.k, rescale_acts_by_decoder_norm: false });
        const { metadata, ...rest } = cfg;
        assert.equal(rest, expected);
        assert.is(metadata.sae_lens_version, SAE_LENS_VERSION);
        assert.ok(Number(metadata.sae_lens_version.split('.')[0]) >= 6, 'SAELens takes the non-legacy path');
        assert.is(metadata.sae_lens_training_version, SAE_LENS_VERSION);
        assert.is(metadata.hook_name, 'blocks.8.hook_resid_pre');
        assert.is(metadata.hook_head_index, null);
        assert.equal(metadata.batchtopk, { k: 32, lr: 3e-4, seed });
        const st = readSafetensors(join(dir, 'sae_weights.safetensors'));
        const shapes = Object.fromEntries([...st.tensors].map(([k, t]) => [k, t.shape]));
        assert.equal(shapes, {
          W_enc: [dIn, dSae],
          W_dec: [dSae, dIn],
          b_enc: [dSae],
          b_dec: [dIn],
          ...(arch === 'jumprelu' ? { threshold: [dSae] } : {}),
        });
        assert.equal(st.tensors.get('W_enc')!.data, sae.W_enc);
        const back = readSae(dir);
        assert.equal(back, { ...sae, metadata: { ...sae.metadata, ...metadata } });
        rmSync(dir, { recursive: true });
      },
    ),
    { numRuns: 30 },
  );
});

s('reads a legacy SAELens folder: top-level version, hook_point, activation_fn topk, F16 weights', () => {
  const dir = tmp.path('legacy-topk');
  mkdirSync(dir);
  const dIn = 4;
  const dSae = 6;
  const rng = new Rng(3);
  const h = (n: number) => f32ToF16Array(rng.fillNormal(new Float32Array(n)));
  const w = { W_enc: h(dIn * dSae), W_dec: h(dSae * dIn), b_enc: h(dSae), b_dec: h(dIn) };
  save(
    join(dir, 'sae_weights.safetensors'),
    rawSafetensors({
      b_dec: { dtype: 'F16', shape: [dIn], data: bytes(w.b_dec) },
      W_dec: { dtype: 'F16', shape: [dSae, dIn], data: bytes(w.W_dec) },
      W_enc: { dtype: 'F16', shape: [dIn, dSae], data: bytes(w.W_enc) },
      b_enc: { dtype: 'F16', shape: [dSae], data: bytes(w.b_enc) },
    }),
  );
  writeFileSync(
    join(dir, 'cfg.json'),
    JSON.stringify({
      d_in: dIn,
      d_sae: dSae,
      activation_fn_str: 'topk',
      activation_fn_kwargs: { k: 3 },
      apply_b_dec_to_input: false,
      model_name: 'pythia-70m',
      hook_point: 'blocks.3.hook_resid_post',
      hook_point_layer: 3,
      context_size: 256,
      normalize_activations: 'layer_norm',
      dtype: 'float16',
      sae_lens_version: '3.22.0',
    }),
  );
  const sae = readSae(dir);
  assert.is(sae.architecture, 'topk');
  assert.is(sae.k, 3);
  assert.is(sae.applyBDecToInput, false);
  assert.is(sae.normalizeActivations, 'layer_norm');
  assert.is(sae.metadata['hook_name'], 'blocks.3.hook_resid_post');
  assert.is(sae.metadata['model_name'], 'pythia-70m');
  assert.is(sae.metadata['sae_lens_version'], '3.22.0');
  assert.equal(sae.W_enc, Float32Array.from(w.W_enc, f16BitsToF32));
  assert.equal(sae.W_dec, Float32Array.from(w.W_dec, f16BitsToF32));
  assert.equal(sae.b_dec, Float32Array.from(w.b_dec, f16BitsToF32));
});

s('reads a jumprelu folder with BF16 weights and log_threshold, v6 cfg with the version in metadata', () => {
  const dir = tmp.path('jr-bf16');
  mkdirSync(dir);
  const logT = f32ToBf16Array(new Float32Array([-1, 0, 0.5]));
  const z = (n: number) => bytes(new Uint16Array(n));
  save(
    join(dir, 'sae_weights.safetensors'),
    rawSafetensors({
      W_enc: { dtype: 'BF16', shape: [2, 3], data: z(6) },
      W_dec: { dtype: 'BF16', shape: [3, 2], data: z(6) },
      b_enc: { dtype: 'BF16', shape: [3], data: z(3) },
      b_dec: { dtype: 'BF16', shape: [2], data: z(2) },
      log_threshold: { dtype: 'BF16', shape: [3], data: bytes(logT) },
    }),
  );
  writeFileSync(
    join(dir, 'cfg.json'),
    JSON.stringify({
      architecture: 'jumprelu',
      d_in: 2,
      d_sae: 3,
      metadata: { sae_lens_version: '6.5.1', hook_name: 'h' },
    }),
  );
  const sae = readSae(dir);
  assert.is(sae.architecture, 'jumprelu');
  assert.equal(
    sae.threshold,
    Float32Array.from(logT, (b) => Math.exp(bf16BitsToF32(b))),
  );
  assert.is(sae.applyBDecToInput, true, 'SAELens default');
  assert.is(sae.normalizeActivations, 'none');
});

s('bad folders and exports give clear errors', () => {
  const good = randomSae(1, 'jumprelu', 3, 5);
  const dir = tmp.path('bad');
  writeSaelens(dir, good);
  const cfgPath = join(dir, 'cfg.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  const withCfg = (patch: Record<string, unknown>, ...frags: string[]) => {
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, ...patch }));
    throwsWith(() => readSae(dir), ...frags);
  };
  withCfg({ architecture: 'gated' }, 'cfg.json', '"gated" is not supported');
  withCfg({ d_sae: 4 }, 'sae_weights.safetensors', 'W_enc has shape [3, 5], expected [3, 4]');
  withCfg({ d_in: 5, d_sae: 3 }, 'W_enc has shape [3, 5], expected [5, 3]', 'transposed');
  withCfg({ normalize_activations: 'whiten' }, 'normalize_activations "whiten"');
  withCfg({ architecture: 'topk', k: 0 }, 'topk needs an integer k');
  withCfg({ architecture: 'topk', k: 2, rescale_acts_by_decoder_norm: true }, 'rescale_acts_by_decoder_norm');
  writeFileSync(cfgPath, '{"d_in": ');
  throwsWith(() => readSae(dir), cfgPath, 'not valid JSON');
  rmSync(cfgPath);
  throwsWith(() => readSae(dir), cfgPath, 'cannot read');

  const noThr = tmp.path('no-thr');
  writeSaelens(noThr, { ...good, architecture: 'standard' });
  const c2 = JSON.parse(readFileSync(join(noThr, 'cfg.json'), 'utf8'));
  writeFileSync(join(noThr, 'cfg.json'), JSON.stringify({ ...c2, architecture: 'jumprelu' }));
  throwsWith(() => readSae(noThr), 'neither a threshold nor a log_threshold');
  rmSync(join(noThr, 'sae_weights.safetensors'));
  throwsWith(() => readSae(noThr), 'missing weights file');

  throwsWith(
    () => writeSaelens(tmp.path('w1'), { ...good, W_dec: new Float32Array(14) }),
    'W_dec has 14 values, expected [5, 3]',
  );
  throwsWith(() => writeSaelens(tmp.path('w2'), { ...good, threshold: undefined }), 'missing threshold');
  throwsWith(() => writeSaelens(tmp.path('w3'), { ...good, architecture: 'topk', k: 6 }), 'k in [1, d_sae]');
});

s.run();

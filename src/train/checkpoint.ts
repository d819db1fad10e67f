// Checkpoints: one safetensors file holding every tensor of the trainer state (parameters, Adam moments,
// dead-latent counters) and, as JSON in its metadata, the rest (step, threshold sums, normalisation factor,
// the data loader's position, the run's configuration). Written atomically (temporary file, then rename),
// so an interrupted write leaves the previous checkpoint intact.
import { readSafetensors, writeSafetensors, type F32Tensor } from '../data/safetensors.js';
import { DataError } from '../data/errors.js';
import { PARAM_NAMES, type HostParams } from '../sae/params.js';
import type { TrainerState } from './trainer.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const FORMAT = 'batchtopk-checkpoint-1';

export interface Checkpoint {
  trainer: TrainerState;
  /** JSON-able extras: the loader state, the configuration, progress counters. */
  extra: Record<string, unknown>;
}

export function saveCheckpoint(file: string, ck: Checkpoint): void {
  const t = ck.trainer;
  const tensors: Record<string, F32Tensor> = {};
  for (const n of PARAM_NAMES) {
    const v = t.params[n];
    if (v) tensors[`param.${n}`] = { shape: [v.length], data: v };
  }
  t.adam.m.forEach((m, i) => (tensors[`adam.m.${i}`] = { shape: [m.length], data: m }));
  t.adam.v.forEach((v, i) => (tensors[`adam.v.${i}`] = { shape: [v.length], data: v }));
  tensors['stepsSinceFired'] = { shape: [t.stepsSinceFired.length], data: t.stepsSinceFired };
  const meta = {
    format: FORMAT,
    step: t.step,
    adamStep: t.adam.step,
    moments: t.adam.m.length,
    threshold: t.threshold,
    normScale: t.normScale,
    extra: ck.extra,
  };
  writeSafetensors(file, tensors, { batchtopk: JSON.stringify(meta) });
}

export function loadCheckpoint(file: string): Checkpoint {
  const st = readSafetensors(file);
  const raw = st.metadata?.['batchtopk'];
  if (!raw) throw new DataError(`${file}: not a batchtopk checkpoint (no metadata)`);
  const meta = JSON.parse(raw) as {
    format: string;
    step: number;
    adamStep: number;
    moments: number;
    threshold: TrainerState['threshold'];
    normScale: number;
    extra: Record<string, unknown>;
  };
  if (meta.format !== FORMAT) throw new DataError(`${file}: unknown checkpoint format '${meta.format}'`);
  const get = (name: string): Float32Array => {
    const t = st.tensors.get(name);
    if (!t) throw new DataError(`${file}: checkpoint is missing tensor '${name}'`);
    return t.data;
  };
  const params = { W_enc: get('param.W_enc'), b_enc: get('param.b_enc'), W_dec: get('param.W_dec'), b_dec: get('param.b_dec') } as HostParams;
  if (st.tensors.has('param.theta')) params.theta = get('param.theta');
  const idx = [...Array(meta.moments).keys()];
  return {
    trainer: {
      step: meta.step,
      params,
      adam: { step: meta.adamStep, m: idx.map((i) => get(`adam.m.${i}`)), v: idx.map((i) => get(`adam.v.${i}`)) },
      threshold: meta.threshold,
      stepsSinceFired: get('stepsSinceFired'),
      normScale: meta.normScale,
    },
    extra: meta.extra,
  };
}

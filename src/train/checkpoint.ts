// Checkpoints: one safetensors file holding every tensor of the trainer state (parameters, Adam moments,
// dead-latent counters) and, as JSON in its metadata, the rest (step, threshold sums, normalisation factor,
// the data loader's position, the run's configuration). Written atomically (temporary file, then rename),
// so an interrupted write leaves the previous checkpoint intact.
//
// Trust. A resume must never continue from a state that is not the one training wrote, or from one no
// training can continue: the metadata carries a SHA-256 of everything else in the file (the metadata JSON
// and every tensor's name, shape and bytes), checked on load, so flipped bytes are refused by name; and a
// state holding NaN or infinity is refused both on save (the good checkpoint already on disk is kept) and on
// load.
import { createHash } from 'node:crypto';
import { readSafetensors, writeSafetensors, type F32Tensor } from '../data/safetensors.js';
import { DataError } from '../data/errors.js';
import { PARAM_NAMES, type HostParams } from '../sae/params.js';
import type { TrainerState } from './trainer.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
/** Format 2 adds the checksum; format 1 files (written before it) still load, unchecked. */
const FORMAT = 'batchtopk-checkpoint-2';
const FORMAT_UNCHECKED = 'batchtopk-checkpoint-1';
const META_KEY = 'batchtopk';
const SUM_KEY = 'batchtopk_sha256';

export interface Checkpoint {
  trainer: TrainerState;
  /** JSON-able extras: the loader state, the configuration, progress counters. */
  extra: Record<string, unknown>;
}

/** The tensors of a trainer state, by checkpoint name. */
function stateTensors(t: TrainerState): Record<string, F32Tensor> {
  const tensors: Record<string, F32Tensor> = {};
  for (const n of PARAM_NAMES) {
    const v = t.params[n];
    if (v) tensors[`param.${n}`] = { shape: [v.length], data: v };
  }
  t.adam.m.forEach((m, i) => (tensors[`adam.m.${i}`] = { shape: [m.length], data: m }));
  t.adam.v.forEach((v, i) => (tensors[`adam.v.${i}`] = { shape: [v.length], data: v }));
  tensors['stepsSinceFired'] = { shape: [t.stepsSinceFired.length], data: t.stepsSinceFired };
  return tensors;
}

/**
 * SHA-256 of the metadata JSON and of every tensor (name, shape, bytes) in name order: what the file must
 * hold for the state to be the one written. Hex.
 */
export function checkpointDigest(meta: string, tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): string {
  const h = createHash('sha256');
  h.update(`${meta}\n`);
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name)!;
    h.update(`${name}[${t.shape.join(',')}]\n`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

/** Count of NaN and infinite values in `a`. */
function nonFinite(a: Float32Array): number {
  // x * 0 is 0 for every finite x and NaN otherwise, so one branch-free sum answers the common case (about
  // twice as fast as counting; bench/RESULTS.md), and only a state that has a bad value is counted.
  let z = 0;
  for (let i = 0; i < a.length; i++) z += a[i]! * 0;
  if (z === 0) return 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) n++;
  return n;
}

/** The first tensor of the state holding non-finite values, described; null when every value is finite. */
function nonFiniteTensor(tensors: Record<string, F32Tensor>, scalars: Record<string, number>): string | null {
  for (const name of Object.keys(tensors).sort()) {
    const n = nonFinite(tensors[name]!.data);
    if (n) return `${name} holds ${n} NaN or infinite value${n === 1 ? '' : 's'} of ${tensors[name]!.data.length}`;
  }
  for (const [name, v] of Object.entries(scalars)) if (!Number.isFinite(v)) return `${name} is ${v}`;
  return null;
}

/** Numbers of the trainer state outside the tensors that must be finite. */
function stateScalars(t: TrainerState): Record<string, number> {
  const s: Record<string, number> = { normScale: t.normScale };
  if ('ema' in t.threshold) Object.assign(s, { 'threshold.ema': t.threshold.ema, 'threshold.calibrated': t.threshold.calibrated });
  return s;
}

/**
 * Write `ck` to `file` atomically with its checksum. A state holding NaN or infinity is refused with an error
 * that says so, and `file` is left as it was (the last good checkpoint stays).
 */
export function saveCheckpoint(file: string, ck: Checkpoint): void {
  const t = ck.trainer;
  const tensors = stateTensors(t);
  const bad = nonFiniteTensor(tensors, stateScalars(t));
  if (bad) {
    throw new DataError(
      `${file}: not written: the training state at step ${t.step} is not finite (${bad}); training diverged, likely ` +
        `because the learning rate is too high (lower --lr, or set --clip-grad-norm). The checkpoint already there, if any, is kept`,
    );
  }
  const meta = JSON.stringify({
    format: FORMAT,
    step: t.step,
    adamStep: t.adam.step,
    moments: t.adam.m.length,
    threshold: t.threshold,
    normScale: t.normScale,
    extra: ck.extra,
  });
  const sum = checkpointDigest(meta, new Map(Object.entries(tensors)));
  writeSafetensors(file, tensors, { [META_KEY]: meta, [SUM_KEY]: sum });
}

const damaged = (file: string, what: string) =>
  new DataError(`${file}: checkpoint is damaged (${what}); it cannot be resumed: remove it (or the whole run folder) and start the run over`);

export function loadCheckpoint(file: string): Checkpoint {
  let st: ReturnType<typeof readSafetensors>;
  try {
    st = readSafetensors(file);
  } catch (err) {
    // A missing or unreadable file keeps its own message; anything the parser rejects is a damaged file.
    if (!(err instanceof DataError) || err.message.startsWith(`${file}: cannot open`)) throw err;
    throw damaged(file, err.message.startsWith(`${file}: `) ? err.message.slice(file.length + 2) : err.message);
  }
  const raw = st.metadata?.[META_KEY];
  if (!raw) throw new DataError(`${file}: not a batchtopk checkpoint (no metadata)`);
  let meta: {
    format: string;
    step: number;
    adamStep: number;
    moments: number;
    threshold: TrainerState['threshold'];
    normScale: number;
    extra: Record<string, unknown>;
  };
  try {
    meta = JSON.parse(raw);
  } catch (err) {
    throw damaged(file, `its metadata is not valid JSON: ${(err as Error).message}`);
  }
  if (meta?.format !== FORMAT && meta?.format !== FORMAT_UNCHECKED) throw new DataError(`${file}: unknown checkpoint format '${meta?.format}'`);
  if (meta.format === FORMAT) {
    const sum = st.metadata[SUM_KEY];
    if (!sum) throw damaged(file, 'its checksum is missing');
    for (const [name, t] of st.tensors) if (t.dtype !== 'F32') throw damaged(file, `tensor '${name}' is ${t.dtype}, a checkpoint holds F32 only`);
    if (checkpointDigest(raw, st.tensors) !== sum) throw damaged(file, 'its contents do not match the checksum written with it');
  }
  const get = (name: string): Float32Array => {
    const t = st.tensors.get(name);
    if (!t) throw new DataError(`${file}: checkpoint is missing tensor '${name}'`);
    return t.data;
  };
  const params = { W_enc: get('param.W_enc'), b_enc: get('param.b_enc'), W_dec: get('param.W_dec'), b_dec: get('param.b_dec') } as HostParams;
  if (st.tensors.has('param.theta')) params.theta = get('param.theta');
  const idx = [...Array(meta.moments).keys()];
  const ck: Checkpoint = {
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
  const bad = nonFiniteTensor(stateTensors(ck.trainer), stateScalars(ck.trainer));
  if (bad) {
    throw new DataError(
      `${file}: checkpoint holds a state that is not finite (${bad}) and cannot be resumed; remove it (or the whole ` +
        `run folder) and start the run over, with a lower --lr if the run diverged`,
    );
  }
  return ck;
}

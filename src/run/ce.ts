// `batchtopk eval <sae-dir> --model <path> --text <file>`: CE degradation of a saved SAE spliced into the
// language model at its hook (model/ce.ts), with the SAE's inference encoder (theta for BatchTopK; stored
// thresholds for SAELens JumpReLU files).
import { noGrad } from '../autodiff/tape.js';
import type { Backend, Storage } from '../backend/backend.js';
import { backendLabel } from '../backend/open.js';
import type { EvalModel } from '../eval.js';
import { ceDegradation, type CeResult, type Reconstructor } from '../model/ce.js';
import { loadModel } from '../model/load.js';
import { formatTokenizeProgress, readDocuments, tokenizeDocuments, type TextEncoding } from '../model/text.js';
import { Transformer } from '../model/transformer.js';
import * as o from '../ops.js';
import { reconstructInference } from '../sae/inference.js';
import { normalizeInput } from '../sae/normalize.js';
import { Tensor, tidy, zeros } from '../tensor.js';
import { resolveBackend, type BackendOrOpen } from './backend.js';
import { readSavedSae, withUploadedSae } from './saved_sae.js';
import { OPTIONS } from './options.js';
import { resolveOptions, type Schema } from './schema.js';

export interface CeOptions {
  /** The SAELens folder (the command's argument). */
  sae: string;
  model: string;
  tokenizer?: string;
  text: string;
  encoding: TextEncoding;
  /** Defaults to the layer of the SAE's hook_name (blocks.<n>.hook_resid_pre). */
  layer?: number;
  seqLen?: number;
  /** Score at most this many documents. */
  maxDocs?: number;
  batchRows: number;
  spliceBos: boolean;
  quiet: boolean;
}

export const CE_SCHEMA: Schema<CeOptions> = {
  sae: OPTIONS.sae,
  model: { ...OPTIONS.model, help: `CE degradation: splice the SAE into this language model. ${OPTIONS.model.help}` },
  tokenizer: OPTIONS.tokenizer,
  text: { ...OPTIONS.text, help: `CE degradation: ${OPTIONS.text.help}` },
  encoding: OPTIONS.encoding,
  layer: { kind: 'int', min: 0, arg: 'n', help: "CE degradation: block whose input is replaced (default: the SAE's hook_name)" },
  seqLen: { kind: 'int', min: 2, arg: 'n', help: "CE degradation: tokens per document, BOS included (default: the SAE's context_size)" },
  maxDocs: { kind: 'int', min: 1, arg: 'n', help: 'CE degradation: score at most this many documents' },
  batchRows: { ...OPTIONS.batchRows, help: `CE degradation: ${OPTIONS.batchRows.help}` },
  spliceBos: { kind: 'boolean', default: false, help: 'CE degradation: replace the BOS rows too (as SAELens; default: keep them clean)' },
  quiet: OPTIONS.quiet,
};

export interface CeSummary extends CeResult {
  sae: string;
  model: string;
  architecture: string;
  backend: string;
  documents: number;
}

/** The SAE's inference reconstruction as a Reconstructor (the same encoder as `eval --data`). */
export function saeReconstructor(be: Backend, model: EvalModel): Reconstructor {
  return {
    async reconstruct(x: Storage, rows: number) {
      const d = model.cfg.dIn;
      const out = noGrad(() =>
        tidy(() => {
          const xt = zeros(be, [rows, d]);
          be.copy(xt.storage, x);
          const nx = normalizeInput(xt, model.normalize, model.normScale);
          const { f, xhat } = reconstructInference(nx.x, model.params, model.cfg, model.theta);
          return { xhat: nx.undo(xhat).keep(), l0: o.sumAxis(o.step(f), 1).keep() };
        }),
      );
      const l0 = (await out.l0.read()) as Float32Array;
      out.l0.free();
      // Hand the reconstruction's storage to the caller (it frees it): copy out of the tensor.
      const xhat = be.alloc(rows * d, 'f32');
      be.copy(xhat, (out.xhat as Tensor).storage);
      out.xhat.free();
      return { xhat, l0 };
    },
  };
}

export function layerOfHook(hook: unknown): number | undefined {
  const m = typeof hook === 'string' ? /^blocks\.(\d+)\.hook_resid_pre$/.exec(hook) : null;
  return m ? Number(m[1]) : undefined;
}

export async function runCeEval(given: Partial<CeOptions> & Pick<CeOptions, 'sae' | 'model' | 'text'>, backendOrOpen: BackendOrOpen): Promise<CeSummary> {
  const opts = resolveOptions(CE_SCHEMA, given);
  const sae = readSavedSae(opts.sae);
  const { exp } = sae;
  const lm = loadModel(opts.model, { tokenizer: opts.tokenizer });
  const c = lm.weights.config;
  if (exp.dIn !== c.dim) throw new Error(`the SAE in ${opts.sae} has d_in ${exp.dIn} but ${lm.name}'s residual stream has d ${c.dim}`);
  const hook = exp.metadata['hook_name'];
  const layer = opts.layer ?? layerOfHook(hook);
  if (layer === undefined) {
    throw new Error(`${opts.sae}: cfg.json has no blocks.<n>.hook_resid_pre hook_name (${JSON.stringify(hook ?? null)}); pass --layer <n>`);
  }
  const seqLen = opts.seqLen ?? Math.min(c.maxSeqLen, Number(exp.metadata['context_size']) || c.maxSeqLen);
  let texts = readDocuments(opts.text, { encoding: opts.encoding });
  if (opts.maxDocs !== undefined) texts = texts.slice(0, opts.maxDocs);
  const { ids } = tokenizeDocuments(texts, lm.tokenizer, seqLen, { progress: opts.quiet ? null : (p) => console.error(formatTokenizeProgress(p)) });
  const be = await resolveBackend(backendOrOpen, { dIn: exp.dIn, dSae: exp.dSae });
  const model = new Transformer(be, lm.weights);
  try {
    const r = await withUploadedSae(be, sae, (m) => ceDegradation(model, ids, saeReconstructor(be, m), {
      layer,
      batchRows: opts.batchRows,
      spliceBos: opts.spliceBos,
      progress: opts.quiet ? null : (l) => console.error(l),
    }));
    return { sae: opts.sae, model: lm.name, architecture: exp.architecture, backend: backendLabel(be), documents: ids.length, ...r };
  } finally {
    model.dispose();
  }
}

// A saved SAE (a SAELens folder, ours or SAELens-written) as the commands use it: read and converted once,
// then uploaded to the command's backend for as long as the work takes, and freed however it ends.
import type { Backend } from '../backend/backend.js';
import type { EvalModel } from '../eval.js';
import { readSae, type SaeExport } from '../io/saelens.js';
import { fromSaeExport } from '../sae/export.js';
import { paramList, uploadParams, type HostParams } from '../sae/params.js';

export interface SavedSae {
  /** The folder as read. */
  exp: SaeExport;
  /** The model in our terms, without its parameters. */
  model: Omit<EvalModel, 'params'>;
  /** Its parameters on the host. */
  host: HostParams;
  /** BatchTopK: the inference threshold; 0 otherwise. */
  theta: number;
}

export function readSavedSae(dir: string): SavedSae {
  const exp = readSae(dir);
  const { model, params: host, theta } = fromSaeExport(exp);
  return { exp, model, host, theta };
}

/** Run `f` with the SAE's parameters on `be`; they are freed when `f` ends. */
export async function withUploadedSae<T>(be: Backend, sae: SavedSae, f: (model: EvalModel) => Promise<T>): Promise<T> {
  const params = uploadParams(be, sae.model.cfg, sae.host);
  try {
    return await f({ ...sae.model, params });
  } finally {
    for (const p of paramList(params)) p.free();
  }
}

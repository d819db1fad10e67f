// Where a training set of activations came from, for the SAELens cfg.json metadata (model_name, hook_name,
// context_size, prepend_bos, dataset_path): read from the harvest manifest.json beside the data (a shard
// folder, or the folder of a single shard), overridden by explicit --model-name / --hook-name. Neuronpedia's
// uploader refuses a folder whose model_name or hook_name is null.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { HarvestManifest } from './harvest.js';

export function activationProvenance(data: string | undefined, given: { modelName?: string; hookName?: string }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (data !== undefined) {
    const isDir = statSync(data, { throwIfNoEntry: false })?.isDirectory() ?? false;
    const file = join(isDir ? data : dirname(data), 'manifest.json');
    let m: Partial<HarvestManifest> | null = null;
    if (existsSync(file)) {
      try {
        m = JSON.parse(readFileSync(file, 'utf8')) as Partial<HarvestManifest>;
      } catch {
        m = null; // not ours or unreadable: provenance is then only what the flags say
      }
    }
    // A single file counts only when the manifest lists it.
    if (m && m.format === 'batchtopk-harvest-1' && (isDir || (m.shards ?? []).includes(basename(data)))) {
      out['model_name'] = m.model;
      out['hook_name'] = m.hook_name;
      out['context_size'] = m.context_size;
      out['prepend_bos'] = true;
      out['dataset_path'] = m.text;
    }
    out['activations_path'] = data;
  }
  if (given.modelName !== undefined) out['model_name'] = given.modelName;
  if (given.hookName !== undefined) out['hook_name'] = given.hookName;
  return out;
}

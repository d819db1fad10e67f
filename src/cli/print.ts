// What each command prints for a person (the last stdout line is one JSON object instead with --json).
import type { CalibrateSummary } from '../run/calibrate.js';
import type { CeSummary } from '../run/ce.js';
import type { EvalSummary } from '../run/eval.js';
import type { HarvestManifest } from '../model/harvest.js';
import type { SweepResult } from '../run/sweep.js';
import type { TrainSummary } from '../io/run_folder.js';
import { deadFrequencyFloor } from '../metrics.js';

/** Last line of stdout with --json: one JSON object. */
export function emit(json: boolean, obj: object, human: () => string): void {
  process.stdout.write((json ? JSON.stringify(obj) : human()) + '\n');
}

/** The dead fraction with the evaluation size it rests on (metrics.ts deadFrequencyFloor). */
function deadText(fraction: number, tokens: number): string {
  return `dead ${(100 * fraction).toFixed(1)}% (no activation in ${tokens} tokens: rarer than 1 in ${Math.round(1 / deadFrequencyFloor(tokens))} may count)`;
}

export function trainText(s: TrainSummary, page: string): string {
  return [
    `${s.finished ? 'trained' : 'stopped at step ' + s.steps + ' (resumable)'}: ${s.arch} d_in=${s.dIn} d_sae=${s.dictSize} k=${s.k}, ${s.steps} steps, ${s.tokens} tokens on ${s.backend} (${Math.round(s.tokensPerSecond)} tok/s)`,
    `held-out (${s.evalTokens} tokens${s.threshold !== null ? ', under theta' : ''}): nmse ${s.nmse.toFixed(4)}  fvu ${s.fvu.toFixed(4)}  L0 ${s.l0.toFixed(2)} (k ${s.k})  ${deadText(s.deadFraction, s.evalTokens)}`,
    ...(s.threshold !== null
      ? [
          `theta ${s.threshold.toPrecision(4)} calibrated on ${s.calibrationBatches} training batches with the final weights (running estimate ${s.thresholdRunning!.toPrecision(4)})` +
            (s.batchTopK ? `; batch top-k on the same rows: nmse ${s.batchTopK.nmse.toFixed(4)}  L0 ${s.batchTopK.l0.toFixed(2)}` : ''),
        ]
      : []),
    ...(s.featureRecovery
      ? [`feature recovery: mean max cosine ${s.featureRecovery.meanMaxCos.toFixed(3)}, ${(100 * s.featureRecovery.fracAbove09).toFixed(0)}% of true features above 0.9`]
      : []),
    `output: ${s.out} (report: ${page})`,
  ].join('\n');
}

export function sweepText(r: SweepResult): string {
  return [
    ...r.runs.map((x) => `${x.name.padEnd(28)} ${x.status.padEnd(8)} nmse ${x.nmse.toFixed(4)}  L0 ${x.l0.toFixed(2)}${x.l0Coeff !== undefined ? `  l0-coeff ${x.l0Coeff.toPrecision(4)}` : ''}`),
    `results: ${r.report.csv}`,
    `report: ${r.report.html}`,
  ].join('\n');
}

export function ceText(r: CeSummary): string {
  return [
    `${r.architecture} SAE at ${r.hook_name} of ${r.model}, ${r.predictions} predictions from ${r.documents} documents (${r.backend})`,
    `CE clean ${r.ce_clean.toFixed(4)}  spliced ${r.ce_sae.toFixed(4)}  zero-ablated ${r.ce_zero.toFixed(4)}  ce_loss_score ${r.ce_loss_score.toFixed(4)}`,
    `KL spliced ${r.kl_sae.toFixed(4)}  zero-ablated ${r.kl_zero.toFixed(4)}  kl_div_score ${r.kl_div_score.toFixed(4)}`,
    `same tokens: nmse ${r.nmse.toFixed(4)}  L0 ${r.l0.toFixed(2)}` + (r.splice_bos ? '' : '  (BOS rows not spliced)'),
  ].join('\n');
}

export function evalText(s: EvalSummary): string {
  return [
    `${s.architecture}${s.batchTopK ? ` (BatchTopK, k=${s.batchTopK.k})` : ''} d_in=${s.dIn} d_sae=${s.dictSize} on ${s.tokens} tokens (${s.backend})`,
    (s.batchTopK ? `inference, theta ${s.threshold!.toPrecision(4)}: ` : '') +
      `nmse ${s.nmse.toFixed(4)}  fvu ${s.fvu.toFixed(4)}  L0 ${s.l0.toFixed(2)}  ${deadText(s.deadFraction, s.tokens)}` +
      (s.threshold !== null && !s.batchTopK ? `  theta ${s.threshold.toPrecision(4)}` : ''),
    `explained_variance ${s.explained_variance.toFixed(4)}  cossim ${s.cossim.toFixed(4)}  l2_ratio ${s.l2_ratio.toFixed(4)}  frac_alive ${s.frac_alive.toFixed(3)}  freq_over_1_percent ${s.freq_over_1_percent.toFixed(3)}  freq_over_10_percent ${s.freq_over_10_percent.toFixed(3)}`,
    ...(s.batchTopK
      ? [
          `batch top-k (batches of ${s.batchTopK.batchSize} rows, as the paper's code): nmse ${s.batchTopK.nmse.toFixed(4)}  fvu ${s.batchTopK.fvu.toFixed(4)}  L0 ${s.batchTopK.l0.toFixed(2)}  dead ${(100 * s.batchTopK.deadFraction).toFixed(1)}%`,
        ]
      : []),
    ...(s.prefixNmse ? [`Matryoshka prefixes: nmse ${s.prefixNmse.map((v) => v.toFixed(4)).join(', ')} (each prefix alone, narrowest first)`] : []),
    `L0 histogram (active latents: samples): ${s.l0Histogram.flatMap((c, i) => (c ? [`${i}:${c}`] : [])).join(' ')}`,
  ].join('\n');
}

export function harvestText(m: HarvestManifest, out: string): string {
  return `${m.complete ? 'harvested' : 'stopped (resumable)'}: ${m.rows} rows of ${m.hook_name} (d ${m.d_model}, ${m.dtype}) from ${m.model} in ${m.shards.length} shards: ${out}`;
}

export function calibrateText(s: CalibrateSummary): string {
  return [
    `theta ${s.theta.toPrecision(5)} (was ${s.previousTheta.toPrecision(5)}): mean cut of ${s.batches} batches of ${s.batchSize} rows (k=${s.k}, batch cuts sd ${s.batchSd.toPrecision(3)}) on ${s.backend}`,
    s.written ? `rewrote ${s.sae}` : `dry run: ${s.sae} unchanged`,
  ].join('\n');
}

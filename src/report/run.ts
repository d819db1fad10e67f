// The one-run report `train` writes beside its outputs: index.html with the summary, the loss and L0
// curves from metrics.jsonl and the held-out per-sample L0 histogram (the paper's Figure 3 for one run).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { readMetrics, readRun, type RunData } from '../io/run_folder.js';
import { figures, page, table, type Cell } from './html.js';
import { colorFor, histogram, linePlot } from './svg.js';

export const REPORT_FILE = 'index.html';
export const PLOTS_DIR = 'plots';

/** The per-sample L0 histogram of one run; k (or the target L0) marked. */
export function l0HistogramSvg(run: RunData): string {
  const s = run.summary;
  const target = run.meta?.k ?? s.k;
  return histogram({
    title: `Active latents per sample: ${run.name}`,
    xLabel: 'active latents (L0) of a sample',
    yLabel: 'fraction of held-out samples',
    series: [{ name: s.arch, color: colorFor(s.arch), counts: s.l0Histogram ?? [] }],
    vlines: [
      { x: target, label: s.arch === 'jumprelu' ? `target ${target}` : `k = ${target}` },
      ...(Math.abs(s.l0 - target) > 0.05 * target ? [{ x: s.l0, label: `mean ${s.l0.toFixed(1)}` }] : []),
    ],
  });
}

/** Write <dir>/index.html and <dir>/plots/*.svg; returns the page's path. */
export function writeRunReport(dir: string): string {
  const run = readRun(dir);
  if (!run) throw new Error(`${dir}: no summary.json (not a finished or stopped run)`);
  const s = run.summary;
  const m = readMetrics(dir);
  fs.mkdirSync(path.join(dir, PLOTS_DIR), { recursive: true });
  const plots: { file: string; caption: string; svg: string }[] = [];
  if (m.length > 0) {
    const c = colorFor(s.arch);
    plots.push({
      file: 'loss.svg',
      caption: 'training loss and reconstruction MSE (means over each logging interval)',
      svg: linePlot({
        title: `Training loss: ${run.name}`,
        x: { label: 'training tokens' },
        y: { label: 'loss', log: true },
        series: [
          { name: 'loss', color: c, points: m.map((l) => [l.tokens, l.loss]) },
          { name: 'mse', color: '#7f7f7f', points: m.map((l) => [l.tokens, l.mse]), dashed: true },
        ],
      }),
    });
    const target = run.meta?.k ?? s.k;
    plots.push({
      file: 'l0.svg',
      caption: 'mean active latents per sample during training',
      svg: linePlot({
        title: `L0 during training: ${run.name}`,
        x: { label: 'training tokens' },
        y: { label: 'L0', include: [0] },
        series: [{ name: 'L0', color: c, points: m.map((l) => [l.tokens, l.l0]) }],
        hlines: s.arch === 'relu' ? [] : [{ y: target, label: s.arch === 'jumprelu' ? `target ${target}` : `k = ${target}` }],
      }),
    });
  }
  if (s.l0Histogram?.length) plots.push({ file: 'l0_hist.svg', caption: 'held-out per-sample L0 histogram', svg: l0HistogramSvg(run) });
  for (const p of plots) writeFileAtomic(path.join(dir, PLOTS_DIR, p.file), p.svg);
  const rows: [string, Cell][] = [
    ['architecture', s.arch],
    ['d_in', s.dIn],
    ['dictionary size', s.dictSize],
    [s.arch === 'jumprelu' ? 'target L0' : 'k', run.meta?.k ?? s.k],
    ...(run.meta?.l0Coeff !== undefined ? ([['L0 coefficient', run.meta.l0Coeff]] as [string, Cell][]) : []),
    ['steps', s.steps],
    ['tokens', s.tokens],
    ['finished', s.finished ? 'yes' : 'no (resumable)'],
    ['backend', s.backend],
    ['tokens/s', Math.round(s.tokensPerSecond)],
    ['held-out tokens', s.evalTokens],
    ['NMSE', s.nmse],
    ['FVU', s.fvu],
    ['L0', s.l0],
    ['dead fraction', s.deadFraction],
    ['θ (BatchTopK inference threshold)', s.threshold],
    ...(run.ce ? (Object.entries(run.ce) as [string, Cell][]) : []),
  ];
  const html = page(`SAE run ${run.name}`, [
    table(['', 'value'], rows),
    figures(plots.map((p) => ({ file: `${PLOTS_DIR}/${p.file}`, caption: p.caption }))),
  ]);
  const file = path.join(dir, REPORT_FILE);
  writeFileAtomic(file, html);
  return file;
}

// The sweep report: results.csv (one row per run), the paper's comparison plots as SVG (NMSE against
// dictionary size at each k, NMSE against k at each dictionary size, CE degradation likewise when the runs
// have CE figures, the per-sample L0 histogram of every BatchTopK run) and index.html showing them.
import { CORE_METRICS } from '../metrics.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../data/errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readRun, type RunData } from '../io/run_folder.js';
import { figures, page, table, type Cell } from './html.js';
import { l0HistogramSvg, PLOTS_DIR, REPORT_FILE } from './run.js';
import { colorFor, linePlot } from './svg.js';

const ARCH_ORDER = ['batchtopk', 'matryoshka', 'topk', 'jumprelu', 'relu'];

/**
 * Run folders directly inside `dir` (those holding summary.json), in a stable order. A folder whose files
 * cannot be read (a damaged summary.json, run.json or ce.json) is left out and `warn` told why, naming the
 * file, so one bad run does not keep the others from their report.
 */
export function collectRuns(dir: string, warn: (msg: string) => void = () => {}): RunData[] {
  const runs: RunData[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const sub = path.join(dir, name);
    if (!fs.statSync(sub).isDirectory()) continue;
    try {
      const r = readRun(sub);
      if (r) runs.push(r);
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      warn(`skipped ${sub}: ${err.message}`);
    }
  }
  const rank = (a: string) => (ARCH_ORDER.indexOf(a) + 1 || 99);
  return runs.sort((a, b) => rank(a.summary.arch) - rank(b.summary.arch) || kOf(a) - kOf(b) || a.summary.dictSize - b.summary.dictSize || a.name.localeCompare(b.name));
}

/** k for TopK/BatchTopK, the target L0 for JumpReLU (the sweep's grouping key). */
const kOf = (r: RunData) => r.meta?.k ?? r.summary.k;

const CE_KEYS = ['ceClean', 'ceSae', 'ceZero', 'ceDegradation', 'ceRecovered'] as const;

export interface Column {
  name: string;
  get: (r: RunData) => Cell;
}

export function columns(runs: RunData[]): Column[] {
  const cols: Column[] = [
    { name: 'name', get: (r) => r.name },
    { name: 'arch', get: (r) => r.summary.arch },
    { name: 'k', get: kOf },
    { name: 'dict_size', get: (r) => r.summary.dictSize },
    { name: 'steps', get: (r) => r.summary.steps },
    { name: 'tokens', get: (r) => r.summary.tokens },
    { name: 'finished', get: (r) => (r.summary.finished ? 1 : 0) },
    { name: 'nmse', get: (r) => r.summary.nmse },
    { name: 'fvu', get: (r) => r.summary.fvu },
    { name: 'l0', get: (r) => r.summary.l0 },
    { name: 'dead_fraction', get: (r) => r.summary.deadFraction },
    ...CORE_METRICS.map((k): Column => ({ name: k, get: (r) => r.summary[k] })),
    { name: 'theta', get: (r) => r.summary.threshold },
  ];
  if (runs.some((r) => r.summary.arch === 'jumprelu')) cols.push({ name: 'l0_coeff', get: (r) => (r.summary.arch === 'jumprelu' ? r.meta?.l0Coeff : undefined) });
  for (const key of CE_KEYS) {
    if (runs.some((r) => r.ce?.[key] !== undefined)) cols.push({ name: key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()), get: (r) => r.ce?.[key] });
  }
  cols.push({ name: 'tokens_per_s', get: (r) => r.summary.tokensPerSecond });
  return cols;
}

function csvCell(v: Cell): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = v ?? '';
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function resultsCsv(runs: RunData[]): string {
  const cols = columns(runs);
  return [cols.map((c) => c.name).join(','), ...runs.map((r) => cols.map((c) => csvCell(c.get(r))).join(','))].join('\n') + '\n';
}

interface Plot {
  file: string;
  caption: string;
  svg: string;
}

const uniq = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);

/** One plot per value of `fixed`, x = `vary`, one series per architecture. */
function comparison(runs: RunData[], metric: { key: string; label: string; get: (r: RunData) => number | undefined; log: boolean }, by: 'k' | 'dictSize'): Plot[] {
  const fixedOf = by === 'k' ? kOf : (r: RunData) => r.summary.dictSize;
  const varyOf = by === 'k' ? (r: RunData) => r.summary.dictSize : kOf;
  const withMetric = runs.filter((r) => Number.isFinite(metric.get(r)));
  const plots: Plot[] = [];
  for (const fixed of uniq(withMetric.map(fixedOf))) {
    const group = withMetric.filter((r) => fixedOf(r) === fixed);
    const archs = [...new Set(group.map((r) => r.summary.arch))];
    const xs = uniq(group.map(varyOf));
    const fixedName = by === 'k' ? `k = ${fixed}` : `dictionary size ${fixed}`;
    plots.push({
      file: by === 'k' ? `${metric.key}_vs_dict_size_k${fixed}.svg` : `${metric.key}_vs_k_m${fixed}.svg`,
      caption: `${metric.label} against ${by === 'k' ? 'dictionary size' : 'k (JumpReLU: target L0)'} at ${fixedName}`,
      svg: linePlot({
        title: `${metric.label} at ${fixedName}`,
        x: { label: by === 'k' ? 'dictionary size' : 'k (JumpReLU: target L0)', log: true, ticks: xs },
        y: { label: metric.label, log: metric.log },
        series: archs.map((a, i) => ({
          name: a,
          color: colorFor(a, i),
          points: group.filter((r) => r.summary.arch === a).map((r) => [varyOf(r), metric.get(r)!] as [number, number]),
        })),
      }),
    });
  }
  return plots;
}

/**
 * NMSE against the held-out L0 actually reached, one plot per dictionary size: the comparison at equal
 * sparsity, which NMSE against nominal k hides when an architecture's inference L0 differs from k.
 */
function againstL0(runs: RunData[]): Plot[] {
  return uniq(runs.map((r) => r.summary.dictSize)).map((m) => {
    const group = runs.filter((r) => r.summary.dictSize === m);
    const archs = [...new Set(group.map((r) => r.summary.arch))];
    return {
      file: `nmse_vs_l0_m${m}.svg`,
      caption: `NMSE against the held-out L0 reached, dictionary size ${m}`,
      svg: linePlot({
        title: `NMSE against L0 at dictionary size ${m}`,
        x: { label: 'held-out L0 (active latents per sample)', log: true },
        y: { label: 'NMSE', log: true },
        series: archs.map((a, i) => ({ name: a, color: colorFor(a, i), points: group.filter((r) => r.summary.arch === a).map((r) => [r.summary.l0, r.summary.nmse] as [number, number]) })),
      }),
    };
  });
}

export function sweepPlots(runs: RunData[]): Plot[] {
  const nmse = { key: 'nmse', label: 'NMSE', get: (r: RunData) => r.summary.nmse, log: true };
  const ce = { key: 'ce_degradation', label: 'CE degradation (nats)', get: (r: RunData) => r.ce?.ceDegradation, log: false };
  const plots = [...comparison(runs, nmse, 'k'), ...comparison(runs, nmse, 'dictSize'), ...againstL0(runs)];
  if (runs.some((r) => r.ce)) plots.push(...comparison(runs, ce, 'k'), ...comparison(runs, ce, 'dictSize'));
  for (const r of runs) {
    if (r.summary.arch === 'batchtopk' && r.summary.l0Histogram?.length) {
      plots.push({ file: `l0_hist_${r.name}.svg`, caption: `per-sample L0 histogram, ${r.name} (held out)`, svg: l0HistogramSvg(r) });
    }
  }
  return plots;
}

export interface SweepReport {
  html: string;
  csv: string;
  plots: string[];
  runs: number;
  /** Run folders left out, each with the reason (naming the file). */
  skipped: string[];
}

const escapeHtml = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Write results.csv, plots/*.svg and index.html into the sweep folder. Everything is built in memory
 * first, so a failure leaves the earlier report as it was; each file is then written atomically. Run
 * folders that cannot be read are skipped (`warn` names the file) and listed on the page.
 */
export function writeSweepReport(dir: string, note: string[] = [], warn: (msg: string) => void = () => {}): SweepReport {
  const skipped: string[] = [];
  const runs = collectRuns(dir, (m) => (skipped.push(m), warn(m)));
  const csv = path.join(dir, 'results.csv');
  const csvText = resultsCsv(runs);
  const plotDir = path.join(dir, PLOTS_DIR);
  const plots = sweepPlots(runs);
  const cols = columns(runs);
  const html = page(`SAE sweep ${path.basename(path.resolve(dir))}`, [
    ...note.map((n) => `<p>${n}</p>`),
    ...skipped.map((m) => `<p>${escapeHtml(m)}</p>`),
    `<p>${runs.length} runs; <a href="results.csv">results.csv</a>. NMSE and L0 are measured on the held-out split.</p>`,
    table(
      cols.map((c) => c.name),
      runs.map((r) => cols.map((c) => c.get(r))),
      { left: [0, 1], links: runs.map((r) => (fs.existsSync(path.join(r.dir, REPORT_FILE)) ? `${path.basename(r.dir)}/${REPORT_FILE}` : null)) },
    ),
    figures(plots.map((p) => ({ file: `${PLOTS_DIR}/${p.file}`, caption: p.caption }))),
  ]);
  const file = path.join(dir, REPORT_FILE);
  writeFileAtomic(csv, csvText);
  fs.mkdirSync(plotDir, { recursive: true });
  for (const p of plots) writeFileAtomic(path.join(plotDir, p.file), p.svg);
  writeFileAtomic(file, html);
  return { html: file, csv, plots: plots.map((p) => path.join(plotDir, p.file)), runs: runs.length, skipped };
}

// Plots as standalone SVG text: line plots (linear or log axes) and histograms, with labelled axes, ticks,
// a legend and one colour per series. No browser, no Python, no dependency: a few hundred bytes of markup
// per series. Every series is one <g class="series" data-series="name"> so tools (and the specs) can find it.

export interface Axis {
  label: string;
  log?: boolean;
  /** Tick positions (e.g. the swept dictionary sizes); default: 1-2-5 steps (log) or nice steps (linear). */
  ticks?: number[];
  /** Force the domain to include these values (e.g. 0 on a linear axis). */
  include?: number[];
}

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
}

export interface LinePlotSpec {
  title: string;
  x: Axis;
  y: Axis;
  series: Series[];
  /** Horizontal reference lines (e.g. the target L0). */
  hlines?: { y: number; label: string }[];
  width?: number;
  height?: number;
}

export interface HistogramSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  /** counts[i] = samples in bin i (bin i covers the integer i); plotted as fractions of each series' total. */
  series: { name: string; color: string; counts: number[] }[];
  /** Vertical reference lines (e.g. k). */
  vlines?: { x: number; label: string }[];
  width?: number;
  height?: number;
}

/** One colour per architecture, the same in every plot (matplotlib's first four, legible on white). */
export const ARCH_COLORS: Record<string, string> = { batchtopk: '#1f77b4', topk: '#ff7f0e', jumprelu: '#2ca02c', relu: '#d62728' };
const FALLBACK = ['#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
export function colorFor(name: string, i = 0): string {
  return ARCH_COLORS[name] ?? FALLBACK[i % FALLBACK.length]!;
}

const M = { left: 72, right: 150, top: 40, bottom: 52 };

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Compact tick labels: 3072, 0.05, 1.5e-4. */
export function fmtNum(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) {
    const [m, e] = v.toExponential(2).split('e');
    return `${String(Number(m))}e${Number(e)}`;
  }
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

interface Scale {
  (v: number): number;
  ticks: number[];
}

function domain(values: number[], axis: Axis): [number, number] {
  let vs = [...values, ...(axis.include ?? [])].filter((v) => Number.isFinite(v) && (!axis.log || v > 0));
  if (vs.length === 0) vs = axis.log ? [1, 10] : [0, 1];
  let lo = Math.min(...vs);
  let hi = Math.max(...vs);
  if (axis.log) {
    if (lo === hi) [lo, hi] = [lo / 2, hi * 2];
    const pad = Math.pow(hi / lo, 0.06);
    return [lo / pad, hi * pad];
  }
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.06;
  return [lo - (lo >= 0 && lo - pad < 0 ? lo : pad), hi + pad];
}

function niceTicks(lo: number, hi: number, n = 5): number[] {
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  for (const mult of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of mult) {
        const v = Number((m * Math.pow(10, e)).toPrecision(12));
        if (v >= lo && v <= hi) out.push(v);
      }
    }
    if (out.length >= 3) return out;
  }
  // Less than a decade wide: linear-looking ticks in the log domain.
  return niceTicks(lo, hi, 4).filter((v) => v > 0);
}

function scale(values: number[], axis: Axis, p0: number, p1: number): Scale {
  const [lo, hi] = domain(values, axis);
  const t = axis.log ? Math.log10 : (v: number) => v;
  const [a, b] = [t(lo), t(hi)];
  const f = ((v: number) => p0 + ((t(v) - a) / (b - a)) * (p1 - p0)) as Scale;
  f.ticks = (axis.ticks ?? (axis.log ? logTicks(lo, hi) : niceTicks(lo, hi))).filter((v) => v >= lo && v <= hi && (!axis.log || v > 0));
  return f;
}

const r1 = (v: number) => Math.round(v * 10) / 10;

function frame(w: number, h: number, title: string, xLabel: string, yLabel: string, sx: Scale, sy: Scale, xTick = fmtNum): string[] {
  const [x0, x1, y0, y1] = [M.left, w - M.right, h - M.bottom, M.top];
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${w}" height="${h}" fill="#ffffff"/>`,
    `<text x="${r1((x0 + x1) / 2)}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<g class="grid" stroke="#e5e5e5" stroke-width="1">`,
    ...sx.ticks.map((v) => `<line x1="${r1(sx(v))}" y1="${y0}" x2="${r1(sx(v))}" y2="${y1}"/>`),
    ...sy.ticks.map((v) => `<line x1="${x0}" y1="${r1(sy(v))}" x2="${x1}" y2="${r1(sy(v))}"/>`),
    `</g>`,
    `<g class="axes" stroke="#333333" stroke-width="1"><line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}"/></g>`,
    `<g class="xticks" text-anchor="middle">`,
    ...sx.ticks.map((v) => `<text x="${r1(sx(v))}" y="${y0 + 16}">${esc(xTick(v))}</text>`),
    `</g>`,
    `<g class="yticks" text-anchor="end">`,
    ...sy.ticks.map((v) => `<text x="${x0 - 6}" y="${r1(sy(v) + 4)}">${esc(fmtNum(v))}</text>`),
    `</g>`,
    `<text class="xlabel" x="${r1((x0 + x1) / 2)}" y="${h - 12}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text class="ylabel" transform="translate(16 ${r1((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  ];
  return out;
}

function legend(w: number, entries: { name: string; color: string; dashed?: boolean }[]): string[] {
  const x = w - M.right + 14;
  return [
    `<g class="legend">`,
    ...entries.map(
      (e, i) =>
        `<g transform="translate(${x} ${M.top + 8 + i * 20})"><line x1="0" y1="0" x2="22" y2="0" stroke="${e.color}" stroke-width="2.5"${e.dashed ? ' stroke-dasharray="5 3"' : ''}/><circle cx="11" cy="0" r="3.5" fill="${e.color}"/><text x="28" y="4">${esc(e.name)}</text></g>`,
    ),
    `</g>`,
  ];
}

const axisName = (a: Axis) => a.label + (a.log ? ' (log)' : '');

export function linePlot(p: LinePlotSpec): string {
  const w = p.width ?? 600;
  const h = p.height ?? 380;
  const pts = p.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const sx = scale(pts.map(([x]) => x), p.x, M.left, w - M.right);
  const sy = scale([...pts.map(([, y]) => y), ...(p.hlines ?? []).map((l) => l.y)], p.y, h - M.bottom, M.top);
  const ok = (x: number, y: number) => Number.isFinite(x) && Number.isFinite(y) && (!p.x.log || x > 0) && (!p.y.log || y > 0);
  const out = frame(w, h, p.title, axisName(p.x), axisName(p.y), sx, sy);
  for (const l of p.hlines ?? []) {
    const y = r1(sy(l.y));
    out.push(`<g class="hline"><line x1="${M.left}" y1="${y}" x2="${w - M.right}" y2="${y}" stroke="#555555" stroke-dasharray="4 4"/><text x="${w - M.right - 4}" y="${y - 4}" text-anchor="end" fill="#555555">${esc(l.label)}</text></g>`);
  }
  for (const s of p.series) {
    const v = s.points.filter(([x, y]) => ok(x, y)).sort((a, b) => a[0] - b[0]);
    const d = v.map(([x, y], i) => `${i ? 'L' : 'M'}${r1(sx(x))} ${r1(sy(y))}`).join(' ');
    out.push(
      `<g class="series" data-series="${esc(s.name)}">`,
      ...(v.length > 1 ? [`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`] : []),
      ...(v.length <= 60 ? v.map(([x, y]) => `<circle cx="${r1(sx(x))}" cy="${r1(sy(y))}" r="3.5" fill="${s.color}"><title>${esc(`${s.name}: ${fmtNum(x)}, ${fmtNum(y)}`)}</title></circle>`) : []),
      `</g>`,
    );
  }
  out.push(...legend(w, p.series), `</svg>`);
  return out.join('\n') + '\n';
}

export function histogram(p: HistogramSpec): string {
  const w = p.width ?? 600;
  const h = p.height ?? 380;
  const n = Math.max(1, ...p.series.map((s) => s.counts.length), ...(p.vlines ?? []).map((l) => Math.ceil(l.x) + 1));
  const fracs = p.series.map((s) => {
    const total = s.counts.reduce((a, b) => a + b, 0) || 1;
    return s.counts.map((c) => c / total);
  });
  const sx = scale([-0.5, n - 0.5], { label: p.xLabel }, M.left, w - M.right);
  sx.ticks = niceTicks(0, n - 1, 6).filter((v) => Number.isInteger(v) && v >= 0 && v < n);
  const sy = scale([0, ...fracs.flat()], { label: p.yLabel, include: [0] }, h - M.bottom, M.top);
  const out = frame(w, h, p.title, p.xLabel, p.yLabel, sx, sy);
  const bw = Math.max(0.5, sx(1) - sx(0));
  const alpha = p.series.length > 1 ? 0.55 : 0.85;
  p.series.forEach((s, i) => {
    out.push(`<g class="series" data-series="${esc(s.name)}" fill="${s.color}" fill-opacity="${alpha}">`);
    fracs[i]!.forEach((f, bin) => {
      if (f <= 0) return;
      const y = sy(f);
      out.push(`<rect x="${r1(sx(bin) - bw / 2)}" y="${r1(y)}" width="${r1(bw)}" height="${r1(sy(0) - y)}"><title>${bin}: ${s.counts[bin]}</title></rect>`);
    });
    out.push(`</g>`);
  });
  // Labels stacked from the top so that close lines stay readable.
  (p.vlines ?? []).forEach((l, i) => {
    const x = r1(sx(l.x));
    out.push(`<g class="vline"><line x1="${x}" y1="${h - M.bottom}" x2="${x}" y2="${M.top}" stroke="#333333" stroke-dasharray="4 4"/><text x="${x + 4}" y="${M.top + 12 + 15 * i}" fill="#333333">${esc(l.label)}</text></g>`);
  });
  out.push(...legend(w, p.series), `</svg>`);
  return out.join('\n') + '\n';
}

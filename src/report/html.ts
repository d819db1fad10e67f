// The report pages: one static HTML file, no script, no external resource (opens from disk, in any
// browser, offline). Plots are SVG files beside it, shown with <img>.
import { esc } from './svg.js';

/** The opening of a static page up to its <style> element's first line (the report's and the feature browser's). */
export function pageHead(title: string): string[] {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // An empty icon: a browser opening the page from disk otherwise asks for /favicon.ico and logs an error.
    '<link rel="icon" href="data:,">',
    `<title>${esc(title)}</title>`,
  ];
}

export function page(title: string, body: string[]): string {
  return [
    ...pageHead(title),
    '<style>',
    'body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222}',
    'table{border-collapse:collapse;font-size:13px;margin:12px 0}',
    'th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}',
    'th{background:#f3f3f3}td.l,th.l{text-align:left}',
    '.plots{display:flex;flex-wrap:wrap;gap:12px}',
    'figure{margin:0}figcaption{font-size:12px;color:#555}',
    'img{max-width:100%;height:auto;border:1px solid #eee}',
    '</style>',
    '</head>',
    '<body>',
    `<h1>${esc(title)}</h1>`,
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export type Cell = string | number | null | undefined;

export function fmtCell(v: Cell): string {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(5)));
  return v;
}

/** `left`: columns aligned left (text). `links`: cell text to href per row (first column). */
export function table(headers: string[], rows: Cell[][], opts: { left?: number[]; links?: (string | null)[] } = {}): string {
  const left = new Set(opts.left ?? [0]);
  const cls = (i: number) => (left.has(i) ? ' class="l"' : '');
  const head = `<tr>${headers.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r, ri) => {
    const cells = r.map((c, i) => {
      const text = esc(fmtCell(c));
      const href = i === 0 ? opts.links?.[ri] : null;
      return `<td${cls(i)}>${href ? `<a href="${esc(href)}">${text}</a>` : text}</td>`;
    });
    return `<tr>${cells.join('')}</tr>`;
  });
  return ['<table>', head, ...body, '</table>'].join('\n');
}

export function figures(plots: { file: string; caption: string }[]): string {
  return [
    '<div class="plots">',
    ...plots.map((p) => `<figure><img src="${esc(p.file)}" alt="${esc(p.caption)}"><figcaption>${esc(p.caption)}</figcaption></figure>`),
    '</div>',
  ].join('\n');
}

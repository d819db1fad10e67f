// The feature browser page: one static index.html that opens from disk (file://) with no server and no
// network. The table of latents (index, density, max, mean, top tokens: a few dozen bytes a latent) is
// inline; each latent's panel data (examples, histogram, logits) lives in <out>/latents/NNNNN.js, blocks
// of CHUNK latents added as <script> elements when first shown (fetch() and XHR of file:// URLs are
// refused by Chromium, script elements are not). The table is virtual (only the visible rows exist in the
// DOM), so tens of thousands of latents stay fast. The client code is page_script.ts.
import { pageHead } from '../report/html.js';
import { esc } from '../report/svg.js';
import { PAGE_SCRIPT, PAGE_STYLE } from './page_script.js';
import type { LatentEntry } from './format.js';

/** Latents per data block. */
export const CHUNK = 64;

export const chunkFile = (c: number): string => `${String(c).padStart(5, '0')}.js`;

/** A latent's row in the table: index, density, max, mean (firing), top tokens and top logit tokens (for search). */
export interface IndexEntry {
  i: number;
  d: number;
  x: number;
  m: number;
  t: string[];
  p: string[];
}

export function indexEntry(l: LatentEntry): IndexEntry {
  const t: string[] = [];
  for (const e of l.examples) {
    const tok = e.tokens[e.focus]!;
    if (!t.includes(tok)) t.push(tok);
    if (t.length === 6) break;
  }
  return { i: l.index, d: l.density, x: l.max_activation, m: l.mean_activation, t, p: (l.top_logits ?? []).slice(0, 5).map((v) => v.token) };
}

export interface PageMeta {
  sae: string;
  data: string;
  model: string | null;
  architecture: string;
  trained_as: string | null;
  d_in: number;
  d_sae: number;
  threshold: number | null;
  rows: number;
  alive: number;
  context: number;
}

/** Inline JSON inside <script>: no "</script>" or "<!--" can appear. */
const inlineJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

export function pageHtml(meta: PageMeta, entries: IndexEntry[]): string {
  // The SAE folder's last two names: 'train' writes <run>/sae, so the run's name is the one that tells.
  const name = meta.sae.split(/[\\/]/).filter(Boolean).slice(-2).join('/') || meta.sae;
  const title = `Features of ${name}`;
  return [
    ...pageHead(title),
    `<style>${PAGE_STYLE}</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>${esc(title)}</h1>`,
    `<div class="meta">${esc(meta.trained_as && meta.trained_as !== meta.architecture ? `${meta.trained_as} (saved as ${meta.architecture})` : meta.architecture)} · d_in ${meta.d_in} · ${meta.d_sae} latents (${meta.alive} fired) · ${meta.rows.toLocaleString('en-US')} rows` +
      (meta.threshold !== null ? ` · threshold ${Number(meta.threshold.toPrecision(4))}` : '') +
      ` · data <code>${esc(meta.data)}</code>` +
      (meta.model ? ` · model <code>${esc(meta.model.split(/[\\/]/).pop()!)}</code>` : ' · no model (token ids, no logits)') +
      '</div>',
    '</header>',
    '<main>',
    '<section id="list">',
    '<div class="controls"><input id="q" type="search" placeholder="Search tokens, or #index" autocomplete="off" spellcheck="false"><span id="shown"></span></div>',
    '<div class="thead" id="thead"><span data-key="i" class="c-i">#</span><span data-key="d" class="c-d">density</span><span data-key="x" class="c-x">max</span><span data-key="m" class="c-m">mean</span><span class="c-t">top tokens</span></div>',
    '<div id="viewport"><div id="spacer"></div></div>',
    '</section>',
    '<section id="panel"><p class="hint">Choose a latent on the left (↑/↓ or j/k to move, / to search).</p></section>',
    '</main>',
    `<script>const META = ${inlineJson({ rows: meta.rows, context: meta.context, chunk: CHUNK, hasModel: meta.model !== null })};`,
    `const INDEX = ${inlineJson(entries)};</script>`,
    `<script>${PAGE_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

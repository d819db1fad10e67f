// Opens a feature browser page (<out>/index.html of `features`) from disk in headless Chromium (Debian:
// apt-get install -y chromium) and fails on any console error, uncaught exception or failed load; then
// shows every latent through window.featuresPage.show and checks that its panel drew: the latent's number,
// five statistics, the histogram, one example row per example in features.json (top and interval), one
// shaded token per context token, and the logits when the file has them. Also checks the table's sort
// and search. Writes a screenshot of one latent (default: the densest), e.g. docs/features.png.
// DevTools protocol over a pipe (--remote-debugging-pipe: fd 3 in, fd 4 out, NUL-terminated JSON), as
// bench/report_browser.ts: no npm package.
//   npx tsx bench/features_browser.ts <out>/index.html [screenshot.png] [latent] [panels]
// panels: check only this many latents, spread evenly over the index (default: every latent).
import { launchChromium } from './lib/chromium.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const page = path.resolve(process.argv[2] ?? 'index.html');
const shot = path.resolve(process.argv[3] ?? path.join(os.tmpdir(), 'batchtopk-features.png'));
if (!fs.existsSync(page)) throw new Error(`${page}: no such page (give the index.html that 'features' wrote)`);
const json = JSON.parse(fs.readFileSync(path.join(path.dirname(page), 'features.json'), 'utf8')) as {
  latents: { index: number; density: number; examples: { tokens: string[] }[]; interval_examples: { tokens: string[] }[]; top_logits?: unknown[] }[];
};
const expected = json.latents.map((l) => ({
  rows: l.examples.length + l.interval_examples.length,
  tokens: [...l.examples, ...l.interval_examples].reduce((a, e) => a + e.tokens.length, 0),
  logits: l.top_logits ? 2 * l.top_logits.length : 0,
}));
const panels = process.argv[5] !== undefined ? Number(process.argv[5]) : json.latents.length;
const pick = process.argv[4] !== undefined && process.argv[4] !== '' ? Number(process.argv[4]) : json.latents.reduce((b, l) => (l.density > json.latents[b]!.density ? l.index : b), 0);

const { proc, send, open, problems, stderr: browserStderr, close } = launchChromium('1440,900');
let drawn_count = 0;

const timeout = setTimeout(() => {
  console.error(`timed out; browser stderr:\n${browserStderr()}`);
  proc.kill('SIGKILL');
  process.exit(2);
}, 600_000);

async function evaluate<T>(expression: string, sessionId: string): Promise<T> {
  const r = (await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId)) as { result: { value: T }; exceptionDetails?: unknown };
  if (r.exceptionDetails) throw new Error(`page script failed: ${JSON.stringify(r.exceptionDetails)}`);
  return r.result.value;
}

try {
  const sessionId = await open(page);
  const t0 = performance.now();
  // Every latent's panel, in order: what it drew against what features.json holds.
  const drawn = await evaluate<{ j: number; shown: number; rows: number; tokens: number; stats: number; hist: number; logits: number }[]>(
    `(async () => {
      const out = [];
      const n = Math.min(${panels}, featuresPage.count);
      for (let i = 0; i < n; i++) {
        const j = Math.floor(i * featuresPage.count / n);
        await featuresPage.show(j);
        const p = document.querySelector('#panel > div');
        out.push({ j, shown: Number(p.dataset.latent), rows: p.querySelectorAll('.exr').length, tokens: p.querySelectorAll('.exr .toks .t').length,
          stats: p.querySelectorAll('.stat').length, hist: p.querySelectorAll('svg.hist').length, logits: p.querySelectorAll('.lg').length });
      }
      return out;
    })()`,
    sessionId,
  );
  const walk = (performance.now() - t0) / 1000;
  drawn_count = drawn.length;
  for (const d of drawn) {
    const e = expected[d.j]!;
    if (d.shown !== d.j || d.rows !== e.rows || d.tokens !== e.tokens || d.stats !== 5 || d.hist !== 1 || d.logits !== e.logits) {
      problems.push(`latent ${d.j}: panel drew ${JSON.stringify(d)}, expected ${JSON.stringify(e)}`);
    }
  }
  if (drawn.length !== Math.min(panels, json.latents.length)) problems.push(`${drawn.length} panels drawn for ${json.latents.length} latents`);
  // Sorting by density (descending) and searching by a token from the page itself.
  const table = await evaluate<{ sortedOk: boolean; first: number; search: string; hits: number; hitsOk: boolean; domRows: number }>(
    `(async () => {
      const dens = document.querySelector('#thead [data-key=d]');
      dens.click();
      const shownD = [...document.querySelectorAll('#spacer .row')].map((r) => INDEX[Number(r.dataset.latent)].d);
      const sortedOk = shownD.length > 0 && shownD.every((v, i) => i === 0 || v <= shownD[i - 1]);
      const first = Number(document.querySelector('#spacer .row').dataset.latent);
      const word = INDEX[first].t.map((t) => t.trim()).find((t) => t.length >= 3) || INDEX[first].t[0].trim();
      const q = document.getElementById('q');
      q.value = word;
      q.dispatchEvent(new Event('input'));
      const rows = [...document.querySelectorAll('#spacer .row')].map((r) => INDEX[Number(r.dataset.latent)]);
      const num = /^#?(\d+)$/.exec(word);
      const hitsOk = rows.length > 0 && rows.every((e) => e.t.concat(e.p).some((t) => t.toLowerCase().includes(word.toLowerCase())) || (num && String(e.i).startsWith(num[1])));
      const hits = document.getElementById('shown').textContent;
      q.value = '';
      q.dispatchEvent(new Event('input'));
      return { sortedOk, first, search: word, hits: rows.length, hitsOk, domRows: document.querySelectorAll('#spacer .row').length };
    })()`,
    sessionId,
  );
  if (!table.sortedOk) problems.push('sorting by density did not order the rows');
  if (!table.hitsOk) problems.push(`search for ${JSON.stringify(table.search)} showed rows without that token`);
  await evaluate(`featuresPage.show(${pick}).then(() => { location.hash = '#${pick}'; document.querySelector('#spacer .row.sel')?.scrollIntoView({ block: 'center' }); })`, sessionId);
  await new Promise((r) => setTimeout(r, 300));
  await send('Emulation.setDeviceMetricsOverride', { width: 1440, height: 900, deviceScaleFactor: 1, mobile: false }, sessionId);
  const png = (await send('Page.captureScreenshot', { format: 'png' }, sessionId)) as { data: string };
  fs.writeFileSync(shot, Buffer.from(png.data, 'base64'));
  console.log(`${page}: ${drawn.length} latent panels drawn in ${walk.toFixed(1)} s (${((1000 * walk) / Math.max(1, drawn.length)).toFixed(1)} ms each); sort and search (${JSON.stringify(table.search)}: ${table.hits} rows) ok; at most ${table.domRows} table rows in the DOM; screenshot of latent ${pick}: ${shot}`);
  await send('Browser.close').catch(() => {});
} finally {
  clearTimeout(timeout);
  await close();
}
if (problems.length) {
  console.error(`${problems.length} problem(s):\n${problems.slice(0, 30).join('\n')}`);
  process.exitCode = 1;
} else console.log(`no console errors, no failed loads, ${drawn_count === json.latents.length ? 'every latent panel' : `${drawn_count} latent panels spread over the ${json.latents.length}`} rendered`);

// Issue 17, items 13 and 15: `report` reads everything before it writes anything. A damaged summary.json
// of a run folder is refused naming the file, the earlier report left as it was; in a sweep folder a
// damaged run (torn JSON, `null`, a missing field) is skipped with a warning naming its file and the other
// runs are reported; results.csv is never rewritten by a report that then fails.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runReport } from '../../src/run/report.js';
import { tempDir } from '../data/fixtures.js';

const s = suite('run/report: damaged run folders');
const tmp = tempDir('report');
s.after(() => tmp.cleanup());

function summary(arch: string, k: number, dictSize: number, nmse: number): object {
  return {
    arch, k, dictSize, dIn: 8, steps: 10, tokens: 640, backend: 'cpu', nmse, fvu: nmse, l0: k, deadFraction: 0, deadFrequencyFloor: 0.01,
    threshold: arch === 'batchtopk' ? 0.5 : null, thresholdRunning: null, calibrationBatches: null, batchTopK: null, tokensPerSecond: 1000,
    evalTokens: 100, l0Histogram: [0, 10, 80, 10], skippedNonFinite: 0, out: 'x', finished: true,
  };
}

function runDir(parent: string, name: string, content: string): string {
  const dir = path.join(parent, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'summary.json'), content);
  return dir;
}

s('a sweep folder with damaged runs: the others are reported, each damaged one skipped with a warning naming its file', () => {
  const dir = tmp.path('sweep');
  runDir(dir, 'topk-k2-m16', JSON.stringify(summary('topk', 2, 16, 0.3)));
  runDir(dir, 'topk-k4-m16', JSON.stringify(summary('topk', 4, 16, 0.2)));
  const torn = runDir(dir, 'topk-k8-m16', JSON.stringify(summary('topk', 8, 16, 0.1)).slice(0, 40));
  const nul = runDir(dir, 'topk-k16-m16', 'null');
  const partial = runDir(dir, 'topk-k1-m16', JSON.stringify({ ...summary('topk', 1, 16, 0.5), arch: undefined }));
  const warnings: string[] = [];
  const r = runReport(dir, (m) => warnings.push(m));
  assert.is(r.runs, 2);
  assert.is(warnings.length, 3);
  assert.match(warnings.find((w) => w.includes(torn))!, new RegExp(`skipped ${torn}: ${path.join(torn, 'summary.json')}: not valid JSON .*restore it, or resume the run`));
  assert.match(warnings.find((w) => w.includes(nul))!, /summary\.json: expected a JSON object, found null/);
  assert.match(warnings.find((w) => w.includes(partial))!, /summary\.json: "arch" is missing/);
  const csv = fs.readFileSync(path.join(dir, 'results.csv'), 'utf8').trim().split('\n');
  assert.is(csv.length, 3, 'header and the two readable runs');
  assert.ok(fs.readFileSync(path.join(dir, 'index.html'), 'utf8').includes('skipped'), 'the page says which runs were left out');
});

s('a run folder with a damaged summary.json: refused naming the file; its report and results are left as they were', () => {
  const dir = runDir(tmp.path('runs'), 'one', '{"arch": "topk", "k": 2, "dictSize"');
  fs.writeFileSync(path.join(dir, 'index.html'), 'OLD PAGE');
  assert.throws(() => runReport(dir), (e: Error) => e.message.startsWith(`${path.join(dir, 'summary.json')}: not valid JSON`));
  assert.is(fs.readFileSync(path.join(dir, 'index.html'), 'utf8'), 'OLD PAGE');
  // A sweep folder whose only run is damaged: one message naming it; the earlier results.csv untouched.
  const sweep = tmp.path('bad-sweep');
  runDir(sweep, 'topk-k2-m16', '{}');
  fs.writeFileSync(path.join(sweep, 'results.csv'), 'OLD');
  assert.throws(() => runReport(sweep), (e: Error) => /none could be read: skipped .*topk-k2-m16: .*summary\.json: "arch" is missing/.test(e.message));
  assert.is(fs.readFileSync(path.join(sweep, 'results.csv'), 'utf8'), 'OLD');
});

s.run();

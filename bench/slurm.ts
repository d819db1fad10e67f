// What going through Slurm costs and gains on one node (spec/helpers/slurm.sh start first), side by side in
// one run: (1) the scheduler's own overhead, an array of 8 empty tasks plus its dependent job, submit to last
// job ended; (2) a 4-configuration sweep, one local process training the runs one after another against the
// same sweep as a job array (one CPU per task, so as many tasks at once as the node has cores), wall time
// submit to report written; (3) a harvest of the first 60 stories, one local process against 3 parts as an
// array plus the merge. Both sides do the same work and their outputs are checked equal before the times are
// printed. Run: `npx tsx bench/slurm.ts`.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeNpy } from '../src/data/npy.js';
import { readMatrix } from '../src/data/source.js';
import { planRuns } from '../src/sweep/plan.js';
import { harvestJob, submitArrayJob, sweepJob, type SubmittedJob } from '../src/sweep/slurm.js';
import { SyntheticModel } from '../src/synth.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const STORIES = path.resolve(ROOT, '../shared/data/stories260K') + '/';
const bin = path.join(ROOT, 'bin/batchtopk.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-bench-slurm-'));

async function until(sub: SubmittedJob): Promise<void> {
  const ids = [sub.arrayId, sub.afterId].filter((x) => x !== null).join(',');
  for (;;) {
    const q = spawnSync('squeue', ['-h', '-j', ids], { encoding: 'utf8' });
    if (q.status === 0 && q.stdout.trim() === '') return;
    if (q.status !== 0 && !/Invalid job id/.test(q.stderr)) throw new Error(q.stderr);
    await new Promise((r) => setTimeout(r, 250));
  }
}
const run = (argv: string[]) => new Promise<void>((resolve, reject) => spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' }).on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`${argv.join(' ')}: exit ${c}`)))));
const secs = (t0: number) => (performance.now() - t0) / 1000;

try {
  const sinfo = spawnSync('sinfo', ['-h', '-N', '-o', '%N %c CPUs %m MB'], { encoding: 'utf8' });
  if (sinfo.status !== 0) throw new Error('no Slurm here: run spec/helpers/slurm.sh start first');
  console.log(`node: ${sinfo.stdout.trim()}; ${os.cpus()[0]?.model}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);

  // (1) the scheduler alone.
  let t0 = performance.now();
  const empty = submitArrayJob({ dir: path.join(tmp, 'empty'), script: 'e.sbatch', name: 'bench-empty', command: ['true'], taskFlag: '--x', tasks: Array.from({ length: 8 }, (_, i) => String(i)), cpusPerTask: 1, cwd: tmp, after: { name: 'bench-after', command: ['true'] } });
  await until(empty);
  const tEmpty = secs(t0);

  // (2) a sweep.
  const data = path.join(tmp, 'acts.npy');
  writeNpy(data, new SyntheticModel({ dIn: 32, nFeatures: 128, meanActive: 4, seed: 5 }).rows(0, 20000), 20000, 32);
  const args = (out: string) => ['sweep', '--data', data, '--arch', 'batchtopk,topk', '--k', '4,8', '--dict-size', '128', '--batch-size', '256', '--steps', '300', '--backend', 'cpu', '--seed', '1', '--quiet', '--out', out];
  const runs = planRuns({ archs: ['batchtopk', 'topk'], ks: [4, 8], dictSizes: [128] });
  t0 = performance.now();
  await run([process.execPath, bin, ...args(path.join(tmp, 'sweep-local'))]);
  const tSweepLocal = secs(t0);
  t0 = performance.now();
  const out = path.join(tmp, 'sweep-slurm');
  const sw = submitArrayJob(sweepJob({ out, runs, command: [process.execPath, bin, ...args(out)], reportCommand: [process.execPath, bin, 'report', out], cpusPerTask: 1, cwd: tmp }).job);
  await until(sw);
  const tSweepSlurm = secs(t0);
  for (const r of runs) {
    const w = (d: string) => fs.readFileSync(path.join(tmp, d, r.name, 'sae', 'sae_weights.safetensors'));
    if (!w('sweep-local').equals(w('sweep-slurm'))) throw new Error(`${r.name}: weights differ`);
  }
  if (!fs.existsSync(path.join(out, 'index.html'))) throw new Error('no report');

  // (3) a harvest.
  const text = path.join(tmp, 'docs.jsonl');
  fs.writeFileSync(text, fs.readFileSync(STORIES + 'stories.jsonl', 'utf8').trim().split('\n').slice(0, 60).join('\n') + '\n');
  t0 = performance.now();
  await run([process.execPath, bin, 'harvest', '--model', STORIES + 'stories260K.bin', '--text', text, '--layer', '2', '--out', path.join(tmp, 'h-one'), '--shard-rows', '4096', '--backend', 'cpu', '--quiet']);
  const tHarvestLocal = secs(t0);
  const hout = path.join(tmp, 'h-parts');
  const self = [process.execPath, bin];
  const cmd = ['harvest', '--model', STORIES + 'stories260K.bin', '--text', text, '--layer', '2', '--out', hout, '--shard-rows', '4096', '--backend', 'cpu', '--quiet', '--parts', '3'];
  t0 = performance.now();
  const hv = submitArrayJob(harvestJob({ out: hout, parts: 3, command: [...self, ...cmd], mergeCommand: [...self, 'harvest', '--merge', hout], cpusPerTask: 1, cwd: ROOT }).job);
  await until(hv);
  const tHarvestSlurm = secs(t0);
  const [a, b] = [readMatrix(path.join(tmp, 'h-one')), readMatrix(hout)];
  if (a.rows !== b.rows || !Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))) throw new Error('harvest rows differ');

  console.log(`| what | local s | Slurm s | Slurm / local |`);
  console.log(`|---|---|---|---|`);
  console.log(`| 8 empty array tasks + dependent job | - | ${tEmpty.toFixed(1)} | - |`);
  console.log(`| sweep, 4 runs x 300 steps (d 32, m 128, batch 256, cpu) | ${tSweepLocal.toFixed(1)} | ${tSweepSlurm.toFixed(1)} | ${(tSweepSlurm / tSweepLocal).toFixed(2)} |`);
  console.log(`| harvest, 60 stories (${a.rows} rows), 1 process vs 3 parts + merge | ${tHarvestLocal.toFixed(1)} | ${tHarvestSlurm.toFixed(1)} | ${(tHarvestSlurm / tHarvestLocal).toFixed(2)} |`);
  console.log(`load average after: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

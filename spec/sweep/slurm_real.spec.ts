// Issue 21 on a real Slurm (spec/helpers/slurm.sh start makes one on this machine): a job array and its
// dependent job through submitArrayJob; a 4-configuration sweep submitted as an array gives, run by run, the
// sae_weights.safetensors of the same sweep run here, with results.csv and index.html written by the
// dependent report job; a harvest in 3 parts as an array plus the dependent merge reads back bit for bit as
// one harvest. Where no Slurm answers (sinfo) the suite is skipped with a message, or fails when
// BATCHTOPK_REQUIRE_SLURM=1 (CI's choice).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runHarvest } from '../../src/run/harvest.js';
import { writeNpy } from '../../src/data/npy.js';
import { readMatrix } from '../../src/data/source.js';
import { planRuns } from '../../src/sweep/plan.js';
import { harvestJob, submitArrayJob, sweepJob, type SubmittedJob } from '../../src/sweep/slurm.js';
import { SyntheticModel } from '../../src/synth.js';
import { cpu } from '../helpers/backends.js';

const s = suite('sweep: on a real Slurm');
const ROOT = path.resolve(import.meta.dirname, '../..');
const STORIES = path.resolve(ROOT, '../shared/data/stories260K') + '/';
const bin = path.join(ROOT, 'bin/batchtopk.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-slurm-real-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const env = { ...process.env, BATCHTOPK_DEBUG: '' };
/** Long enough for a loaded 2-core machine to run every task of a job one after another. */
const WAIT_MS = 600_000;

/** Why Slurm cannot be used here, or null when its node answers. */
function noSlurm(): string | null {
  const r = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', timeout: 15_000 });
  if (r.error) return `sinfo: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not installed' : r.error.message}`;
  if (r.status !== 0) return `sinfo failed: ${r.stderr.trim()}`;
  if (!/^(idle|mixed|allocated|completing)$/m.test(r.stdout)) return `no usable node (sinfo: ${r.stdout.trim() || 'no nodes'})`;
  return null;
}

const why = noSlurm();
const skip = why !== null && process.env.BATCHTOPK_REQUIRE_SLURM !== '1';
if (skip) console.warn(`\n  Slurm specs SKIPPED: ${why}. Start a single-node Slurm with: spec/helpers/slurm.sh start (as root)\n`);

/** Each job's final state once none of `ids` is queued or running (scontrol keeps ended jobs MinJobAge seconds). */
async function waitFor(sub: SubmittedJob): Promise<Map<string, string>> {
  const ids = [sub.arrayId, sub.afterId].filter((x): x is string => x !== null);
  const t0 = Date.now();
  for (;;) {
    const q = spawnSync('squeue', ['-h', '-j', ids.join(','), '-o', '%i %T'], { encoding: 'utf8' });
    if (q.status === 0 && q.stdout.trim() === '') break;
    if (q.status !== 0 && !/Invalid job id/.test(q.stderr)) throw new Error(`squeue: ${q.stderr}`);
    if (Date.now() - t0 > WAIT_MS) throw new Error(`jobs ${ids} still queued after ${WAIT_MS / 1000} s:\n${q.stdout}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const states = new Map<string, string>();
  for (const id of ids) {
    const r = spawnSync('scontrol', ['-o', 'show', 'job', id], { encoding: 'utf8' });
    for (const line of r.stdout.trim().split('\n')) {
      const job = /ArrayTaskId=(\S+)/.exec(line)?.[1];
      states.set(job !== undefined ? `${id}_${job}` : id, /JobState=(\S+)/.exec(line)?.[1] ?? '?');
    }
  }
  return states;
}

/** False when the suite is skipped; with BATCHTOPK_REQUIRE_SLURM=1 a missing Slurm fails here. */
function ready(): boolean {
  if (skip) return false;
  assert.is(why, null, `BATCHTOPK_REQUIRE_SLURM=1 but ${why}`);
  return true;
}

const logOf = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `(no ${file})`);

s('an array of 3 tasks and a job that runs after all of them (afterany), logs where the script says', async () => {
  if (!ready()) return;
  const out = path.join(tmp, 'stand-in');
  // Task i writes its argument to task-<name>.txt; the dependent job lists what it finds.
  const sub = submitArrayJob({
    dir: out,
    script: 'test.sbatch',
    name: 'batchtopk-spec',
    command: ['bash', '-c', 'sleep 1; echo "$1 $2" > "$0/task-$2.txt"', out],
    taskFlag: '--only',
    tasks: ['a', 'b c', 'd'],
    cpusPerTask: 1,
    cwd: tmp,
    after: { name: 'batchtopk-spec-after', command: ['bash', '-c', 'ls "$0" | grep ^task- > "$0/after.txt"', out] },
  });
  const states = await waitFor(sub);
  assert.equal([...states.values()], ['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED'], JSON.stringify([...states]));
  for (const t of ['a', 'b c', 'd']) assert.is(fs.readFileSync(path.join(out, `task-${t}.txt`), 'utf8'), `--only ${t}\n`);
  assert.is(fs.readFileSync(path.join(out, 'after.txt'), 'utf8'), 'task-a.txt\ntask-b c.txt\ntask-d.txt\n', 'the dependent job started after every task had ended');
  for (const i of [0, 1, 2]) assert.match(logOf(path.join(out, 'slurm', `${sub.arrayId}_${i}.out`)), /batchtopk: task \d of array/);
  assert.ok(fs.existsSync(path.join(out, 'slurm', `${sub.afterId}.out`)));
});

s('a 4-configuration sweep as an array: every run the weights of the local sweep, the report by the dependent job', async () => {
  if (!ready()) return;
  const data = path.join(tmp, 'acts.npy');
  writeNpy(data, new SyntheticModel({ dIn: 12, nFeatures: 32, meanActive: 3, seed: 11 }).rows(0, 3000), 3000, 12);
  const args = (out: string) => ['sweep', '--data', data, '--arch', 'batchtopk,topk', '--k', '2,4', '--dict-size', '24', '--batch-size', '64', '--steps', '40', '--backend', 'cpu', '--seed', '3', '--log-every', '10', '--out', out];
  const runs = planRuns({ archs: ['batchtopk', 'topk'], ks: [2, 4], dictSizes: [24] });
  const out = path.join(tmp, 'sweep-slurm');
  const { job } = sweepJob({ out, runs, command: [process.execPath, bin, ...args(out)], reportCommand: [process.execPath, bin, 'report', out], cpusPerTask: 1, cwd: tmp });
  assert.is(job.tasks.length, 4);
  const sub = submitArrayJob(job);
  // The same sweep here, while the cluster runs its tasks.
  const local = path.join(tmp, 'sweep-local');
  const code = await new Promise<number | null>((resolve) => spawn(process.execPath, [bin, ...args(local)], { env, stdio: 'ignore' }).on('exit', resolve));
  assert.is(code, 0);
  const states = await waitFor(sub);
  const logs = () => [...fs.readdirSync(path.join(out, 'slurm'))].map((f) => `--- ${f}\n${logOf(path.join(out, 'slurm', f))}`).join('\n');
  assert.ok([...states.values()].every((st) => st === 'COMPLETED'), `${JSON.stringify([...states])}\n${logs()}`);
  for (const r of runs) {
    const w = (dir: string) => fs.readFileSync(path.join(dir, r.name, 'sae', 'sae_weights.safetensors'));
    assert.ok(w(out).equals(w(local)), `${r.name}: sae_weights.safetensors differs from the local sweep's`);
  }
  // Task i trained the i-th configuration and no other (the sweep prints one line per run it went through).
  job.tasks.forEach((name, i) => {
    const lines = [...logOf(path.join(out, 'slurm', `${sub.arrayId}_${i}.out`)).matchAll(/^(\S+)\s+(trained|skipped)\s/gm)].map((m) => `${m[1]} ${m[2]}`);
    assert.equal(lines, [`${name} trained`], `task ${i}`);
  });
  const csv = fs.readFileSync(path.join(out, 'results.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.slice(1).map((l) => l.split(',')[0]).sort(), runs.map((r) => r.name).sort());
  assert.ok(fs.existsSync(path.join(out, 'index.html')));
  assert.match(logOf(path.join(out, 'slurm', `${sub.afterId}.out`)), /sweep report \(4 runs\)/);
  // Submitting again lists nothing; a run whose summary was lost is the only task, and finishes the same.
  assert.equal(sweepJob({ out, runs, command: [], reportCommand: [], cpusPerTask: 1 }).job.tasks, []);
  fs.rmSync(path.join(out, 'topk-k2-m24', 'summary.json'));
  const again = sweepJob({ out, runs, command: [process.execPath, bin, ...args(out)], reportCommand: [process.execPath, bin, 'report', out], cpusPerTask: 1, cwd: tmp });
  assert.equal(again.job.tasks, ['topk-k2-m24']);
  const sub2 = submitArrayJob(again.job);
  const states2 = await waitFor(sub2);
  assert.equal([...states2.values()], ['COMPLETED', 'COMPLETED'], JSON.stringify([...states2]));
  assert.ok(JSON.parse(fs.readFileSync(path.join(out, 'topk-k2-m24', 'summary.json'), 'utf8')).finished, 'the resubmitted task finished the run');
  const w = (dir: string) => fs.readFileSync(path.join(dir, 'topk-k2-m24', 'sae', 'sae_weights.safetensors'));
  assert.ok(w(out).equals(w(local)), 'the run finished by the resubmission has the local weights');
});

s('a task cancelled mid-run (scancel: SIGTERM, as a pre-emption) keeps its checkpoint; resubmitted, it resumes to the local weights', async () => {
  if (!ready()) return;
  const data = path.join(tmp, 'acts-pre.npy');
  writeNpy(data, new SyntheticModel({ dIn: 12, nFeatures: 32, meanActive: 3, seed: 12 }).rows(0, 3000), 3000, 12);
  const args = (out: string) => ['sweep', '--data', data, '--arch', 'batchtopk', '--k', '2', '--dict-size', '24', '--batch-size', '64', '--steps', '300', '--backend', 'cpu', '--seed', '5', '--log-every', '10', '--out', out];
  const runs = planRuns({ archs: ['batchtopk'], ks: [2], dictSizes: [24] });
  const name = runs[0]!.name;
  const out = path.join(tmp, 'sweep-pre');
  const job = () => sweepJob({ out, runs, command: [process.execPath, bin, ...args(out)], reportCommand: [process.execPath, bin, 'report', out], cpusPerTask: 1, cwd: tmp });
  const sub = submitArrayJob(job().job);
  // Cancel once the run has logged metrics (step 10 of 300): mid-training.
  const metrics = path.join(out, name, 'metrics.jsonl');
  const t0 = Date.now();
  while ((fs.statSync(metrics, { throwIfNoEntry: false })?.size ?? 0) === 0) {
    assert.ok(Date.now() - t0 < WAIT_MS, 'the task never started training');
    await new Promise((r) => setTimeout(r, 100));
  }
  spawnSync('scancel', [sub.arrayId!]);
  const states = await waitFor(sub);
  assert.is(states.get(`${sub.arrayId}_0`), 'CANCELLED', JSON.stringify([...states]));
  assert.ok(fs.existsSync(path.join(out, name, 'checkpoint.safetensors')), `a checkpoint was saved on SIGTERM\n${logOf(path.join(out, 'slurm', `${sub.arrayId}_0.out`))}`);
  const again = job();
  assert.equal(again.job.tasks, [name]);
  const sub2 = submitArrayJob(again.job);
  const local = path.join(tmp, 'sweep-pre-local');
  assert.is(spawnSync(process.execPath, [bin, ...args(local)], { env, stdio: 'ignore' }).status, 0);
  const states2 = await waitFor(sub2);
  const log = logOf(path.join(out, 'slurm', `${sub2.arrayId}_0.out`));
  assert.equal([...states2.values()], ['COMPLETED', 'COMPLETED'], log);
  assert.match(log, /resumed at step \d+/);
  const w = (dir: string) => fs.readFileSync(path.join(dir, name, 'sae', 'sae_weights.safetensors'));
  assert.ok(w(out).equals(w(local)), 'the resumed run has the weights of the uninterrupted local run');
});

s('a harvest in 3 parts as an array plus the merge: the rows of one harvest, bit for bit', async () => {
  if (!ready()) return;
  const text = path.join(tmp, 'docs.jsonl');
  fs.writeFileSync(text, fs.readFileSync(STORIES + 'stories.jsonl', 'utf8').trim().split('\n').slice(0, 7).join('\n') + '\n');
  const out = path.join(tmp, 'harvest-slurm');
  // As a user submits it: the command itself, with --parts and --slurm (the array's tasks and the merge job are
  // this same command line with --part i, and `harvest --merge <out>`).
  const cmd = ['harvest', '--model', STORIES + 'stories260K.bin', '--text', text, '--layer', '2', '--out', out, '--shard-rows', '500', '--batch-rows', '1024', '--backend', 'cpu', '--quiet'];
  const submitted = spawnSync(process.execPath, [bin, ...cmd, '--parts', '3', '--slurm', '--cpus-per-task', '1', '--json'], { env, encoding: 'utf8', cwd: ROOT });
  assert.is(submitted.status, 0, submitted.stderr);
  const sub = JSON.parse(submitted.stdout.trim().split('\n').pop()!) as SubmittedJob & { tasks: string[] };
  assert.is(sub.tasks.length, 3);
  const one = path.join(tmp, 'harvest-one');
  await runHarvest({ model: STORIES + 'stories260K.bin', text, layer: 2, out: one, dtype: 'f32', shardRows: 500, skipBos: true, batchRows: 1024, quiet: true }, cpu);
  const states = await waitFor(sub);
  const logs = () => [...fs.readdirSync(path.join(out, 'slurm'))].map((f) => `--- ${f}\n${logOf(path.join(out, 'slurm', f))}`).join('\n');
  assert.ok([...states.values()].every((st) => st === 'COMPLETED'), `${JSON.stringify([...states])}\n${logs()}`);
  const a = readMatrix(out);
  const b = readMatrix(one);
  assert.is(a.rows, b.rows);
  assert.ok(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer)), 'the activations, bit for bit');
  const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { parts: number; complete: boolean };
  assert.is(m.parts, 3);
  assert.ok(m.complete);
  assert.match(logOf(path.join(out, 'slurm', `${sub.afterId}.out`)), /harvested: \d+ rows of blocks\.2\.hook_resid_pre/);
  assert.equal(harvestJob({ out, parts: 3, command: [], mergeCommand: [], cpusPerTask: 1 }).job.tasks, []);
});

s.run();

// Issue 21, without Slurm: the job-array script a sweep or a harvest submits (array size, the piece each task
// runs, executed here with bash as Slurm would run it), the pass-through sbatch options, the dependent job's
// command line and the id it depends on (through a stand-in sbatch), and which pieces a resubmission lists.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { partDir } from '../../src/model/parts.js';
import { planRuns } from '../../src/sweep/plan.js';
import {
  ARRAY_ID,
  dryRunText,
  harvestJob,
  parseJobId,
  parseSlurmOpts,
  renderArrayJob,
  shellJoin,
  shellWords,
  slurmSubmit,
  submitArrayJob,
  sweepJob,
  taskCommand,
  writeArrayJob,
  type ArrayJob,
} from '../../src/sweep/slurm.js';

const s = suite('sweep: Slurm job arrays (no Slurm needed)');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-slurm-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Run a generated array script as Slurm would run task `i` (bash, $SLURM_ARRAY_TASK_ID set); its stdout. */
function runTask(script: string, i: number): string {
  const r = spawnSync('bash', [script], { env: { ...process.env, SLURM_ARRAY_TASK_ID: String(i), SLURM_ARRAY_JOB_ID: '7' }, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return r.stdout;
}

// A stand-in program that prints its arguments one per line: what a task would run, made visible.
const ECHO = ['printf', '%s\\n'];

function job(over: Partial<ArrayJob> = {}): ArrayJob {
  return {
    dir: path.join(tmp, 'job'),
    script: 'test.sbatch',
    name: 'batchtopk-test',
    command: [...ECHO, 'sweep', '--out', 'x'],
    taskFlag: '--only',
    tasks: ['a', 'b', 'c'],
    cpusPerTask: 4,
    cwd: tmp,
    after: { name: 'batchtopk-report', command: ['batchtopk', 'report', 'x'] },
    ...over,
  };
}

s('the script: one array task per piece, #SBATCH header with the CPUs, the log path and the pass-through options', () => {
  const r = renderArrayJob(job({ slurmOpts: '--gres=gpu:1 --time 4:00:00 -p gpu --comment "two words"' }));
  const head = r.text.split('\n').filter((l) => l.startsWith('#SBATCH'));
  assert.equal(head, [
    '#SBATCH --job-name=batchtopk-test',
    '#SBATCH --array=0-2',
    '#SBATCH --cpus-per-task=4',
    `#SBATCH --output=${path.join(tmp, 'job', 'slurm', '%A_%a.out')}`,
    `#SBATCH --chdir=${tmp}`,
    '#SBATCH --gres=gpu:1',
    '#SBATCH --time 4:00:00',
    '#SBATCH -p gpu',
    "#SBATCH --comment 'two words'",
  ]);
  assert.is(r.scriptPath, path.join(tmp, 'job', 'test.sbatch'));
  assert.equal(r.arrayArgs, ['--parsable', r.scriptPath]);
  assert.ok(renderArrayJob(job({ maxParallel: 2 })).text.includes('#SBATCH --array=0-2%2\n'));
});

s('task i runs the command with --only <the i-th name>, names with spaces and quotes intact (bash runs the script)', () => {
  const names = ['batchtopk-k2-m24', "it's a name", 'x"y $HOME `z`'];
  const r = writeArrayJob(job({ tasks: names }));
  names.forEach((n, i) => assert.is(runTask(r.scriptPath, i), ['sweep', '--out', 'x', '--only', n].join('\n') + '\n', `task ${i}`));
  const bad = spawnSync('bash', [r.scriptPath], { env: { ...process.env, SLURM_ARRAY_TASK_ID: '3' }, encoding: 'utf8' });
  assert.is.not(bad.status, 0, 'an index past the table fails rather than running an empty piece');
});

s('property: any words survive shellJoin -> bash (the command and the task names reach the task exactly)', () => {
  const word = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', "'", '"', '\\', '$', '`', '!', '*', '?', ';', '&', '|', '\t', '\n', '(', '#', '~', '=', '%', 'é'), maxLength: 12 });
  // Mostly-plain words too: one unsafe character among safe ones is where a quoting rule slips.
  const nearPlain = fc.string({ unit: fc.constantFrom('a', '0', '-', '=', '/', '$', '*', '~', '!', '{', ','), minLength: 1, maxLength: 4 });
  fc.assert(
    fc.property(fc.array(fc.oneof(word, nearPlain), { minLength: 1, maxLength: 5 }), (words) => {
      const r = spawnSync('bash', ['-c', `printf '%s\\0' ${shellJoin(words)}`], { encoding: 'utf8' });
      assert.equal(r.stdout.split('\0').slice(0, -1), words);
    }),
    { numRuns: 60 },
  );
  assert.equal(shellWords(`--a=1  --b 'x y' "p q" c\\ d ''`), ['--a=1', '--b', 'x y', 'p q', 'c d', '']);
});

s('--slurm-opts: options the script owns are refused with the flag to use; GPU requests stay off the dependent job', () => {
  for (const o of ['--array=0-3', '-a 1', '--output=x', '-o x', '--dependency=afterok:1', '--wrap=x', '--chdir=/', '-J n', '--job-name n']) {
    assert.throws(() => parseSlurmOpts(o), /--slurm-opts: .* cannot be given here/, o);
  }
  assert.throws(() => parseSlurmOpts('-c 8'), /give --cpus-per-task instead/);
  assert.throws(() => parseSlurmOpts('gpu:1'), /not an sbatch option/);
  assert.throws(() => parseSlurmOpts('--comment "x'), /unclosed "/);
  assert.equal(parseSlurmOpts(' --time 1:00:00  --mem=4G '), [['--time', '1:00:00'], ['--mem=4G']]);
  const r = renderArrayJob(job({ slurmOpts: '--gres=gpu:1 --gpus-per-task 1 -G1 --partition gpu --time=1:00:00 --account lab' }));
  const cmd = r.afterArgs.join(' ');
  assert.not.match(cmd, /gres|gpus|-G1/);
  for (const kept of ['--partition gpu', '--time=1:00:00', '--account lab']) assert.ok(cmd.includes(kept), kept);
  assert.throws(() => renderArrayJob(job({ cpusPerTask: 0 })), /--cpus-per-task 0/);
});

s('the dependent job waits on the array id sbatch answered (afterany), logs to <dir>/slurm/<id>.out, runs the after command', () => {
  const calls: string[][] = [];
  const answers = ['4242;cluster\n', '4243\n'];
  const sub = submitArrayJob(job(), (args) => (calls.push(args), answers.shift()!));
  assert.is(sub.arrayId, '4242');
  assert.is(sub.afterId, '4243');
  assert.equal(calls[0], ['--parsable', path.join(tmp, 'job', 'test.sbatch')]);
  const after = calls[1]!;
  assert.ok(after.includes('--dependency=afterany:4242'), after.join(' '));
  assert.ok(after.includes(`--output=${path.join(tmp, 'job', 'slurm', '%j.out')}`));
  assert.equal(after.slice(-2), ['--wrap', 'batchtopk report x']);
  assert.ok(fs.statSync(path.join(tmp, 'job', 'slurm')).isDirectory(), 'the log folder exists before the jobs start (Slurm does not create it)');
  assert.ok(sub.follow.some((l) => l === 'follow: squeue -j 4242,4243'), sub.follow.join('\n'));
  assert.ok(sub.follow.some((l) => l.includes(path.join(tmp, 'job', 'slurm', '4242_<task>.out'))), sub.follow.join('\n'));
  // Nothing left for an array: the dependent job alone, without a dependency.
  const only: string[][] = [];
  const none = submitArrayJob(job({ tasks: [] }), (args) => (only.push(args), '9\n'));
  assert.is(only.length, 1);
  assert.is(none.arrayId, null);
  assert.not.ok(only[0]!.some((a) => a.startsWith('--dependency')));
  assert.throws(() => parseJobId('Submitted batch job 12'), /not a job id/);
  assert.throws(() => submitArrayJob(job(), () => 'error\n'), /not a job id/);
});

s('--dry-run text: the script and both sbatch lines, the dependency on the array id still to come', () => {
  const r = renderArrayJob(job());
  const t = dryRunText(r);
  assert.ok(t.includes(r.text.trimEnd()));
  assert.ok(t.includes(`sbatch --parsable ${r.scriptPath}`));
  assert.ok(t.includes(`--dependency=afterany:${ARRAY_ID}`));
});

s('slurmSubmit: a dry run writes the script and submits nothing; a submission says the ids, how to follow, what was left out', () => {
  const dir = path.join(tmp, 'outcome');
  const dry = slurmSubmit(job({ dir }), ['z'], { dryRun: true, sbatch: () => assert.unreachable('sbatch on a dry run') as never });
  assert.ok(fs.existsSync(dry.scriptPath));
  assert.is(dry.arrayId, null);
  assert.ok(dry.lines.join('\n').includes('#SBATCH --array=0-2'));
  assert.ok(dry.lines.includes('# 1 finished earlier, left out: z'));
  const ids = ['11', '12'];
  const sub = slurmSubmit(job({ dir }), [3], { sbatch: () => ids.shift()! });
  assert.equal([sub.arrayId, sub.afterId, sub.tasks], ['11', '12', ['a', 'b', 'c']]);
  assert.ok(sub.lines.includes('follow: squeue -j 11,12'));
  assert.ok(sub.lines.includes('1 finished earlier, left out: 3'));
});

s('taskCommand: the same command line less the submission flags, either spelling of a valued flag', () => {
  const args = ['sweep', '--data', 'a.npy', '--slurm', '--slurm-opts', '--gres=gpu:1', '--only=topk-*', '--cpus-per-task', '8', '--dry-run', '--k', '2,4'];
  const drop = { valued: ['--slurm-opts', '--only', '--cpus-per-task'], bare: ['--slurm', '--dry-run'] };
  assert.equal(taskCommand(args, drop, ['node', '/abs/bin/batchtopk.js']), ['node', '/abs/bin/batchtopk.js', 'sweep', '--data', 'a.npy', '--k', '2,4']);
  const self = taskCommand([], drop);
  assert.is(self[0], process.execPath);
  assert.ok(path.isAbsolute(self[self.length - 1]!));
});

function writeJson(file: string, v: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(v));
}

s('resubmission lists only the runs the sweep would not skip: finished summary and run.json (JumpReLU: its search), CE when asked', () => {
  const out = path.join(tmp, 'sweep');
  const runs = planRuns({ archs: ['batchtopk', 'jumprelu'], ks: [2, 4], dictSizes: [24] });
  const base = { runs, command: [...ECHO, 'sweep'], reportCommand: ['batchtopk', 'report', out], cpusPerTask: 2, cwd: tmp };
  assert.equal(sweepJob({ ...base, out }).job.tasks, runs.map((r) => r.name), 'a new sweep: every run');
  writeJson(path.join(out, 'batchtopk-k2-m24', 'summary.json'), { finished: true });
  writeJson(path.join(out, 'batchtopk-k2-m24', 'run.json'), { name: 'batchtopk-k2-m24' });
  writeJson(path.join(out, 'batchtopk-k4-m24', 'summary.json'), { finished: false }); // interrupted: resumed by its task
  writeJson(path.join(out, 'batchtopk-k4-m24', 'run.json'), {});
  writeJson(path.join(out, 'jumprelu-k2-m24', 'summary.json'), { finished: true }); // a search trial's run, search not recorded
  writeJson(path.join(out, 'jumprelu-k2-m24', 'run.json'), { l0Coeff: 1 });
  writeJson(path.join(out, 'jumprelu-k4-m24', 'summary.json'), { finished: true });
  writeJson(path.join(out, 'jumprelu-k4-m24', 'run.json'), { l0Coeff: 1, search: { trials: [] } });
  const { job: j, finished } = sweepJob({ ...base, out: 'sweep' });
  assert.equal(finished, ['batchtopk-k2-m24', 'jumprelu-k4-m24']);
  assert.equal(j.tasks, ['batchtopk-k4-m24', 'jumprelu-k2-m24']);
  assert.is(j.dir, out, 'a relative --out resolves against the working directory');
  const r = writeArrayJob(j);
  assert.is(r.scriptPath, path.join(out, 'sweep.sbatch'));
  assert.ok(r.text.includes('#SBATCH --array=0-1\n'));
  assert.is(runTask(r.scriptPath, 1), 'sweep\n--only\njumprelu-k2-m24\n');
  assert.equal(sweepJob({ ...base, out, ce: true }).finished, [], 'with CE a run is finished once ce.json is there');
  fs.writeFileSync(path.join(out, 'jumprelu-k4-m24', 'ce.json'), '{}');
  assert.equal(sweepJob({ ...base, out, ce: true }).finished, ['jumprelu-k4-m24']);
});

s('harvest: one task per unfinished part (--part i, 0-based), then the merge', () => {
  const out = path.join(tmp, 'harvest');
  const base = { out, parts: 3, command: [...ECHO, 'harvest', '--parts', '3'], mergeCommand: ['batchtopk', 'harvest', '--merge', out], cpusPerTask: 1, cwd: tmp };
  assert.equal(harvestJob(base).job.tasks, ['0', '1', '2']);
  writeJson(path.join(out, partDir(3, 1), 'part.json'), { part: 1 });
  writeJson(path.join(out, partDir(3, 1), 'manifest.json'), { complete: true });
  writeJson(path.join(out, partDir(3, 2), 'part.json'), { part: 2 });
  writeJson(path.join(out, partDir(3, 2), 'manifest.json'), { complete: false });
  const { job: j, finished } = harvestJob(base);
  assert.equal(finished, [1]);
  assert.equal(j.tasks, ['0', '2']);
  const r = writeArrayJob(j);
  assert.is(r.scriptPath, path.join(out, 'harvest.sbatch'));
  assert.is(runTask(r.scriptPath, 1), 'harvest\n--parts\n3\n--part\n2\n');
  assert.equal(r.afterArgs.slice(-2), ['--wrap', `batchtopk harvest --merge ${out}`]);
  assert.throws(() => harvestJob({ ...base, parts: 0 }), /--parts 0/);
});

s.run();

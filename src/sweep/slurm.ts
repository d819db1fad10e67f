// Sweeps and harvests as Slurm job arrays: the cluster's own scheduler runs one task per configuration (or
// harvest part), the shared file system is the only channel between tasks, and a dependent job
// (--dependency=afterany:<array>) finishes the work once every task has ended (the sweep report, the
// harvest merge). Nothing here coordinates tasks: each task is the ordinary resumable command restricted to
// its piece (`sweep --only <run>`, `harvest --parts N --part i`), so a resubmission after a failure or a
// pre-emption lists only the pieces not finished and the tasks themselves resume from their checkpoints.
//
// renderArrayJob is pure (the script text and the sbatch command lines, for --dry-run and the specs);
// submitArrayJob writes the script and runs `sbatch --parsable`; sweepJob and harvestJob decide which
// pieces are unfinished from the files the sweep and the harvest leave behind.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { partDir, partFinished } from '../model/parts.js';
import type { RunSpec } from './plan.js';

/** One job array (a task per entry of `tasks`) and the job that runs after all of it. */
export interface ArrayJob {
  /** Folder of the script (<dir>/<script>) and of the logs (<dir>/slurm/). */
  dir: string;
  /** Script file name, e.g. sweep.sbatch. */
  script: string;
  /** Slurm job name (squeue's NAME column). */
  name: string;
  /** What every task runs (argv; the program an absolute path), before its own two arguments. */
  command: string[];
  /** The flag naming a task's piece: task i runs `command taskFlag tasks[i]`. */
  taskFlag: string;
  /** The pieces, one array task each (may be empty: then only `after` is submitted). */
  tasks: string[];
  cpusPerTask: number;
  /** Extra sbatch options, as given to --slurm-opts ("--gres=gpu:1 --time=4:00:00 --partition=gpu"). */
  slurmOpts?: string;
  /** At most this many tasks at once (--array=0-N%limit); none by default. */
  maxParallel?: number;
  /** Working directory of the jobs: relative paths in the commands resolve against it. */
  cwd: string;
  /** The dependent job (afterany: it runs whatever the tasks' outcome; it finishes what finished). */
  after: { name: string; command: string[] };
}

export interface RenderedJob {
  /** Where the script goes. */
  scriptPath: string;
  /** The array script (#SBATCH header, the task table, the command). */
  text: string;
  /** sbatch's arguments for the array (null when there are no tasks). */
  arrayArgs: string[] | null;
  /** sbatch's arguments for the dependent job; ARRAY_ID stands for the array's job id. */
  afterArgs: string[];
  /** Log paths, Slurm's patterns (%A array id, %a task index, %j job id). */
  logs: { tasks: string; after: string };
}

export const ARRAY_ID = '<array-id>';

/** Options the job script sets itself; --slurm-opts may not set them. */
const OWNED = ['--array', '-a', '--output', '-o', '--error', '-e', '--parsable', '--wrap', '--dependency', '-d', '--chdir', '-D', '--job-name', '-J', '--cpus-per-task', '-c'];
/** Options that ask for GPUs: the dependent job (a report, a merge) needs none, so they are not passed to it. */
const GPU = ['--gres', '--gpus', '-G', '--gpus-per-task', '--gpus-per-node', '--gpus-per-socket', '--gpu-bind', '--gpu-freq', '--mem-per-gpu', '--cpus-per-gpu'];

/** A word for sh/bash, quoted only when it needs to be. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
export const shellJoin = (argv: readonly string[]): string => argv.map(shellQuote).join(' ');

/** Split a string into words the way a shell would (spaces separate, '...' and "..." quote, \ escapes). */
export function shellWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let has = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "'" || c === '"') {
      const end = s.indexOf(c, i + 1);
      if (end < 0) throw new Error(`--slurm-opts: unclosed ${c} in '${s}'`);
      cur += s.slice(i + 1, end);
      has = true;
      i = end;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) words.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) words.push(cur);
  return words;
}

/**
 * --slurm-opts as sbatch options, one per entry ("--time=4:00:00", or "--time 4:00:00" kept together as one
 * #SBATCH line). Options the script sets itself are refused, with the flag that sets them.
 */
export function parseSlurmOpts(s: string | undefined): string[][] {
  const opts: string[][] = [];
  for (const w of shellWords(s ?? '')) {
    if (w.startsWith('-')) opts.push([w]);
    else if (opts.length) opts[opts.length - 1]!.push(w);
    else throw new Error(`--slurm-opts: '${w}' is not an sbatch option (options start with -, e.g. --slurm-opts "--gres=gpu:1 --time=4:00:00")`);
  }
  for (const o of opts) {
    const name = o[0]!.split('=')[0]!;
    if (OWNED.includes(name) || OWNED.some((x) => x.length === 2 && name.startsWith(x) && !name.startsWith('--'))) {
      const why = /^(--cpus-per-task|-c)/.test(name) ? 'give --cpus-per-task instead' : 'the job script sets it itself';
      throw new Error(`--slurm-opts: ${o[0]} cannot be given here (${why})`);
    }
  }
  return opts;
}

const isGpu = (o: string[]): boolean => {
  const name = o[0]!.split('=')[0]!;
  return GPU.includes(name) || (name.startsWith('-G') && !name.startsWith('--'));
};

/** The script and the sbatch command lines of `job`, without touching anything. */
export function renderArrayJob(job: ArrayJob): RenderedJob {
  if (!Number.isInteger(job.cpusPerTask) || job.cpusPerTask < 1) throw new Error(`--cpus-per-task ${job.cpusPerTask}: expects a whole number >= 1`);
  if (job.maxParallel !== undefined && !(Number.isInteger(job.maxParallel) && job.maxParallel >= 1)) throw new Error(`--slurm-max-parallel ${job.maxParallel}: expects a whole number >= 1`);
  const opts = parseSlurmOpts(job.slurmOpts);
  const cwd = path.resolve(job.cwd);
  const dir = path.resolve(cwd, job.dir);
  const logDir = path.join(dir, 'slurm');
  const logs = { tasks: path.join(logDir, '%A_%a.out'), after: path.join(logDir, '%j.out') };
  const scriptPath = path.join(dir, job.script);
  const n = job.tasks.length;
  const sbatchLine = (o: string[]) => `#SBATCH ${o.map(shellQuote).join(' ')}`;
  const text = [
    '#!/bin/bash',
    `# ${job.name}: ${n} array task${n === 1 ? '' : 's'}, task i runs the command below with ${job.taskFlag} TASKS[i].`,
    `# Written by batchtopk; submit with: sbatch ${shellQuote(scriptPath)}`,
    `#SBATCH --job-name=${shellQuote(job.name)}`,
    `#SBATCH --array=0-${Math.max(0, n - 1)}${job.maxParallel ? `%${job.maxParallel}` : ''}`,
    `#SBATCH --cpus-per-task=${job.cpusPerTask}`,
    `#SBATCH --output=${shellQuote(logs.tasks)}`,
    `#SBATCH --chdir=${shellQuote(cwd)}`,
    ...opts.map(sbatchLine),
    'set -euo pipefail',
    'TASKS=(',
    ...job.tasks.map((t) => `  ${shellQuote(t)}`),
    ')',
    'TASK="${TASKS[$SLURM_ARRAY_TASK_ID]}"',
    `echo "batchtopk: task $SLURM_ARRAY_TASK_ID of array $SLURM_ARRAY_JOB_ID on $(hostname): ${job.taskFlag} $TASK" >&2`,
    `exec ${shellJoin(job.command)} ${shellQuote(job.taskFlag)} "$TASK"`,
    '',
  ].join('\n');
  const common = [`--job-name=${job.after.name}`, `--output=${logs.after}`, `--chdir=${cwd}`, ...opts.filter((o) => !isGpu(o)).flat()];
  return {
    scriptPath,
    text,
    arrayArgs: n > 0 ? ['--parsable', scriptPath] : null,
    afterArgs: ['--parsable', ...(n > 0 ? [`--dependency=afterany:${ARRAY_ID}`] : []), ...common, '--wrap', shellJoin(job.after.command)],
    logs,
  };
}

/** How sbatch is run: replaced in tests that have no Slurm. Returns stdout. */
export type SbatchRunner = (args: string[]) => string;

export const runSbatch: SbatchRunner = (args) => {
  try {
    return execFileSync('sbatch', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`sbatch not found: --slurm submits through Slurm's sbatch, so run it on a machine of the cluster (a login node), or give --dry-run to only write the script`);
    throw new Error(`sbatch ${shellJoin(args)} failed: ${(e.stderr ?? e.message).trim()}`);
  }
};

/** The job id in `sbatch --parsable`'s answer ("1234" or "1234;cluster"). */
export function parseJobId(stdout: string): string {
  const m = /^\s*(\d+)(;\S+)?\s*$/.exec(stdout);
  if (!m) throw new Error(`sbatch --parsable answered '${stdout.trim()}', not a job id`);
  return m[1]!;
}

export interface SubmittedJob extends RenderedJob {
  /** The array's job id, or null when there were no tasks. */
  arrayId: string | null;
  afterId: string;
  /** How to follow the jobs: squeue and the log paths with the ids filled in. */
  follow: string[];
}

/** Write the script (and the log folder, which Slurm does not create), submit the array, then the dependent job. */
export function submitArrayJob(job: ArrayJob, sbatch: SbatchRunner = runSbatch): SubmittedJob {
  const r = writeArrayJob(job);
  const arrayId = r.arrayArgs ? parseJobId(sbatch(r.arrayArgs)) : null;
  const afterId = parseJobId(sbatch(r.afterArgs.map((a) => a.replace(ARRAY_ID, arrayId ?? ''))));
  const ids = arrayId ? `${arrayId},${afterId}` : afterId;
  const follow = [
    arrayId
      ? `submitted job array ${arrayId} (${job.tasks.length} task${job.tasks.length === 1 ? '' : 's'}: ${r.scriptPath}) and job ${afterId} (${job.after.name}, after the array ends)`
      : `nothing left for an array: submitted job ${afterId} (${job.after.name})`,
    `follow: squeue -j ${ids}`,
    `logs: ${arrayId ? r.logs.tasks.replace('%A', arrayId).replace('%a', '<task>') + ', ' : ''}${r.logs.after.replace('%j', afterId)}`,
  ];
  return { ...r, arrayId, afterId, follow };
}

/** Render and write the script without submitting (--dry-run); the log folder too, so `sbatch <script>` works as is. */
export function writeArrayJob(job: ArrayJob): RenderedJob {
  const r = renderArrayJob(job);
  fs.mkdirSync(path.dirname(r.logs.tasks), { recursive: true });
  const tmp = `${r.scriptPath}.tmp-${os.hostname()}-${process.pid}-${process.hrtime.bigint().toString(36)}`;
  fs.writeFileSync(tmp, r.text, { mode: 0o755 });
  fs.renameSync(tmp, r.scriptPath);
  return r;
}

/** What --dry-run prints: the script and the two sbatch command lines. */
export function dryRunText(r: RenderedJob): string {
  return [
    `# ${r.scriptPath}`,
    r.text.trimEnd(),
    '',
    '# submit with:',
    ...(r.arrayArgs ? [`sbatch ${shellJoin(r.arrayArgs)}`] : []),
    `sbatch ${r.afterArgs.map((a) => (a.includes(ARRAY_ID) ? a : shellQuote(a))).join(' ')}`,
  ].join('\n');
}

/**
 * The task command: this process's own command line (node, its loader flags, the script, the arguments),
 * less the flags that only concern submission. `valued` flags take a value (`--only x` or `--only=x`);
 * `bare` flags take none.
 */
export function taskCommand(args: readonly string[], drop: { valued: string[]; bare: string[] }, self: string[] = [process.execPath, ...process.execArgv, path.resolve(process.argv[1] ?? '')]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = a.split('=')[0]!;
    if (drop.bare.includes(a)) continue;
    if (drop.valued.includes(name)) {
      if (!a.includes('=')) i++;
      continue;
    }
    out.push(a);
  }
  return [...self, ...out];
}

export interface SweepJobOptions {
  /** The sweep folder. */
  out: string;
  /** The configurations of this sweep (after --only): planRuns, selectRuns. */
  runs: RunSpec[];
  /** The sweep command every task runs, without --only and the submission flags (taskCommand). */
  command: string[];
  /** `batchtopk report <out>` as argv. */
  reportCommand: string[];
  /** The sweep evaluates CE (--model/--text): a run is finished only once its ce.json is there. */
  ce?: boolean;
  cpusPerTask: number;
  slurmOpts?: string;
  maxParallel?: number;
  cwd?: string;
}

/**
 * Whether the sweep will skip this run: its summary.json says finished (train writes summary.json at the end of
 * every invocation, an interrupted one too) and, for JumpReLU, run.json records the finished search (the last
 * thing the sweep writes); with CE, ce.json too. Anything less is resubmitted (the task resumes it).
 */
export function runFinished(out: string, run: RunSpec, ce = false): boolean {
  const dir = path.join(out, run.name);
  const read = (f: string): Record<string, unknown> | null => {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Record<string, unknown>;
    } catch {
      return null;
    }
  };
  if (read('summary.json')?.['finished'] !== true) return false;
  const meta = read('run.json');
  if (!meta || (run.arch === 'jumprelu' && !meta['search'])) return false;
  return !ce || fs.existsSync(path.join(dir, 'ce.json'));
}

/** The sweep's array job: one task per unfinished run (`--only <name>`), then `report <out>`. */
export function sweepJob(o: SweepJobOptions): { job: ArrayJob; finished: string[] } {
  const cwd = o.cwd ?? process.cwd();
  const out = path.resolve(cwd, o.out);
  const finished = o.runs.filter((r) => runFinished(out, r, o.ce)).map((r) => r.name);
  return {
    finished,
    job: {
      dir: out,
      script: 'sweep.sbatch',
      name: 'batchtopk-sweep',
      command: o.command,
      taskFlag: '--only',
      tasks: o.runs.map((r) => r.name).filter((n) => !finished.includes(n)),
      cpusPerTask: o.cpusPerTask,
      slurmOpts: o.slurmOpts,
      maxParallel: o.maxParallel,
      cwd,
      after: { name: 'batchtopk-report', command: o.reportCommand },
    },
  };
}

export interface HarvestJobOptions {
  /** The harvest folder (--out). */
  out: string;
  parts: number;
  /** The harvest command every task runs, with --parts N and without --part and the submission flags. */
  command: string[];
  /** `harvest --merge <out>` as argv. */
  mergeCommand: string[];
  cpusPerTask: number;
  slurmOpts?: string;
  maxParallel?: number;
  cwd?: string;
}

/** The harvest's array job: one task per unfinished part (`--part i`, 0-based), then the merge. */
export function harvestJob(o: HarvestJobOptions): { job: ArrayJob; finished: number[] } {
  if (!(Number.isInteger(o.parts) && o.parts >= 1)) throw new Error(`--parts ${o.parts}: expects a whole number >= 1`);
  const cwd = o.cwd ?? process.cwd();
  const out = path.resolve(cwd, o.out);
  const all = Array.from({ length: o.parts }, (_, i) => i);
  const finished = all.filter((i) => partFinished(path.join(out, partDir(o.parts, i))));
  return {
    finished,
    job: {
      dir: out,
      script: 'harvest.sbatch',
      name: 'batchtopk-harvest',
      command: o.command,
      taskFlag: '--part',
      tasks: all.filter((i) => !finished.includes(i)).map(String),
      cpusPerTask: o.cpusPerTask,
      slurmOpts: o.slurmOpts,
      maxParallel: o.maxParallel,
      cwd,
      after: { name: 'batchtopk-merge', command: o.mergeCommand },
    },
  };
}

export interface SlurmOutcome {
  dryRun: boolean;
  scriptPath: string;
  /** Job ids (null on a dry run, or no array when nothing was left). */
  arrayId: string | null;
  afterId: string | null;
  /** The pieces submitted, and those found finished and left out. */
  tasks: string[];
  finished: string[];
  /** What the command prints: the script and the sbatch lines on a dry run, else the ids and how to follow them. */
  lines: string[];
}

/** --slurm: write the script and submit it, or with `dryRun` only write it and say what would be submitted. */
export function slurmSubmit(job: ArrayJob, finished: readonly (string | number)[], o: { dryRun?: boolean; sbatch?: SbatchRunner } = {}): SlurmOutcome {
  const done = finished.map(String);
  const note = done.length ? [`${done.length} finished earlier, left out: ${done.join(', ')}`] : [];
  if (o.dryRun) {
    const r = writeArrayJob(job);
    return { dryRun: true, scriptPath: r.scriptPath, arrayId: null, afterId: null, tasks: job.tasks, finished: done, lines: [dryRunText(r), ...note.map((l) => `# ${l}`), `# not submitted (--dry-run)`] };
  }
  const r = submitArrayJob(job, o.sbatch);
  return { dryRun: false, scriptPath: r.scriptPath, arrayId: r.arrayId, afterId: r.afterId, tasks: job.tasks, finished: done, lines: [...r.follow, ...note] };
}

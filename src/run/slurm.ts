// `sweep ... --slurm` and `harvest ... --parts N --slurm`: the pieces handed to Slurm as a job array, with a
// dependent job that finishes the whole (the sweep's report, the harvest's merge). The scripts and their
// submission are sweep/slurm.ts's; this module maps the command's options onto them.
import * as path from 'node:path';
import { planRuns, selectRuns } from '../sweep/plan.js';
import { harvestJob, slurmSubmit, sweepJob, taskCommand, type SlurmOutcome } from '../sweep/slurm.js';
import { OptionError } from './errors.js';
import { flagOf, type Schema } from './schema.js';
import type { SweepOptions } from './sweep.js';

export interface SlurmOptions {
  slurm: boolean;
  slurmOpts?: string;
  cpusPerTask: number;
  slurmMaxParallel?: number;
  dryRun: boolean;
}

export const SLURM_SCHEMA: Schema<SlurmOptions> = {
  slurm: { kind: 'boolean', default: false, help: 'Submit as a Slurm job array (one task per piece) with a dependent job that finishes the whole; prints the job ids, squeue and the log paths' },
  slurmOpts: { kind: 'string', arg: 'opts', help: 'With --slurm: sbatch options for every task, e.g. "--gres=gpu:1 --time=4:00:00 --partition=gpu" (the dependent job gets them without GPU requests)' },
  cpusPerTask: { kind: 'int', min: 1, arg: 'n', default: 4, help: 'With --slurm: CPUs per array task' },
  slurmMaxParallel: { kind: 'int', min: 1, arg: 'n', help: 'With --slurm: at most n tasks at once' },
  dryRun: { kind: 'boolean', default: false, help: 'With --slurm: write the script and print it; submit nothing' },
};

/** The flags a task's command line must not carry: the submission's own, and the piece selector. */
function dropped(selector: string) {
  const flags = Object.entries(SLURM_SCHEMA).map(([k, s]) => ({ flag: flagOf(k), bare: s.kind === 'boolean' }));
  return { valued: [...flags.filter((f) => !f.bare).map((f) => f.flag), selector], bare: flags.filter((f) => f.bare).map((f) => f.flag) };
}

/** Submit the sweep's unfinished runs as an array (each `--only <run>`), then `report <out>` after it. */
export function submitSweep(s: SweepOptions, o: SlurmOptions, argv: readonly string[]): SlurmOutcome {
  const drop = dropped('--only');
  const all = planRuns(s.grid);
  const runs = s.only?.length ? selectRuns(all, s.only) : all;
  const { job, finished } = sweepJob({
    out: s.out,
    runs,
    command: taskCommand(argv, drop),
    reportCommand: [...taskCommand([], drop), 'report', path.resolve(s.out)],
    ce: Boolean(s.ce),
    cpusPerTask: o.cpusPerTask,
    slurmOpts: o.slurmOpts,
    maxParallel: o.slurmMaxParallel,
  });
  return slurmSubmit(job, finished, { dryRun: o.dryRun });
}

/** Submit a harvest's unfinished parts as an array (each `--part i`), then `harvest --merge <out>` after it. */
export function submitHarvest(out: string, parts: number | undefined, o: SlurmOptions, argv: readonly string[]): SlurmOutcome {
  if (parts === undefined) throw new OptionError('harvest --slurm needs --parts <n>: the number of array tasks');
  const drop = dropped('--part');
  const { job, finished } = harvestJob({
    out,
    parts,
    command: taskCommand(argv, drop),
    mergeCommand: [...taskCommand([], drop), 'harvest', '--merge', path.resolve(out)],
    cpusPerTask: o.cpusPerTask,
    slurmOpts: o.slurmOpts,
    maxParallel: o.slurmMaxParallel,
  });
  return slurmSubmit(job, finished, { dryRun: o.dryRun });
}

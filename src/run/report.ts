// `batchtopk report <dir>`: regenerate the report of a run folder (summary.json inside) or of a sweep folder
// (run folders inside). Nothing is written before everything is read: a damaged summary.json of a run
// folder is refused naming it, with the report as it was; in a sweep folder a damaged run is skipped with a
// warning naming its file, and the others are reported.
import * as fs from 'node:fs';
import { DataError } from '../data/errors.js';
import { isRunDir, readRun } from '../io/run_folder.js';
import { writeRunReport } from '../report/run.js';
import { collectRuns, writeSweepReport } from '../report/sweep.js';

export interface ReportResult {
  kind: 'run' | 'sweep';
  html: string;
  runs: number;
  /** Run folders left out of a sweep report, each with the reason. */
  skipped: string[];
}

export function runReport(dir: string, warn: (msg: string) => void = (m) => process.stderr.write(`warning: ${m}\n`)): ReportResult {
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new DataError(`${dir}: not a folder`);
  if (isRunDir(dir)) {
    readRun(dir); // a damaged file is refused here, naming it, before any write
    return { kind: 'run', html: writeRunReport(dir), runs: 1, skipped: [] };
  }
  const skipped: string[] = [];
  const runs = collectRuns(dir, (m) => skipped.push(m));
  if (runs.length === 0) {
    const why = skipped.length ? `; none could be read: ${skipped.join('; ')}` : '';
    throw new DataError(`${dir}: neither a run folder (summary.json) nor a sweep folder (run folders with summary.json)${why}`);
  }
  for (const m of skipped) warn(m);
  for (const r of runs) writeRunReport(r.dir);
  return { kind: 'sweep', html: writeSweepReport(dir).html, runs: runs.length, skipped };
}

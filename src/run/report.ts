// `batchtopk report <dir>`: regenerate the report of a run folder (summary.json inside) or of a sweep folder
// (run folders inside).
import * as fs from 'node:fs';
import { DataError } from '../data/errors.js';
import { isRunDir } from '../io/run_folder.js';
import { writeRunReport } from '../report/run.js';
import { collectRuns, writeSweepReport } from '../report/sweep.js';

export interface ReportResult {
  kind: 'run' | 'sweep';
  html: string;
  runs: number;
}

export function runReport(dir: string): ReportResult {
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new DataError(`${dir}: not a folder`);
  if (isRunDir(dir)) return { kind: 'run', html: writeRunReport(dir), runs: 1 };
  const runs = collectRuns(dir);
  if (runs.length === 0) throw new DataError(`${dir}: neither a run folder (summary.json) nor a sweep folder (run folders with summary.json)`);
  for (const r of runs) writeRunReport(r.dir);
  return { kind: 'sweep', html: writeSweepReport(dir).html, runs: runs.length };
}


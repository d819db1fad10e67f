// What can be seen to be wrong with activation data before a step is trained: rows that are all zero, or
// all one vector. An SAE learns nothing from them, and BatchTopK's theta (the smallest positive activation
// kept) is undefined when no pre-activation is positive, so without this check such data ends in an
// error about a threshold after the whole run. The run still goes on (the user may mean it); the warning
// names the file and what to check, and the summary repeats it.
import type { ActivationSource } from '../data/source.js';

/** Rows read from the start of the data: enough to see a broken file, cheap at any d. */
const ROWS = 4096;

export function dataWarnings(source: ActivationSource, o: { tensor?: string }): string[] {
  const d = source.dIn;
  const n = Math.min(source.rows, ROWS);
  if (n === 0) return [];
  const buf = new Float32Array(n * d);
  source.readRows(0, n, buf);
  let zero = 0;
  let same = 0;
  let finite = 0;
  let first = -1;
  for (let r = 0; r < n; r++) {
    const row = buf.subarray(r * d, (r + 1) * d);
    if (!row.every(Number.isFinite)) continue; // skipped by the loader anyway
    finite++;
    if (row.every((v) => v === 0)) zero++;
    if (first < 0) first = r;
    else if (row.every((v, c) => v === buf[first * d + c])) same++;
  }
  const where = `${source.describe()}${o.tensor ? ` (tensor ${o.tensor})` : ''}`;
  const check = `check --data${o.tensor ? ' and --tensor' : ''}: is this the file (and tensor) the harvest wrote?`;
  if (finite > 0 && zero === finite) return [`${where}: the first ${finite} rows are all zero; an SAE learns nothing from them and BatchTopK's theta is undefined; ${check}`];
  if (finite > 1 && same === finite - 1) return [`${where}: the first ${finite} rows are all the same vector; an SAE learns nothing from them beyond its bias; ${check}`];
  return [];
}

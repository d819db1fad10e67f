// A sweep trains every run (and every JumpReLU search trial) on one backend for the whole process, opened once
// and disposed once at the end (issue 17 item 2: a device torn down and made anew per run crashed Dawn).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../../src/backend/backend.js';
import { CpuBackend } from '../../src/backend/cpu/reference.js';
import { writeNpy } from '../../src/data/npy.js';
import { runSweep } from '../../src/run/sweep.js';
import { SyntheticModel } from '../../src/synth.js';

const s = suite('run: one backend per sweep');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-sweep-be-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

s('three runs and a JumpReLU search open the backend once and dispose it once, at the end', async () => {
  const data = path.join(tmp, 'acts.npy');
  writeNpy(data, new SyntheticModel({ dIn: 8, nFeatures: 16, meanActive: 2, seed: 4 }).rows(0, 1200), 1200, 8);
  let opened = 0;
  let disposed = 0;
  const open = async (): Promise<Backend> => {
    opened++;
    const be = new CpuBackend();
    const dispose = be.dispose.bind(be);
    be.dispose = () => {
      disposed++;
      dispose();
    };
    return be;
  };
  const r = await runSweep(
    {
      options: { data, batchSize: 64, steps: 8, quiet: true, deadTokens: 128, kAux: 4 },
      grid: { archs: ['batchtopk', 'topk', 'jumprelu'], ks: [2], dictSizes: [16] },
      out: path.join(tmp, 'sweep'),
      search: { tol: 0.5, shortSteps: 4, maxShort: 2, maxFull: 1 },
    },
    open,
  );
  assert.is(r.runs.length, 3);
  assert.is(opened, 1, 'one backend for every run and trial');
  assert.is(disposed, 1, 'disposed once, when the sweep ends');
});

s.run();

// How the PyTorch peer is run, in one place for every side-by-side bench.
// - Debian's python3-torch calls whatever libblas.so.3 the system has: with only the reference BLAS (libblas3)
//   a float32 matmul runs at ~4 GFLOP/s, with OpenBLAS (`apt-get install libopenblas0-pthread`) at ~100+ on
//   the 2-core dev VM. A peer on the reference BLAS is not what a user would run, so the benches check which
//   BLAS torch loaded and refuse a reference one (BATCHTOPK_PEER_ANY_BLAS=1 overrides, for a look only).
// - This workplace sets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for older OpenBLAS builds; they slow a current
//   one (measured: 85-90 against 120-135 GFLOP/s for 4096x768 . 768x3072), so the peer runs without them.
import { spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

/** The environment of a peer process: ours, less the OpenBLAS overrides. */
export function torchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['OPENBLAS_CORETYPE'];
  delete env['OPENBLAS_L2_SIZE'];
  return env;
}

const PROBE = `
import torch
torch.ones(64, 64) @ torch.ones(64, 64)
libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower() and '/' in l})
print(torch.__version__, torch.get_num_threads(), ';'.join(libs))
`;

/** torch's version and the BLAS library it loaded; throws when it is the reference BLAS (see above). */
export function torchBlas(): { torch: string; blas: string } {
  const r = spawnSync(PYTHON, ['-c', PROBE], { encoding: 'utf8', env: torchEnv() });
  if (r.status !== 0) throw new Error(`the PyTorch peer needs Debian's python3-torch (apt-get install python3-torch python3-numpy):\n${r.stderr.slice(-500)}`);
  const [torch = '?', , blas = ''] = r.stdout.trim().split(' ');
  if (!/openblas|mkl|blis/i.test(blas) && process.env['BATCHTOPK_PEER_ANY_BLAS'] !== '1') {
    throw new Error(`torch loaded the reference BLAS (${blas || 'none found'}), ~30x slower than what a user runs: apt-get install libopenblas0-pthread (or set BATCHTOPK_PEER_ANY_BLAS=1 to go on anyway)`);
  }
  return { torch, blas };
}

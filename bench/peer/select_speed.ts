// Top-k selection against torch.topk on this machine, in one run (issue 9, item 7): BatchTopK over
// [1, B*M] with k = B*32 and per-row TopK over [B, M] with k = 32, on ReLU'd standard normals; ours on the CPU
// reference backend (one core), on cpu-fast (per-row top-k on every core) and on WebGPU (the adapter there is), torch.topk(sorted=False) with threads =
// cores, and one read of the matrix (a sum) on each side as the floor. Medians of 3 runs after a warm-up;
// WebGPU runs end with sync(). Ours are checked against each other (same indices) before timing.
// Run: `npx tsx bench/peer/select_speed.ts` (B 4096, M 24576: ~2 GB, minutes) or `-- --short` (B 1024, M 4096).
// Options (bench/gpu/run.sh): --backends cpu,cpu-fast,webgpu (default all three), --torch-device cuda (torch
// on the GPU, each timing closed by torch.cuda.synchronize(); default cpu), --json FILE (the figures as JSON).
// Which WebGPU kernels ran: the batch select reports its path (sampled bracket or radix fallback).
// --without-torch: ours only, the torch columns '-' (bench/gpu/run.sh where the machine has no torch); without
// it a missing torch is an error, so that a comparison is never dropped silently.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { PYTHON, torchBlas, torchEnv } from './torch_env.js';
import * as os from 'node:os';
import type { Backend, Storage } from '../../src/backend/backend.js';
import { CpuBackend } from '../../src/backend/cpu/reference.js';
import { FastCpuBackend } from '../../src/backend/cpu_fast.js';
import { backendLabel } from '../../src/backend/open.js';
import { createWebGpuBackend } from '../../src/backend/webgpu/webgpu.js';
import { Rng } from '../../src/rng.js';

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const short = argv.includes('--short');
const wanted = (opt('backends') ?? 'cpu,cpu-fast,webgpu').split(',');
const torchDevice = opt('torch-device') ?? 'cpu';
const jsonFile = opt('json');
const withoutTorch = argv.includes('--without-torch');
if (!['cpu', 'cuda'].includes(torchDevice)) throw new Error(`--torch-device: cpu or cuda, got ${torchDevice}`);
const [B, M, K] = short ? [1024, 4096, 32] : [4096, 24576, 32];
const n = B * M;

const TORCH = `
import sys, time, json, torch
B, M, K, dev = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(${os.availableParallelism()})
x = torch.relu(torch.randn(B, M)).to(dev)
sync = torch.cuda.synchronize if dev == 'cuda' else (lambda: None)
def med(f):
    f()
    sync()
    ts = []
    for _ in range(3):
        t = time.perf_counter(); f(); sync(); ts.append(time.perf_counter() - t)
    return sorted(ts)[1] * 1000
print(json.dumps({
  'torch': torch.__version__,
  'device': torch.cuda.get_device_name(0) if dev == 'cuda' else 'cpu',
  'batch_ms': med(lambda: torch.topk(x.flatten(), B * K, sorted=False)),
  'rows_ms': med(lambda: torch.topk(x, K, dim=-1, sorted=False)),
  'read_ms': med(lambda: x.sum()),
}))
`;

async function med(be: Backend, f: () => void): Promise<number> {
  f();
  await be.sync();
  const ts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    f();
    await be.sync();
    ts.push(performance.now() - t);
  }
  return ts.sort((a, b) => a - b)[1]!;
}

const x = new Rng(7).fillNormal(new Float32Array(n)).map((v) => (v > 0 ? v : 0));
const ours: Record<string, { batch: number; rows: number; read: number }> = {};
const picks: Int32Array[] = [];
const makers: [string, () => Promise<Backend>][] = [
  ['cpu', async () => new CpuBackend()],
  ['cpu-fast', async () => new FastCpuBackend()],
  ['webgpu', () => createWebGpuBackend({})],
];
for (const [, make] of makers.filter(([name]) => wanted.includes(name))) {
  let be: Backend;
  try {
    be = await make();
  } catch (err) {
    console.error(`no WebGPU adapter: ${(err as Error).message.split('\n')[0]}`);
    continue;
  }
  try {
    const xs = be.alloc(n, 'f32');
    be.write(xs, x);
    const bi: Storage = be.alloc(B * K, 'i32');
    const ri: Storage = be.alloc(B * K, 'i32');
    const sum = be.alloc(1, 'f32');
    const batch = await med(be, () => be.topk(bi, xs, 1, n, B * K));
    const rows = await med(be, () => be.topk(ri, xs, B, M, K));
    const read = await med(be, () => be.reduce('sum', sum, xs, 1, n, 1));
    picks.push((await be.read(bi)) as Int32Array, (await be.read(ri)) as Int32Array);
    ours[backendLabel(be)] = { batch, rows, read };
    for (const s of [xs, bi, ri, sum]) be.free(s);
  } finally {
    be.dispose();
  }
}
for (let j = 2; j < picks.length; j++) {
  // (each backend added a batch and a per-row pick: all must equal the first backend's)
  if (picks[j]!.some((v, i) => v !== picks[j % 2]![i])) throw new Error('the backends selected different indices');
}
type TorchTimes = { torch: string; device: string; batch_ms: number; rows_ms: number; read_ms: number };
let t: TorchTimes | null = null;
let peer = 'no torch (--without-torch): ours only';
if (!withoutTorch) {
  // bench/gpu/run.sh names the interpreter that has torch (with CUDA) on a lent machine.
  const python = process.env['BATCHTOPK_PYTHON'] ?? PYTHON;
  const r = spawnSync(python, ['-c', TORCH, `${B}`, `${M}`, `${K}`, torchDevice], { encoding: 'utf8', env: torchEnv() });
  if (r.status !== 0) throw new Error(`torch failed (run with --without-torch for ours alone): ${r.stderr}`);
  t = JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchTimes;
  const blas = torchDevice === 'cuda' ? { torch: t.torch, blas: t.device } : torchBlas();
  peer = `torch ${t.torch} on ${blas.blas} with ${os.availableParallelism()} threads`;
}
const ms = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
const ratio = (a: number | undefined, b: number) => (a === undefined ? '-' : `${(a / b).toFixed(2)}x`);
if (jsonFile) {
  const ratios = t && Object.fromEntries(Object.entries(ours).map(([k, o]) => [k, { batch: t.batch_ms / o.batch, rows: t.rows_ms / o.rows, read: t.read_ms / o.read }]));
  writeFileSync(jsonFile, JSON.stringify({ B, M, K, torch: t, ours, torchOverOurs: ratios, when: new Date().toISOString() }, null, 1) + '\n');
}
console.log(`# top-k selection, B=${B} M=${M} k=${K} per row (BatchTopK k = ${B * K}); ${peer}; ${new Date().toISOString()}`);
console.log('| case | torch ms | ' + Object.keys(ours).map((k) => `ours ${k} ms | torch/ours`).join(' | ') + ' |');
console.log('|---|---|' + Object.keys(ours).map(() => '---|---|').join('') );
for (const [label, key, tk] of [['batch top-k [1, B*M]', 'batch', 'batch_ms'], ['per-row top-k [B, M]', 'rows', 'rows_ms'], ['one read (sum)', 'read', 'read_ms']] as const) {
  const cells = Object.values(ours).map((o) => `${o[key].toFixed(1)} | ${ratio(t?.[tk], o[key])}`);
  console.log(`| ${label} | ${ms(t?.[tk])} | ${cells.join(' | ')} |`);
}
// Each side against its own read of the matrix: comparable across runs on a loaded machine, where the
// absolute times (and so torch/ours) move with the other jobs.
const overRead = Object.entries(ours).map(([k, o]) => `${k} batch ${(o.batch / o.read).toFixed(2)}x, per-row ${(o.rows / o.read).toFixed(2)}x`);
const torchOverRead = t ? `torch batch ${(t.batch_ms / t.read_ms).toFixed(2)}x, per-row ${(t.rows_ms / t.read_ms).toFixed(2)}x; ` : '';
console.log(`\nin reads of the matrix (time / own sum): ${torchOverRead}${overRead.join('; ')}`);

// Side by side: our BatchTopK training step against the paper's dense PyTorch step (bench/peer/recipe.py),
// per configuration, on this machine, in one run. Each side runs in its own process (so peak RSS is its own),
// one after the other, on the same kind of input (random normal, the same batch every step, warm-up untimed).
// Ours uses `--backend auto` as `train` does (a hardware GPU, else the faster of cpu-fast and a software
// adapter by calibration) unless --backends lists others.
// Run: `npm run bench:peer` (the full table: tens of minutes on 2 cores) or `npm run bench:peer -- --short`
// (the two small configurations, 1 timed step: a check that everything runs).
// Options: --backends auto,cpu-fast,webgpu,cpu   --steps N   --warmup N   --configs d/m/k/batch,...
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON, torchBlas, torchEnv } from './torch_env.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const short = args.includes('--short');
const FULL = ['768/3072/32/4096', '768/24576/32/4096', '128/2048/32/1024', '64/1024/16/1024'];
const SHORT = ['128/2048/32/1024', '64/1024/16/1024'];
const configs = (flag('configs')?.split(',') ?? (short ? SHORT : FULL)).map((c) => c.split('/').map(Number) as [number, number, number, number]);
const backends = flag('backends')?.split(',') ?? ['auto'];
const steps = Number(flag('steps') ?? (short ? 1 : 3));
const warmup = Number(flag('warmup') ?? 1);

interface Result {
  tokens_per_s: number;
  mean_s: number;
  peak_rss_mb: number;
  backend?: string;
  torch?: string;
  threads?: number;
  notes?: string[];
}

function runJson(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Result {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 26, env });
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  return JSON.parse(line) as Result;
}

const blas = torchBlas();
console.log(`# ours vs PyTorch ${blas.torch} on ${blas.blas} (paper recipe), ${os.cpus()[0]?.model} x${os.availableParallelism()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${steps} timed step(s) after ${warmup} warm-up; ${new Date().toISOString()}`);
console.log('| d, m, k, batch | torch tok/s | torch peak RSS MB | ours backend | ours tok/s | ours peak RSS MB | ours / torch |');
console.log('|---|---|---|---|---|---|---|');
for (const [d, m, k, b] of configs) {
  const torch = runJson(PYTHON, [path.join(here, 'recipe.py'), 'time', '--d', `${d}`, '--m', `${m}`, '--k', `${k}`, '--batch', `${b}`, '--steps', `${steps}`, '--warmup', `${warmup}`, '--json'], torchEnv());
  for (const be of backends) {
    const ours = runJson(process.execPath, ['--import', 'tsx', path.join(here, 'ours_step.ts'), be, `${d}`, `${m}`, `${k}`, `${b}`, `${steps}`, `${warmup}`]);
    for (const n of ours.notes ?? []) console.error(`  (${be}) ${n}`);
    console.log(
      `| ${d}, ${m}, ${k}, ${b} | ${torch.tokens_per_s.toFixed(0)} | ${torch.peak_rss_mb.toFixed(0)} | ${be === ours.backend ? be : `${be} → ${ours.backend}`} | ` +
        `${ours.tokens_per_s.toFixed(0)} | ${ours.peak_rss_mb.toFixed(0)} | ${(ours.tokens_per_s / torch.tokens_per_s).toFixed(2)}x |`,
    );
  }
}

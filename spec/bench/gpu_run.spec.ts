// Issue 20, item 5: `bench/gpu/run.sh --quick` is how CI and developers check the one-shot device script
// before a GPU is lent: it must run green on the adapter at hand and write its JSON (status, selection
// figures against torch.topk, and per training step the device counters, with no host wait in a step).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { webgpu } from '../helpers/backends.js';

const s = suite('bench/gpu/run.sh --quick');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-gpu-run-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Step {
  config: string;
  ours: { tokens_per_s: number; kernelTiming: string; perStep: { readbacks: number; readbackBytes: number; dispatches: number }[] };
}

s('runs green on the adapter at hand and writes status, selection and step JSON', async () => {
  if (!(await webgpu())) return;
  const out = path.join(tmp, 'out');
  const root = path.resolve(import.meta.dirname, '../..');
  const r = spawnSync('bash', ['bench/gpu/run.sh', '--quick'], { cwd: root, env: { ...process.env, OUT: out }, encoding: 'utf8', timeout: 240_000 });
  assert.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const status = JSON.parse(fs.readFileSync(path.join(out, 'status.json'), 'utf8')) as Record<string, string>;
  assert.is(status.mode, 'quick');
  for (const [part, v] of Object.entries(status)) {
    if (part === 'mode' || part === 'adapter') continue;
    // The peer needs torch with CUDA: skipped here, said so; every part of ours ran.
    if (part.startsWith('torch ')) assert.ok(v.startsWith('ok') || v.startsWith('skipped: '), `${part}: ${v}`);
    else assert.ok(v.startsWith('ok'), `${part}: ${v}`);
  }
  const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as {
    select: { ours: Record<string, { batch: number; rows: number; read: number }>; torch: { rows_ms: number } | null };
    steps: Step[];
  };
  const g = summary.select.ours['webgpu']!;
  // torch.topk beside ours where the machine has torch (none in a bare CI image: ours alone then).
  const torchMs = summary.select.torch ? [summary.select.torch.rows_ms] : [];
  for (const v of [g.batch, g.rows, g.read, ...torchMs]) assert.ok(Number.isFinite(v) && v > 0, JSON.stringify(summary.select));
  assert.is(summary.steps.length, 2);
  for (const st of summary.steps) {
    assert.ok(st.ours.tokens_per_s > 0, st.config);
    assert.ok(st.ours.perStep.length >= 2, st.config);
    // The bench steps as train does between settles: no host wait, nothing read back.
    for (const p of st.ours.perStep) assert.equal([p.readbacks, p.readbackBytes, p.dispatches > 0], [0, 0, true], st.config);
  }
  assert.match(r.stdout, /\| per-row top-k \|/);
});

s.run();

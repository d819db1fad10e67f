// The installed command as a user runs it: the --json contract (one JSON object, last line of stdout),
// --help, and bad input producing one clear line on stderr and exit code 1, never a stack trace.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeNpy } from '../../src/data/npy.js';
import { SyntheticModel } from '../../src/synth.js';

const s = suite('cli: the batchtopk command');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-cli-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const bin = path.resolve(import.meta.dirname, '../../bin/batchtopk.js');

function run(...args: string[]) {
  return runEnv({}, ...args);
}
function runEnv(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, BATCHTOPK_DEBUG: '', ...env }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);

const data = path.join(tmp, 'acts.npy');
writeNpy(data, new SyntheticModel({ dIn: 12, nFeatures: 24, meanActive: 3, seed: 1 }).rows(0, 3000), 3000, 12);
const fast = ['--backend', 'cpu', '--quiet', '--batch-size', '64', '--k', '3', '--dict-size', '24'];

s('train --json: the last stdout line is one object with the documented keys', () => {
  const r = run('train', '--data', data, '--steps', '12', '--out', path.join(tmp, 'r1'), '--json', ...fast);
  assert.is(r.code, 0, r.err);
  const j = lastJson(r.out);
  for (const key of ['arch', 'k', 'dictSize', 'dIn', 'steps', 'tokens', 'backend', 'nmse', 'fvu', 'l0', 'deadFraction', 'threshold', 'tokensPerSecond']) {
    assert.ok(key in j, `missing ${key}`);
  }
  assert.is(j.arch, 'batchtopk');
  assert.is(j.steps, 12);
  assert.is(j.tokens, 12 * 64);
  assert.is(j.dIn, 12);
  assert.is(j.backend, 'cpu');
  assert.ok(j.nmse > 0 && j.nmse < 10);
  assert.is(j.evalTokens, 150, 'the default eval split: the last 5% of 3000 rows');
  const capped = run('train', '--data', data, '--steps', '2', '--eval-tokens', '100', '--out', path.join(tmp, 'r1c'), '--json', ...fast);
  assert.is(lastJson(capped.out).evalTokens, 100, '--eval-tokens caps the evaluation');
  const e = run('eval', path.join(tmp, 'r1', 'sae'), '--data', data, '--backend', 'cpu', '--json');
  assert.is(e.code, 0, e.err);
  const ej = lastJson(e.out);
  assert.is(ej.architecture, 'jumprelu');
  assert.is(ej.tokens, 3000);
  assert.ok(Array.isArray(ej.l0Histogram));
});

s('eval shows theta and batch-top-k metrics of a BatchTopK SAE; calibrate rewrites its theta', () => {
  const dir = path.join(tmp, 'r1-copy');
  fs.cpSync(path.join(tmp, 'r1', 'sae'), dir, { recursive: true });
  const e = run('eval', dir, '--data', data, '--backend', 'cpu', '--batch-size', '500');
  assert.is(e.code, 0, e.err);
  assert.match(e.out, /inference, theta [0-9.]+: nmse/);
  assert.match(e.out, /batch top-k \(batches of 500 rows, as the paper's code\): nmse [0-9.]+ .* L0 3\.00/);
  const c = run('calibrate', dir, '--data', data, '--batches', '4', '--backend', 'cpu', '--json');
  assert.is(c.code, 0, c.err);
  const j = lastJson(c.out);
  assert.is(j.batches, 4);
  assert.is(j.batchSize, 64, "the SAE's training batch size");
  assert.ok(j.theta > 0 && j.written === true);
  assert.is(lastJson(run('eval', dir, '--data', data, '--backend', 'cpu', '--json').out).threshold, j.theta);
  const human = run('calibrate', dir, '--data', data, '--batches', '4', '--backend', 'cpu', '--dry-run');
  assert.match(human.out, /theta [0-9.]+ \(was [0-9.]+\): mean cut of 4 batches of 64 rows/);
  assert.match(human.out, /dry run/);
});

s('flags with digits (--l0-coeff, --l1-coeff) reach the trainer', () => {
  const l0 = (coeff: string) => {
    const r = run('train', '--data', data, '--arch', 'jumprelu', '--steps', '15', '--lr', '0.01', '--l0-coeff', coeff, '--out', path.join(tmp, `l0-${coeff}`), '--json', ...fast);
    assert.is(r.code, 0, r.err);
    return lastJson(r.out).l0 as number;
  };
  assert.ok(l0('1') < l0('0'), 'a strong L0 penalty lowers L0');
  const bad = run('train', '--data', data, '--l1-coeff', 'abc', ...fast);
  assert.is(bad.code, 1);
  assert.match(bad.err, /--l1-coeff expects a number/);
});

s('a plain --resume <dir> continues that run to its own length, in its own folder, bit for bit', () => {
  const args = ['train', '--data', data, '--steps', '20', '--checkpoint-every', '5', ...fast];
  const full = run(...args, '--out', path.join(tmp, 'full'), '--json');
  assert.is(full.code, 0, full.err);
  const part = run(...args, '--out', path.join(tmp, 'part'), '--stop-after', '7');
  assert.is(part.code, 0, part.err);
  const resumed = run('train', '--resume', path.join(tmp, 'part'), '--quiet', '--json', '--backend', 'cpu');
  assert.is(resumed.code, 0, resumed.err);
  const j = lastJson(resumed.out);
  assert.is(j.steps, 20);
  assert.is(j.out, path.join(tmp, 'part'));
  assert.is(j.nmse, lastJson(full.out).nmse);
  const w = (dir: string) => fs.readFileSync(path.join(tmp, dir, 'sae', 'sae_weights.safetensors'));
  assert.ok(w('full').equals(w('part')), 'identical weights file');
  const steps = fs.readFileSync(path.join(tmp, 'part', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.equal(steps, [...new Set(steps)].sort((a, b) => a - b), 'metrics.jsonl steps increase without repeats');
});

s('synth writes data and dictionary that train reads', () => {
  const out = path.join(tmp, 'synth.npy');
  const r = run('synth', '--out', out, '--rows', '500', '--d-in', '8', '--features', '16', '--json');
  assert.is(r.code, 0, r.err);
  assert.is(lastJson(r.out).rows, 500);
  assert.ok(fs.existsSync(path.join(tmp, 'synth.dictionary.npy')));
  const t = run('train', '--data', out, '--steps', '3', '--out', path.join(tmp, 'r2'), '--json', '--backend', 'cpu', '--quiet', '--batch-size', '32', '--k', '2', '--dict-size', '16');
  assert.is(t.code, 0, t.err);
  assert.is(lastJson(t.out).dIn, 8);
});

s('info --backend webgpu --json describes the adapter and the limits in use', () => {
  const r = run('info', '--backend', 'webgpu', '--json');
  if (r.code !== 0 && process.env.BATCHTOPK_ALLOW_NO_WEBGPU === '1' && process.env.CI !== 'true') return; // no adapter here
  assert.is(r.code, 0, r.err);
  const j = lastJson(r.out);
  assert.is(j.backend, 'webgpu');
  assert.type(j.adapter.device, 'string');
  assert.ok(['core', 'compatibility'].includes(j.adapter.featureLevel));
  assert.ok(j.adapter.limits.maxStorageBufferBindingSize >= 128 * 2 ** 20, 'the adapter limit, not a lower default');
});

s('--backend auto: on a software adapter, the faster of cpu-fast and WebGPU by a cached calibration of the shape', () => {
  const info = run('info', '--backend', 'webgpu', '--json');
  if (info.code !== 0 || !/llvmpipe|lavapipe|swiftshader/i.test(JSON.stringify(lastJson(info.out).adapter))) return; // not a software adapter
  const cache = path.join(tmp, 'cache');
  const env = { BATCHTOPK_CACHE_DIR: cache };
  const args = ['train', '--data', data, '--steps', '1', '--batch-size', '32', '--dict-size', '24', '--k', '2', '--json', '--out', path.join(tmp, 'auto-cal')];
  const first = runEnv(env, ...args);
  assert.is(first.code, 0, first.err);
  const note = first.err.split('\n').find((l) => l.startsWith('backend: software WebGPU adapter'));
  assert.ok(note && / calibrated /.test(note), first.err);
  const file = JSON.parse(fs.readFileSync(path.join(cache, 'calibration.json'), 'utf8')) as Record<string, Record<string, number>>;
  const ms = Object.values(file)[0]!;
  const winner = ms['cpu-fast']! <= ms['webgpu']! ? 'cpu-fast' : 'webgpu';
  assert.is(lastJson(first.out).backend, winner, 'the measured faster backend');
  // The second run reads the cache (same machine, adapter and shape).
  const second = runEnv(env, ...args, '--overwrite');
  assert.is(second.code, 0, second.err);
  assert.match(second.err, /cached calibration/);
  assert.is(lastJson(second.out).backend, winner);
});

s('no adapter: --backend webgpu says what was tried and how to fix it; auto falls back to the CPU', () => {
  // D3D12 does not exist on Linux (nor Metal): a reliable way to have no adapter here.
  const backend = process.platform === 'win32' ? 'metal' : 'd3d12';
  const r = runEnv({ BATCHTOPK_WEBGPU_BACKEND: backend }, 'info', '--backend', 'webgpu');
  assert.is(r.code, 1);
  const line = r.err.trim().split('\n').filter((l) => l.startsWith('batchtopk: '));
  assert.is(line.length, 1, r.err);
  assert.match(line[0]!, new RegExp(`Tried: ${backend}`));
  assert.match(line[0]!, /apt-get install -y libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 libegl-dev libvulkan1 mesa-vulkan-drivers/);
  const auto = runEnv({ BATCHTOPK_WEBGPU_BACKEND: backend }, 'train', '--data', data, '--steps', '2', '--out', path.join(tmp, 'noadapter'), '--json', '--quiet', '--batch-size', '32', '--dict-size', '24', '--k', '2');
  assert.is(auto.code, 0, auto.err);
  assert.is(lastJson(auto.out).backend, 'cpu-fast');
});

s('--help lists options and examples', () => {
  const r = run('train', '--help');
  assert.is(r.code, 0);
  for (const flag of ['--data', '--arch', '--k', '--dict-size', '--batch-size', '--resume', '--json', 'Examples']) assert.ok(r.out.includes(flag), flag);
});

const bad = (name: string, file: string, bytes: Uint8Array | string) => {
  const p = path.join(tmp, file);
  fs.writeFileSync(p, bytes);
  return [name, p] as const;
};

s('bad input: one line naming the problem, exit 1, no stack trace', () => {
  const good = fs.readFileSync(data);
  const dir = path.join(tmp, 'mixed');
  fs.mkdirSync(dir);
  writeNpy(path.join(dir, 'a.npy'), new Float32Array(40), 10, 4);
  writeNpy(path.join(dir, 'b.npy'), new Float32Array(50), 10, 5);
  const cases: [string[], RegExp][] = [
    [['train', '--data', bad('trunc', 'trunc.npy', good.subarray(0, 1000))[1]], /trunc\.npy.*(truncat|size)/i],
    [['train', '--data', bad('txt', 'junk.npy', 'not an npy file')[1]], /junk\.npy/],
    [['train', '--data', bad('st', 'bad.safetensors', new Uint8Array(4))[1]], /bad\.safetensors/],
    [['train', '--data', dir], /d(im|=)|width|mismatch|differ/i],
    [['train', '--data', path.join(tmp, 'missing.npy')], /missing\.npy/],
    [['train', '--arch', 'gated'], /--arch must be one of/],
    [['train', '--k', 'abc'], /--k expects a number/],
    [['train', '--data', data, '--k', '100', '--dict-size', '24'], /k \(100\) must be <= dSae/],
    [['eval', path.join(tmp, 'nowhere'), '--data', data], /nowhere/],
    [['calibrate', path.join(tmp, 'nowhere'), '--data', data], /nowhere: no such SAE folder/],
    [['calibrate', path.join(tmp, 'r1', 'sae')], /calibrate needs --data/],
    [['frobnicate'], /unknown command/],
    [['eval', path.join(tmp, 'r1', 'sae'), '--data', data, '--bogus'], /Unknown option `--bogus`/],
  ];
  for (const [args, msg] of cases) {
    const r = run(...args, ...(args[0] === 'train' ? ['--backend', 'cpu', '--quiet', '--out', path.join(tmp, 'bad-out')] : []));
    assert.is(r.code, 1, `${args.join(' ')}: exit ${r.code}\n${r.err}`);
    const lines = r.err.trim().split('\n').filter((l) => !l.startsWith('Warning:'));
    assert.is(lines.length, 1, `${args.join(' ')}: expected one line, got\n${r.err}`);
    assert.match(lines[0]!, /^batchtopk: /);
    assert.match(lines[0]!, msg);
  }
});

s('NaN/Inf rows are skipped and counted, not trained on', () => {
  const x = new SyntheticModel({ dIn: 12, nFeatures: 24, meanActive: 3, seed: 2 }).rows(0, 1000);
  for (const r of [3, 77, 500]) x[r * 12 + 5] = r === 77 ? Infinity : NaN;
  const p = path.join(tmp, 'nan.npy');
  writeNpy(p, x, 1000, 12);
  const r = run('train', '--data', p, '--steps', '20', '--out', path.join(tmp, 'r3'), '--json', '--eval-fraction', '0.1', ...fast);
  assert.is(r.code, 0, r.err);
  const j = lastJson(r.out);
  assert.is(j.skippedNonFinite, 3);
  assert.ok(Number.isFinite(j.nmse));
});

s.run();

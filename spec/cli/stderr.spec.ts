// Issue 12, defects 2-4 as a user meets them: stderr carries only what the user needs (Dawn's own native
// notices are held back unless --verbose, and shown when no adapter could be had), the dead fraction comes
// with the evaluation size and a warning when that is too small, and a shard folder written by `synth`
// trains on the data only, saying which shards it read.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const s = suite('cli: stderr, eval size, shard folders');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-stderr-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/batchtopk.js');

// stderr goes through a shell pipe, as in `batchtopk ... 2>&1 | less` (a terminal behaves the same): Node's
// own piped stdio is a socket and a redirect to a file a regular file, both left uncaptured (device.ts).
let nth = 0;
function spawnToFile(cmd: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
  const outFile = path.join(tmp, `stdout-${nth}.txt`);
  const rcFile = path.join(tmp, `rc-${nth++}.txt`);
  const sh = '( "$@" 2>&1 1>"$OUT_FILE"; echo $? > "$RC_FILE" ) | cat';
  const r = spawnSync('/bin/sh', ['-c', sh, 'sh', process.execPath, ...cmd], {
    encoding: 'utf8',
    env: { ...process.env, BATCHTOPK_DEBUG: '', BATCHTOPK_VERBOSE: '', OUT_FILE: outFile, RC_FILE: rcFile, ...opts.env },
    cwd: opts.cwd,
    timeout: 120_000,
  });
  return { code: Number(fs.readFileSync(rcFile, 'utf8')), out: fs.readFileSync(outFile, 'utf8'), err: r.stdout };
}
function run(env: Record<string, string>, ...args: string[]) {
  return spawnToFile([bin, ...args], { env });
}
const DAWN = /third_party\/dawn|artificially reduced|Couldn't load Vulkan|^Warning: /m;
const noAdapterOk = process.env.BATCHTOPK_ALLOW_NO_WEBGPU === '1' && process.env.CI !== 'true';

s("Dawn's native notices stay off stderr unless --verbose", () => {
  const r = run({}, 'info', '--backend', 'webgpu');
  if (r.code !== 0 && noAdapterOk) return;
  assert.is(r.code, 0, r.err);
  assert.not.match(r.err, DAWN, `stderr:\n${r.err}`);
  assert.is(r.err.trim(), '', 'nothing else on stderr either');
  // The auto backend probes WebGPU and may fall back to the CPU: still nothing from Dawn.
  const data = path.join(tmp, 'acts.npy');
  assert.is(run({}, 'synth', '--out', data, '--rows', '600', '--d-in', '8', '--features', '16').code, 0);
  const t = run({}, 'train', '--data', data, '--steps', '2', '--batch-size', '32', '--k', '2', '--dict-size', '16', '--out', path.join(tmp, 'auto'));
  assert.is(t.code, 0, t.err);
  assert.not.match(t.err, DAWN, `stderr:\n${t.err}`);
});

s('the fd-2 capture: native writes are caught, stderr works again afterwards, nothing lost on error', () => {
  // A child writes straight to file descriptor 2 (as dawn.node's fprintf does) inside and outside the capture.
  const script = `
    import * as fs from 'node:fs';
    import { captureNativeStderr } from ${JSON.stringify(path.join(root, 'src/backend/webgpu/device.ts'))};
    const a = await captureNativeStderr(async () => { fs.writeSync(2, 'native inside\\n'); return 7; });
    fs.writeSync(2, 'after\\n');
    let err;
    try { await captureNativeStderr(async () => { fs.writeSync(2, 'said before failing\\n'); throw new Error('boom'); }); } catch (e) { err = e; }
    console.error('js after');
    console.log(JSON.stringify({ value: a.value, text: a.text, errNative: err.nativeStderr, msg: err.message }));
  `;
  const r = spawnToFile(['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root });
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out.trim().split('\n').pop()!);
  assert.equal(j, { value: 7, text: 'native inside\n', errNative: 'said before failing\n', msg: 'boom' });
  assert.is(r.err, 'after\njs after\n');
});

s('the dead fraction names its evaluation size, and a too-small one is warned about', () => {
  const data = path.join(tmp, 'small.npy');
  assert.is(run({}, 'synth', '--out', data, '--rows', '2000', '--d-in', '8', '--features', '16').code, 0);
  const r = run({}, 'train', '--data', data, '--steps', '2', '--batch-size', '32', '--k', '2', '--dict-size', '16', '--backend', 'cpu', '--quiet', '--out', path.join(tmp, 'small-run'));
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /dead \d+\.\d% \(no activation in 100 tokens: rarer than 1 in 34 may count\)/);
  assert.match(r.err, /warning: the dead fraction is over only 100 evaluation tokens/);
  assert.match(r.err, /at least 61352 tokens/);
  const e = run({}, 'eval', path.join(tmp, 'small-run', 'sae'), '--data', data, '--backend', 'cpu', '--max-rows', '500');
  assert.is(e.code, 0, e.err);
  assert.match(e.out, /no activation in 500 tokens/);
  assert.match(e.err, /only 500 evaluation tokens/);
});

s('synth then train --data <folder>: trains on the activations only and says which shards it read', () => {
  const dir = path.join(tmp, 'folder');
  fs.mkdirSync(dir);
  assert.is(run({}, 'synth', '--out', path.join(dir, 'acts.npy'), '--rows', '1000', '--d-in', '8', '--features', '16').code, 0);
  const r = run({}, 'train', '--data', dir, '--steps', '2', '--batch-size', '32', '--k', '2', '--dict-size', '16', '--backend', 'cpu', '--out', path.join(tmp, 'folder-run'), '--json');
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /1 shards by \*\.\{npy,safetensors\}, 1000 x 8/);
  assert.match(r.err, /shards read: acts\.npy \(1000\); passed over: acts\.dictionary\.npy \(synth ground-truth dictionary\)/);
  assert.is(JSON.parse(r.out.trim().split('\n').pop()!).evalTokens, 50, '5% of the 1000 data rows, none of the 16 dictionary rows');
});

s.run();

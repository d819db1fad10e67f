// Issue 11, item 4: Ctrl-C and SIGTERM never lose work. A real `train` process that receives SIGINT
// mid-run saves a checkpoint, says how to resume and exits 130; resuming it ends at the same weights, bit
// for bit, as the uninterrupted run. After the first signal a second one terminates at once.
// Issue 17, item 5: the same holds after the last step: a signal during the end-of-training theta
// calibration saves the trained weights, and the resume finishes the calibration, evaluation and export.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeNpy } from '../../src/data/npy.js';
import { SyntheticModel } from '../../src/synth.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { parseXml } from '../helpers/xml.js';

const s = suite('cli: SIGINT/SIGTERM during train');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-intr-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/batchtopk.js');
const env = { ...process.env, BATCHTOPK_DEBUG: '' };

const data = path.join(tmp, 'acts.npy');
writeNpy(data, new SyntheticModel({ dIn: 12, nFeatures: 24, meanActive: 3, seed: 5 }).rows(0, 4000), 4000, 12);
const STEPS = 1500;
const args = ['train', '--data', data, '--backend', 'cpu', '--batch-size', '64', '--k', '3', '--dict-size', '24', '--steps', String(STEPS), '--log-every', '10', '--checkpoint-every', '1000'];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** Start `batchtopk ...args`; once `ready()` holds, send `signal`; resolve when the process exits. */
function runAndSignal(cmdArgs: string[], ready: () => boolean, signal: NodeJS.Signals, onErr?: (d: string) => void): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bin, ...cmdArgs], { env });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => ((err += d), onErr?.(String(d))));
    const timer = setInterval(() => {
      if (ready()) {
        clearInterval(timer);
        p.kill(signal);
      }
    }, 5);
    p.on('error', reject);
    p.on('close', (code, sig) => {
      clearInterval(timer);
      resolve({ code, signal: sig, out, err });
    });
  });
}

const size = (f: string) => fs.statSync(f, { throwIfNoEntry: false })?.size ?? 0;
const weights = (dir: string) => fs.readFileSync(path.join(dir, 'sae', 'sae_weights.safetensors'));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  s(`${signal} mid-run: checkpoint, resume hint, exit ${signal === 'SIGINT' ? 130 : 143}; the resumed run equals the uninterrupted one bit for bit`, async () => {
    const full = path.join(tmp, `full-${signal}`);
    const cut = path.join(tmp, `cut-${signal}`);
    if (signal === 'SIGINT') {
      const r = spawnSync(process.execPath, [bin, ...args, '--quiet', '--out', full], { env, encoding: 'utf8' });
      assert.is(r.status, 0, r.stderr);
    }
    // Signal as soon as training has logged its first metrics line (step 10 of 1500).
    const x = await runAndSignal([...args, '--out', cut], () => size(path.join(cut, 'metrics.jsonl')) > 0, signal);
    assert.is(x.code, signal === 'SIGINT' ? 130 : 143, x.err);
    assert.match(x.err, new RegExp(`${signal}: stopping after the current step`));
    const line = x.err.trim().split('\n').pop()!;
    assert.match(line, new RegExp(`^batchtopk: interrupted \\(${signal}\\) at step \\d+ of ${STEPS}; checkpoint saved in .*Resume with: batchtopk train --resume `));
    const step = loadCheckpoint(path.join(cut, 'checkpoint.safetensors')).trainer.step;
    assert.ok(step >= 10 && step < STEPS, `interrupted mid-run (step ${step})`);
    assert.ok(line.includes(`at step ${step} of`), 'the message names the checkpoint step');
    assert.equal(fs.readdirSync(cut).filter((n) => n.includes('.tmp-')), [], 'no temporary files left');
    if (signal === 'SIGTERM') return; // the resume below is the same for either signal
    const resume = line.slice(line.indexOf('Resume with: batchtopk ') + 'Resume with: batchtopk '.length).split(' ');
    const r = spawnSync(process.execPath, [bin, ...resume, '--backend', 'cpu', '--quiet', '--json'], { env, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.is(JSON.parse(r.stdout.trim().split('\n').pop()!).steps, STEPS);
    assert.ok(weights(cut).equals(weights(full)), 'identical weights file after the interrupted run is resumed');
    // The finished run's report: index.html with the loss and L0 curves and the L0 histogram.
    const html = fs.readFileSync(path.join(cut, 'index.html'), 'utf8');
    for (const f of ['loss.svg', 'l0.svg', 'l0_hist.svg']) {
      assert.ok(html.includes(`src="plots/${f}"`), f);
      assert.is(parseXml(fs.readFileSync(path.join(cut, 'plots', f), 'utf8')).name, 'svg');
    }
  });
}

s('SIGINT during the theta calibration: the trained steps are saved; the resume calibrates, evaluates and exports, bit for bit', async () => {
  const cal = [...args.slice(0, args.indexOf('--steps')), '--steps', '40', '--log-every', '10', '--checkpoint-every', '0', '--calibration-batches', '5000'];
  const full = path.join(tmp, 'cal-full');
  const cut = path.join(tmp, 'cal-cut');
  const r = spawnSync(process.execPath, [bin, ...cal, '--quiet', '--json', '--out', full], { env, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  // --checkpoint-every 0: before this fix a signal here lost all 40 steps (no checkpoint at all).
  let err = '';
  const x = await runAndSignal([...cal, '--out', cut], () => /calibrating theta on 5000 training batches/.test(err), 'SIGINT', (d) => (err += d));
  assert.is(x.code, 130, x.err);
  assert.match(x.err, /SIGINT: stopping the theta calibration to save a checkpoint/);
  const line = x.err.trim().split('\n').pop()!;
  assert.match(line, /^batchtopk: interrupted \(SIGINT\) during the theta calibration \(batch \d+ of 5000\) after step 40 of 40; checkpoint saved in .*Resume with: batchtopk train --resume /);
  assert.is(loadCheckpoint(path.join(cut, 'checkpoint.safetensors')).trainer.step, 40);
  assert.not.ok(fs.existsSync(path.join(cut, 'summary.json')), 'no summary of a cut calibration');
  assert.not.ok(fs.existsSync(path.join(cut, 'batchtopk.lock')), 'the folder lock is released');
  const resume = line.slice(line.indexOf('Resume with: batchtopk ') + 'Resume with: batchtopk '.length).split(' ');
  const done = spawnSync(process.execPath, [bin, ...resume, '--backend', 'cpu', '--quiet', '--json'], { env, encoding: 'utf8' });
  assert.is(done.status, 0, done.stderr);
  const j = JSON.parse(done.stdout.trim().split('\n').pop()!);
  assert.is(j.steps, 40);
  assert.is(j.threshold, JSON.parse(r.stdout.trim().split('\n').pop()!).threshold);
  assert.ok(weights(cut).equals(weights(full)), 'identical weights file (theta included) after the cut calibration is resumed');
});

s('after the first signal the next one terminates at once, even in a busy loop', async () => {
  // A stand-in for a long synchronous step: after the first signal the process never yields again.
  const script = path.join(tmp, 'busy.ts');
  fs.writeFileSync(
    script,
    `import { InterruptWatch } from ${JSON.stringify(path.join(root, 'src/run/interrupt.ts'))};
     const w = new InterruptWatch(() => { process.stdout.write('first\\n'); setTimeout(() => { for (;;) {} }, 0); }).install();
     process.stdout.write('ready\\n');
     setInterval(() => {}, 1000);`,
  );
  const p = spawn(process.execPath, ['--import', 'tsx', script], { env, cwd: root });
  let out = '';
  let sent = 0;
  p.stdout.on('data', (d) => {
    out += d;
    if (out.includes('ready') && sent === 0) (sent++, p.kill('SIGINT'));
    if (out.includes('first') && sent === 1) (sent++, setTimeout(() => p.kill('SIGINT'), 50));
  });
  const killer = setTimeout(() => p.kill('SIGKILL'), 20_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((res) => p.on('exit', (c, s) => res([c, s])));
  clearTimeout(killer);
  assert.is(out.trim(), 'ready\nfirst');
  assert.is(signal, 'SIGINT', `terminated by the second SIGINT (code ${code}, signal ${signal})`);
});

s.run();

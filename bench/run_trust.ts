// What the run-trust checks cost (issue 17): the input fingerprint (SHA-256 of the whole file, streamed),
// its re-check on a resume (one stat for a settled file, a full re-read otherwise), and taking and
// releasing a folder lock. Side by side in one process, so the ratios hold on a loaded machine even when
// the absolute figures do not.
//   npx tsx bench/run_trust.ts [MiB=512] [repeats=3]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { differs, fingerprintFile, RACY_MS } from '../src/io/fingerprint.js';
import { lockFolder } from '../src/run/lock.js';

const mib = Number(process.argv[2] ?? 512);
const repeats = Number(process.argv[3] ?? 3);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-trust-'));
const file = path.join(dir, 'acts.bin');
// Content that is not all one byte (no compression or sparse-file shortcut in the file system).
const block = Buffer.alloc(8 << 20);
for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
const fd = fs.openSync(file, 'w');
for (let i = 0; i < mib / 8; i++) fs.writeSync(fd, block);
fs.closeSync(fd);

const time = (fn: () => void): number => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};
const best = (fn: () => void) => Math.min(...Array.from({ length: repeats }, () => time(fn)));

let fp = fingerprintFile(file);
const hashMs = best(() => (fp = fingerprintFile(file)));
const settled = { ...fp, takenAtMs: fp.takenAtMs + RACY_MS + 1 };
const statMs = best(() => {
  for (let i = 0; i < 1000; i++) differs(settled, file);
}) / 1000;
// A record taken right after the last write (times not settled): the check re-reads the file.
const rereadMs = best(() => differs({ ...fp, takenAtMs: 0 }, file));
const lockMs = best(() => {
  for (let i = 0; i < 1000; i++) lockFolder(dir, { command: 'bench' }).release();
}) / 1000;
fs.rmSync(dir, { recursive: true, force: true });

const gbs = (ms: number) => (mib / 1024 / (ms / 1000)).toFixed(2);
console.log(`file: ${mib} MiB in ${os.tmpdir()} (page cache warm after the write); best of ${repeats}; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`);
console.log(`fingerprint (SHA-256, 8 MiB reads):   ${hashMs.toFixed(0)} ms  = ${gbs(hashMs)} GiB/s  -> 100 GB in ${((100e9 / (mib * 2 ** 20)) * hashMs / 1000).toFixed(0)} s at this speed`);
console.log(`resume check, settled file (stat):    ${(statMs * 1000).toFixed(1)} us  (${(hashMs / statMs).toFixed(0)}x cheaper than re-hashing)`);
console.log(`resume check, unsettled (re-read):    ${rereadMs.toFixed(0)} ms  (${(rereadMs / hashMs).toFixed(2)}x the fingerprint)`);
console.log(`folder lock take + release:           ${(lockMs * 1000).toFixed(0)} us`);

// Test entry point: runs every spec/**/*.spec.ts file with uvu in one process (so the WebGPU specs share
// one device), then prints the plain closing line `N passed, N failed` that CI reads, and exits non-zero
// on any failure. Usage: tsx spec/run.ts [substring filter...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { closeSharedBackends } from './helpers/backends.js';

function specFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...specFiles(p));
    else if (name.endsWith('.spec.ts')) out.push(p);
  }
  return out;
}

const root = resolve(import.meta.dirname);
const filters = process.argv.slice(2);
const files = specFiles(root).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));

// uvu prints its own summary; capture it to derive the counts.
let captured = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
  captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  return write(chunk, ...rest);
}) as typeof process.stdout.write;

const g = globalThis as unknown as { UVU_DEFER: number; UVU_QUEUE: unknown[][]; UVU_INDEX: number };
g.UVU_DEFER = 1;
const uvu = await import('uvu');
let idx = 0;
for (const f of files) {
  g.UVU_INDEX = idx++;
  g.UVU_QUEUE.push([relative(root, f)]);
  await import(pathToFileURL(f).href);
}
let crashed = false;
try {
  await uvu.exec(false);
} catch (err) {
  crashed = true;
  console.error(err);
}
await closeSharedBackends();
process.stdout.write = write;

const strip = captured.replace(/\x1b\[[0-9;]*m/g, '');
const total = Number(/Total:\s+(\d+)/.exec(strip)?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(strip)?.[1] ?? 0);
const skipped = Number(/Skipped:\s+(\d+)/.exec(strip)?.[1] ?? 0);
const failed = total - passed + (crashed ? 1 : 0); // uvu's total excludes skipped tests
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));
process.exitCode = failed > 0 || total === 0 || process.exitCode ? 1 : 0;

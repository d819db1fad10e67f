// Runs every bench/*.bench.ts in its own process (each owns its WebGPU device), in name order.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
let failed = 0;
for (const f of readdirSync(dir).filter((n) => n.endsWith('.bench.ts')).sort()) {
  console.log(`\n## ${f}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, f), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;

// bench/gpu/run.sh's last step: reads the JSON files the run left in OUT and prints one table (stdout) and
// writes OUT/summary.json. Missing parts (a step that failed, no torch) show as '-'.
// Run: `npx tsx bench/gpu/summary.ts <OUT>`.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];
if (!out || !existsSync(out)) throw new Error(`usage: summary.ts <OUT directory> (got ${out ?? 'nothing'})`);
const read = (f: string): Record<string, unknown> | null => {
  try {
    return JSON.parse(readFileSync(join(out, f), 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
};
const status = read('status.json') as Record<string, string> | null;
const select = read('select.json') as {
  torch: { device: string; batch_ms: number; rows_ms: number; read_ms: number } | null;
  ours: Record<string, { batch: number; rows: number; read: number }>;
} | null;
const rows: string[] = [];
const summary: Record<string, unknown> = { status, select };
rows.push(`# bench/gpu/run.sh ${status?.['mode'] ?? ''}: ${status?.['adapter'] ?? 'adapter unknown'}`);
rows.push('| part | result |', '|---|---|');
for (const [part, st] of Object.entries(status ?? {})) if (!['mode', 'adapter'].includes(part)) rows.push(`| ${part} | ${st} |`);
rows.push('');
if (select) {
  const torch = select.torch;
  rows.push(`| selection (ms) | torch (${torch?.device ?? 'none'}) | ${Object.keys(select.ours).join(' | ')} |`);
  rows.push(`|---|---|${Object.keys(select.ours).map(() => '---|').join('')}`);
  for (const [label, key, tk] of [['batch top-k', 'batch', 'batch_ms'], ['per-row top-k', 'rows', 'rows_ms'], ['one read', 'read', 'read_ms']] as const) {
    const cells = Object.values(select.ours).map((o) => `${o[key].toFixed(1)}${torch ? ` (${(torch[tk] / o[key]).toFixed(2)}x)` : ''}`);
    rows.push(`| ${label} | ${torch ? torch[tk].toFixed(1) : '-'} | ${cells.join(' | ')} |`);
  }
  rows.push('');
}
const steps: Record<string, unknown>[] = [];
rows.push('| step d/m/k/batch | torch tok/s | ours webgpu tok/s | ours/torch | dispatches | submits | readbacks | readback B | upload B |');
rows.push('|---|---|---|---|---|---|---|---|---|');
for (const f of readdirSync(out).filter((n) => n.startsWith('step-') && n.endsWith('.json')).sort()) {
  const cfg = f.slice(5, -5);
  const ours = read(f) as { tokens_per_s: number; perStep: Record<string, number>[] } | null;
  const torch = read(`torch-${cfg}.json`) as { tokens_per_s?: number; error?: string } | null;
  const mean = (k: string) => (ours && ours.perStep.length ? ours.perStep.reduce((s, r) => s + (r[k] ?? 0), 0) / ours.perStep.length : NaN);
  const fmt = (v: number | undefined, d = 0) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d));
  const ratio = ours && torch?.tokens_per_s ? `${(ours.tokens_per_s / torch.tokens_per_s).toFixed(2)}x` : '-';
  rows.push(`| ${cfg.replaceAll('_', '/')} | ${fmt(torch?.tokens_per_s)} | ${fmt(ours?.tokens_per_s)} | ${ratio} | ${fmt(mean('dispatches'), 1)} | ${fmt(mean('submits'), 1)} | ${fmt(mean('readbacks'), 1)} | ${fmt(mean('readbackBytes'))} | ${fmt(mean('uploadBytes'))} |`);
  steps.push({ config: cfg, ours, torch });
}
summary['steps'] = steps;
writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 1) + '\n');
console.log(rows.join('\n'));

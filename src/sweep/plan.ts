// A sweep's grid: every architecture x k x dictionary size (or expansion), each run named
// `<arch>-k<k>-m<size>` (`-x<expansion>`): the name of its folder and what --only selects.
import { ARCHS, type Arch } from '../sae/config.js';

export interface Grid {
  archs: Arch[];
  ks: number[];
  /** Exactly one of dictSizes and expansions. */
  dictSizes?: number[];
  expansions?: number[];
}

export interface RunSpec {
  name: string;
  arch: Arch;
  /** k for TopK/BatchTopK, the target L0 for JumpReLU. */
  k: number;
  dictSize?: number;
  expansion?: number;
}

export function planRuns(g: Grid): RunSpec[] {
  const sizes: { dictSize?: number; expansion?: number; tag: string }[] = g.dictSizes
    ? g.dictSizes.map((m) => ({ dictSize: m, tag: `m${m}` }))
    : (g.expansions ?? []).map((x) => ({ expansion: x, tag: `x${x}` }));
  const out: RunSpec[] = [];
  for (const arch of g.archs) for (const k of g.ks) for (const s of sizes) out.push({ name: `${arch}-k${k}-${s.tag}`, arch, k, dictSize: s.dictSize, expansion: s.expansion });
  return out;
}

/** The runs whose name matches one of `patterns` (exact names or globs with *); an unmatched pattern is an error. */
export function selectRuns(runs: RunSpec[], patterns: string[]): RunSpec[] {
  const res = patterns.map((p) => ({ p, re: new RegExp('^' + p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$') }));
  for (const { p, re } of res) {
    if (!runs.some((r) => re.test(r.name))) throw new Error(`--only: '${p}' matches no run of this sweep (runs: ${runs.map((r) => r.name).join(', ')})`);
  }
  return runs.filter((r) => res.some(({ re }) => re.test(r.name)));
}

/** Parse a comma-separated list flag ('16,32,64', or a single number from the argument parser). */
export function parseList<T>(flag: string, v: unknown, parse: (s: string) => T | undefined, expects = ''): T[] | undefined {
  if (v === undefined) return undefined;
  const parts = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new Error(`${flag} expects a comma-separated list`);
  const out = parts.map((s) => {
    const x = parse(s);
    if (x === undefined) throw new Error(`${flag}: '${s}' is not ${expects || 'valid'}`);
    return x;
  });
  return [...new Set(out)];
}

export const parseArch = (s: string): Arch | undefined => (ARCHS.includes(s as Arch) ? (s as Arch) : undefined);
export const parsePositiveInt = (s: string): number | undefined => (/^\d+$/.test(s) && Number(s) >= 1 ? Number(s) : undefined);
export const parsePositive = (s: string): number | undefined => (Number.isFinite(Number(s)) && Number(s) > 0 ? Number(s) : undefined);

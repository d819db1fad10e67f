// Which files of a folder are activation shards: the manifest's list, else a glob over file names, never the
// side files our own commands write beside activations (SHARD_RULE says it in words for help and errors).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from './errors.js';

/** The default shard glob: every activation file the readers understand. */
export const DEFAULT_SHARDS = '*.{npy,safetensors}';

/**
 * Files in a shard folder that are never shards, whatever the glob: what our own commands write beside
 * activations (`synth` writes <stem>.dictionary.npy, the ground truth; a harvest writes token ids and
 * positions), and the held-out file the docs name (`eval --data held_out.npy`). Hidden files too.
 */
export const SIDE_FILES: readonly { glob: string; why: string }[] = [
  { glob: '.*', why: 'hidden' },
  { glob: '*.dictionary.npy', why: 'synth ground-truth dictionary' },
  { glob: 'tokens*', why: 'token ids' },
  { glob: 'positions*', why: 'token positions' },
  { glob: 'held_out*', why: 'held-out data' },
];

/** The rule, for help texts and errors. */
export const SHARD_RULE =
  `a directory's shards are the files listed under "shards" in its manifest.json if it has one, else the files ` +
  `matching --shards (default ${DEFAULT_SHARDS}), in name order; never ${SIDE_FILES.map((f) => f.glob).join(', ')}`;

/**
 * A glob over one file name as a RegExp: * (any run), ? (one character), [abc] / [a-z] / [!abc] (a set),
 * {a,b} (alternatives). No path separators: shards are the files of one folder.
 */
export function globToRegExp(glob: string): RegExp {
  if (glob.includes('/') || glob.includes('\\')) throw new DataError(`--shards '${glob}': a pattern over the folder's file names, without '/'`);
  let re = '';
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) throw new DataError(`--shards '${glob}': unclosed [`);
      let set = glob.slice(i + 1, end);
      if (set.startsWith('!')) set = '^' + set.slice(1);
      re += '[' + set.replace(/\\/g, '\\\\') + ']';
      i = end;
    } else if (c === '{') {
      re += '(?:';
      depth++;
    } else if (c === '}' && depth > 0) {
      re += ')';
      depth--;
    } else if (c === ',' && depth > 0) re += '|';
    else re += c.replace(/[.+^$()|\\{}\]]/g, '\\$&');
  }
  if (depth !== 0) throw new DataError(`--shards '${glob}': unclosed {`);
  return new RegExp('^' + re + '$');
}

const SIDE_RES = SIDE_FILES.map((f) => ({ re: globToRegExp(f.glob), why: f.why }));

/** Which files of a folder are shards, and which were passed over (with why), by SHARD_RULE. */
export function selectShards(dir: string, glob?: string): { names: string[]; skipped: string[]; rule: string } {
  const all = fs.readdirSync(dir).sort(byCodeUnit);
  const manifestFile = path.join(dir, 'manifest.json');
  let candidates: string[];
  let rule: string;
  if (glob === undefined && all.includes('manifest.json')) {
    let listed: unknown;
    try {
      listed = (JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { shards?: unknown }).shards;
    } catch (err) {
      throw new DataError(`${manifestFile}: not valid JSON (${(err as Error).message})`);
    }
    if (listed !== undefined) {
      if (!Array.isArray(listed) || !listed.every((n) => typeof n === 'string' && !n.includes('/') && !n.includes('\\'))) {
        throw new DataError(`${manifestFile}: "shards" must be a list of file names in that folder`);
      }
      const missing = listed.filter((n) => !all.includes(n));
      if (missing.length) throw new DataError(`${manifestFile} lists shards that are not there: ${missing.slice(0, 5).join(', ')}`);
      candidates = listed as string[];
      rule = 'manifest.json';
    } else {
      candidates = all;
      rule = DEFAULT_SHARDS;
    }
  } else {
    candidates = all;
    rule = glob ?? DEFAULT_SHARDS;
  }
  const re = rule === 'manifest.json' ? null : globToRegExp(rule);
  const names: string[] = [];
  const skipped: string[] = [];
  for (const n of candidates) {
    if (n === 'manifest.json') continue;
    const side = SIDE_RES.find((f) => f.re.test(n));
    const isData = SHARD_EXT.some((e) => n.endsWith(e));
    const chosen = re === null || re.test(n);
    if (side && (isData || chosen)) skipped.push(`${n} (${side.why})`);
    else if (!chosen) {
      if (isData) skipped.push(`${n} (does not match ${rule})`);
    } else if (isData) names.push(n);
    else if (re === null) throw new DataError(`${manifestFile}: shard ${n} is not a .npy or .safetensors file`);
    else if (rule !== DEFAULT_SHARDS) skipped.push(`${n} (not .npy or .safetensors)`);
  }
  return { names, skipped, rule };
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export const SHARD_EXT = ['.npy', '.safetensors'];

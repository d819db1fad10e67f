// Continuing earlier work (a run from its checkpoint, a sweep from its folder, a harvest from its manifest):
// the options that define the work must be the ones it was made with, or the result would mix two settings.
// One check for all three, naming each option that differs with both values and the way out.
import { DataError } from '../data/errors.js';
import { flagOf } from './schema.js';

export interface ResumeCheck {
  /** What holds the earlier work, e.g. "runs/x: this sweep" or "acts/: the harvest in this folder". */
  what: string;
  /** The earlier work's values, by option. */
  saved: Record<string, unknown>;
  /** This invocation's values (an option absent here is not compared). */
  now: Record<string, unknown>;
  /** The options to compare. */
  keys: readonly string[];
  /** How to get past the refusal. */
  fix: string;
  /** The name a key is shown by (default: its flag). */
  nameOf?: (key: string) => string;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The keys whose value differs, or throw a DataError naming them when `throwIfAny`. */
export function changedKeys(c: Pick<ResumeCheck, 'saved' | 'now' | 'keys'>): string[] {
  return c.keys.filter((k) => k in c.now && !same(c.saved[k], c.now[k]));
}

export function checkResume(c: ResumeCheck): void {
  const changed = changedKeys(c);
  if (changed.length === 0) return;
  const name = c.nameOf ?? flagOf;
  const diffs = changed.map((k) => `${name(k)} (${JSON.stringify(c.saved[k] ?? null)}, now ${JSON.stringify(c.now[k] ?? null)})`);
  throw new DataError(`${c.what} was made with different ${diffs.join(', ')}; ${c.fix}`);
}

// One schema per command: every option's name, type, default, help and whether it defines the run, written
// once. From it come the command line's flags and help texts (cli/flags.ts), the validation of values given
// by flag or by a library caller, the defaults, and the resume check (which options a resume may not change).
import { OptionError } from './errors.js';

export type OptionKind = 'int' | 'number' | 'string' | 'boolean' | 'choice' | 'list';

export interface OptionSpec {
  kind: OptionKind;
  help: string;
  /** The value's name in the help line (`--k <k>`); the option's own name by default. */
  arg?: string;
  /** Applied when the option is not given. */
  default?: unknown;
  /** The default with the embedded synthetic data set (train without --data). */
  embedded?: unknown;
  /** Defaults that depend on the architecture (every architecture named). */
  byArch?: Readonly<Record<string, unknown>>;
  /** Said in the help where the default is not a value (e.g. "one pass over the training rows"). */
  defaultText?: string;
  min?: number;
  max?: number;
  choices?: readonly string[];
  /** A list's items: comma-separated on the command line, each of this kind (with min, max, choices). */
  item?: Exclude<OptionKind, 'list' | 'boolean'>;
  /** The option defines what the run computes: a resume must not change it. */
  definesRun?: boolean;
  /**
   * The option changes a run's reported results without defining its training (its length, the size of its
   * evaluation): a resume may change it, but the runs of one sweep must share it.
   */
  affectsResults?: boolean;
  /** A boolean flag that is on by default and turned off with --no-<name>. */
  negatable?: boolean;
  /** The command's argument rather than a flag (`eval <sae-dir>`). */
  positional?: boolean;
}

/** A command's options, each described once; `O` is the command's options type. */
export type Schema<O> = { readonly [K in keyof O]-?: OptionSpec };

/** `dictSize` -> `--dict-size`; `l0Coeff` -> `--l0-coeff`. */
export function flagOf(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

const show = (v: unknown): string => (Array.isArray(v) ? v.join(',') : String(v));

/** The help line of an option, with its default as the schema states it. */
export function helpOf(spec: OptionSpec): string {
  const parts: string[] = [];
  if (spec.defaultText !== undefined) parts.push(spec.defaultText);
  else if (spec.byArch) {
    // The most common value is the default; the others are named by architecture.
    const counts = new Map<string, number>();
    for (const v of Object.values(spec.byArch)) counts.set(show(v), (counts.get(show(v)) ?? 0) + 1);
    const common = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    parts.push(common, ...Object.entries(spec.byArch).filter(([, v]) => show(v) !== common).map(([a, v]) => `${a}: ${show(v)}`));
  } else if (spec.default !== undefined && spec.kind !== 'boolean') parts.push(show(spec.default));
  if (spec.embedded !== undefined) parts.push(`embedded data: ${show(spec.embedded)}`);
  return parts.length ? `${spec.help} (default: ${parts.join('; ')})` : spec.help;
}

/**
 * A value as the option's type, or an OptionError naming the flag. Strings from the command line are
 * converted; values from a library caller are checked the same way.
 */
export function parseValue(key: string, spec: OptionSpec, v: unknown): unknown {
  const flag = flagOf(key);
  switch (spec.kind) {
    case 'boolean':
      if (typeof v !== 'boolean') throw new OptionError(`${flag} is a switch and takes no value, got '${String(v)}'`);
      return v;
    case 'string':
      if (typeof v !== 'string' || v === '') throw new OptionError(`${flag} expects a value`);
      return v;
    case 'list': {
      // From the command line: '16,32' (or a number, or repeated flags); from a library: an array.
      const parts = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((p) => p.trim()).filter((p) => p !== '');
      if (parts.length === 0) throw new OptionError(`${flag} expects a comma-separated list`);
      const item: OptionSpec = { ...spec, kind: spec.item ?? 'string' };
      const items = parts.map((p) => {
        try {
          return parseValue(key, item, p);
        } catch {
          throw new OptionError(`${flag}: '${p}' is not ${expects(item)}`);
        }
      });
      return [...new Set(items)];
    }
    case 'choice': {
      const s = String(v);
      if (!spec.choices!.includes(s)) throw new OptionError(`${flag} must be one of ${spec.choices!.join(', ')}, got '${s}'`);
      return s;
    }
    case 'int':
    case 'number': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (typeof v === 'boolean' || !Number.isFinite(n)) throw new OptionError(`${flag} expects a number, got '${String(v)}'`);
      if (spec.kind === 'int' && !Number.isInteger(n)) throw new OptionError(`${flag} expects an integer, got ${n}`);
      if (spec.min !== undefined && n < spec.min) throw new OptionError(`${flag} must be >= ${spec.min}, got ${n}`);
      if (spec.max !== undefined && n > spec.max) throw new OptionError(`${flag} must be <= ${spec.max}, got ${n}`);
      return n;
    }
  }
}

/** What a value of this spec must be, in words. */
function expects(spec: OptionSpec): string {
  if (spec.kind === 'choice') return `one of ${spec.choices!.join(', ')}`;
  if (spec.kind === 'string') return 'a value';
  const what = spec.kind === 'int' ? 'integer' : 'number';
  if (spec.min !== undefined && spec.min > 0 && (spec.kind === 'number' || spec.min === 1) && spec.max === undefined) return `a positive ${what}`;
  const range = [spec.min !== undefined ? `>= ${spec.min}` : '', spec.max !== undefined ? `<= ${spec.max}` : ''].filter(Boolean).join(' and ');
  return `an ${what}${range ? ' ' + range : ''}`;
}

/** What decides a context-dependent default. */
export interface DefaultContext {
  /** Training on the embedded synthetic data set. */
  embedded?: boolean;
  arch?: string;
}

/** The default of one option in a context, or undefined where it has none. */
export function defaultOf(spec: OptionSpec, ctx: DefaultContext = {}): unknown {
  if (ctx.embedded && spec.embedded !== undefined) return spec.embedded;
  if (spec.byArch && ctx.arch !== undefined) return spec.byArch[ctx.arch];
  return spec.default;
}

/**
 * Every option of `given` checked against the schema (unknown keys refused), and the defaults filled in
 * for the ones not given (undefined counts as not given).
 */
export function resolveOptions<O>(schema: Schema<O>, given: Partial<O>, ctx: DefaultContext = {}): O {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(given as Record<string, unknown>)) {
    if (v === undefined) continue;
    const spec = (schema as Record<string, OptionSpec>)[key];
    if (!spec) throw new OptionError(`unknown option '${key}' (options: ${Object.keys(schema).join(', ')})`);
    out[key] = parseValue(key, spec, v);
  }
  for (const [key, spec] of Object.entries(schema as Record<string, OptionSpec>)) {
    if (out[key] === undefined) {
      const d = defaultOf(spec, ctx);
      if (d !== undefined) out[key] = Array.isArray(d) ? [...d] : d;
    }
  }
  return out as O;
}

/** The options that define a run (a resume must not change them); with `results`, also those that change its results. */
export function definingKeys<O>(schema: Schema<O>, results = false): (keyof O & string)[] {
  return Object.entries(schema as Record<string, OptionSpec>)
    .filter(([, s]) => s.definesRun || (results && s.affectsResults))
    .map(([k]) => k as keyof O & string);
}

// A command's flags from its schema (run/schema.ts): the cac options with their help and defaults, and the
// flags as given turned into the command's typed options (validated by the schema, so a library caller and
// the command line get the same messages).
import type { Command } from 'cac';
import { flagOf, helpOf, parseValue, type OptionSpec, type Schema } from '../run/schema.js';

export type Flags = Record<string, unknown>;

/**
 * cac camel-cases `--dict-size` but not `--l0-coeff` (a hyphen before a digit): give every flag its
 * camelCase name so each option is read under one key.
 */
function camel(flags: Flags): Flags {
  const out: Flags = {};
  for (const [k, v] of Object.entries(flags)) out[k.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = v;
  return out;
}

function flagLine(key: string, spec: OptionSpec): string {
  const flag = flagOf(key);
  if (spec.kind === 'boolean') return spec.negatable ? `--no-${flag.slice(2)}` : flag;
  return `${flag} <${spec.arg ?? flag.slice(2)}>`;
}

/** Add the schema's options (all but `skip` and the positional ones) to a cac command. */
export function addFlags(cmd: Command, schema: Schema<object>, skip: readonly string[] = []): Command {
  for (const [key, spec] of Object.entries(schema as Record<string, OptionSpec>)) {
    if (spec.positional || skip.includes(key)) continue;
    cmd.option(flagLine(key, spec), helpOf(spec));
  }
  return cmd;
}

/**
 * The options given on the command line (only those: defaults are the run's to apply), each checked against
 * the schema. A positional argument is passed in `args`.
 */
export function readFlags<O>(schema: Schema<O>, raw: Flags, args: Partial<O> = {}): Partial<O> {
  const flags = camel(raw);
  const out: Record<string, unknown> = { ...args };
  for (const [key, spec] of Object.entries(schema as Record<string, OptionSpec>)) {
    if (spec.positional) continue;
    let v = flags[key];
    if (v === undefined) continue;
    // A negatable switch is given only when turned off (cac sets it true by default).
    if (spec.negatable && v === true) continue;
    // cac reads `--out 123` as a number; a string option takes it as written.
    if (spec.kind === 'string' && typeof v === 'number') v = String(v);
    out[key] = parseValue(key, spec, v);
  }
  return out as Partial<O>;
}

// Composition of kernel files. WGSL has no preprocessor, so kernels share code through one directive,
// resolved here before createShaderModule:
//   //#include "lib/scan.wgsl"
// on a line of its own is replaced by that file's composed text. Paths are relative to kernels/ (the same
// from every file, so a snippet reads the same wherever it is included). Each file is included at most once
// per kernel (a second include of it is dropped), so snippets may include what they need without clashing
// declarations. Variants of one kernel (e.g. scalar and vec4) are one included body plus a WGSL `alias` or
// `const` in each variant's file: WGSL's own declarations, so nothing else needs substituting.
// Every composed line remembers its file and line, so compile errors point at the file the text is in.
// A missing file, a cycle, or any other `//#` line is an error naming the file and line.

/** Where one composed line came from. */
export interface SourceLine {
  readonly file: string;
  readonly line: number;
}

export interface ComposedWgsl {
  readonly code: string;
  /** lines[i] is the origin of composed line i + 1. */
  readonly lines: readonly SourceLine[];
}

/** Reads a file by its kernels/-relative path; null when there is no such file. */
export type WgslReader = (file: string) => string | null;

const DIRECTIVE = /^\s*\/\/#/;
const INCLUDE = /^\s*\/\/#include\s+"([^"]*)"\s*$/;
// Plain relative paths only, so an include cannot reach outside kernels/.
const PATH = /^(?:[a-z0-9_]+\/)*[a-z0-9_]+\.wgsl$/;

/** The text of `file` with its includes resolved, and each line's origin. */
export function composeWgsl(file: string, read: WgslReader): ComposedWgsl {
  const code: string[] = [];
  const lines: SourceLine[] = [];
  const done = new Set<string>();
  const stack: string[] = [];

  const visit = (f: string, text: string): void => {
    stack.push(f);
    const src = text.split(/\r?\n/);
    // A final newline ends the last line; it does not start another.
    if (src.length > 1 && src[src.length - 1] === '') src.pop();
    src.forEach((l, i) => {
      const at = `${f}:${i + 1}`;
      if (!DIRECTIVE.test(l)) {
        code.push(l);
        lines.push({ file: f, line: i + 1 });
        return;
      }
      const m = INCLUDE.exec(l);
      if (!m) throw new Error(`${at}: unknown directive '${l.trim()}' (only //#include "path.wgsl")`);
      const inc = m[1]!;
      if (!PATH.test(inc)) throw new Error(`${at}: bad include path "${inc}" (a relative path like "lib/name.wgsl")`);
      if (stack.includes(inc)) throw new Error(`${at}: include cycle ${[...stack, inc].join(' -> ')}`);
      if (done.has(inc)) return;
      const body = read(inc);
      if (body === null) throw new Error(`${at}: included file "${inc}" not found`);
      visit(inc, body);
    });
    stack.pop();
    done.add(f);
  };

  const root = read(file);
  if (root === null) throw new Error(`${file}: not found`);
  visit(file, root);
  return { code: code.join('\n') + '\n', lines };
}

/** `file:line` of composed line `line` (1-based), or null when it is outside the composed text. */
export function sourceOf(c: ComposedWgsl, line: number): SourceLine | null {
  return c.lines[line - 1] ?? null;
}

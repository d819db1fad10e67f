// Composition of WGSL kernel files (src/backend/webgpu/wgsl_compose.ts): `//#include` resolves recursively,
// once per kernel, and a missing file, a cycle or a mistyped directive is an error naming the file and line;
// every composed line maps back to its file and line, also in the device's compile errors. Then the real
// kernels: each kernels/*.wgsl composes and compiles on the shared device, and each kernels/lib snippet is
// used by some kernel.
import { readdirSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PipelineCache, kernelSource, registerKernelSource } from '../../src/backend/webgpu/pipelines.js';
import type { GpuTensor } from '../../src/backend/webgpu/storage.js';
import { WebGpuBackend } from '../../src/backend/webgpu/webgpu.js';
import { composeWgsl, sourceOf, type ComposedWgsl } from '../../src/backend/webgpu/wgsl_compose.js';
import { webgpu } from '../helpers/backends.js';

const s = suite('wgsl composition: includes, errors, line mapping, every kernel compiles');

/** A reader over an in-memory tree of files. */
const tree = (files: Record<string, string>) => (f: string) => files[f] ?? null;

/** The composed text as `file:line text` rows, to compare code and line map together. */
const rows = (c: ComposedWgsl): string[] =>
  c.code.trimEnd().split('\n').map((l, i) => `${sourceOf(c, i + 1)!.file}:${sourceOf(c, i + 1)!.line} ${l}`);

function throwsWith(fn: () => unknown, message: string): void {
  try {
    fn();
  } catch (err) {
    assert.is((err as Error).message, message);
    return;
  }
  assert.unreachable(`expected an error: ${message}`);
}

s('an include is replaced by the file, nested includes too, and every line keeps its origin', () => {
  const c = composeWgsl(
    'k.wgsl',
    tree({
      'k.wgsl': 'a\n//#include "lib/x.wgsl"\nb\n',
      'lib/x.wgsl': 'x1\n  //#include  "lib/y.wgsl"  \nx3\n',
      'lib/y.wgsl': 'y1',
    }),
  );
  assert.equal(rows(c), ['k.wgsl:1 a', 'lib/x.wgsl:1 x1', 'lib/y.wgsl:1 y1', 'lib/x.wgsl:3 x3', 'k.wgsl:3 b']);
  assert.ok(c.code.endsWith('b\n'));
  assert.is(sourceOf(c, 0), null);
  assert.is(sourceOf(c, 6), null);
});

s('a file is included once per kernel: a second include of it is dropped', () => {
  const c = composeWgsl(
    'k.wgsl',
    tree({
      'k.wgsl': '//#include "lib/a.wgsl"\n//#include "lib/b.wgsl"\n//#include "lib/a.wgsl"\nk\n',
      'lib/a.wgsl': '//#include "lib/common.wgsl"\na\n',
      'lib/b.wgsl': '//#include "lib/common.wgsl"\nb\n',
      'lib/common.wgsl': 'common\n',
    }),
  );
  assert.equal(rows(c), ['lib/common.wgsl:1 common', 'lib/a.wgsl:2 a', 'lib/b.wgsl:2 b', 'k.wgsl:4 k']);
});

s('CRLF line ends and blank lines keep the line numbers', () => {
  const c = composeWgsl('k.wgsl', tree({ 'k.wgsl': 'a\r\n\r\n//#include "lib/x.wgsl"\r\nb', 'lib/x.wgsl': '\nx\n' }));
  assert.equal(rows(c), ['k.wgsl:1 a', 'k.wgsl:2 ', 'lib/x.wgsl:1 ', 'lib/x.wgsl:2 x', 'k.wgsl:4 b']);
});

s('a missing include names the including file and line', () => {
  const read = tree({ 'k.wgsl': 'a\n//#include "lib/x.wgsl"\n', 'lib/x.wgsl': 'x\n\n//#include "lib/gone.wgsl"\n' });
  throwsWith(() => composeWgsl('k.wgsl', read), 'lib/x.wgsl:3: included file "lib/gone.wgsl" not found');
  throwsWith(() => composeWgsl('none.wgsl', read), 'none.wgsl: not found');
});

s('a cycle is an error that shows the chain, also a file including itself', () => {
  const read = tree({
    'k.wgsl': '//#include "lib/a.wgsl"\n',
    'lib/a.wgsl': 'a\n//#include "lib/b.wgsl"\n',
    'lib/b.wgsl': '//#include "lib/a.wgsl"\n',
    'self.wgsl': 's\ns\n//#include "self.wgsl"\n',
  });
  throwsWith(() => composeWgsl('k.wgsl', read), 'lib/b.wgsl:1: include cycle k.wgsl -> lib/a.wgsl -> lib/b.wgsl -> lib/a.wgsl');
  throwsWith(() => composeWgsl('self.wgsl', read), 'self.wgsl:3: include cycle self.wgsl -> self.wgsl');
});

s('a mistyped directive or a path outside kernels/ is an error, not silently WGSL comment', () => {
  const one = (text: string) => () => composeWgsl('k.wgsl', tree({ 'k.wgsl': `a\n${text}\n`, 'lib/x.wgsl': 'x' }));
  throwsWith(one('//#inlcude "lib/x.wgsl"'), `k.wgsl:2: unknown directive '//#inlcude "lib/x.wgsl"' (only //#include "path.wgsl")`);
  throwsWith(one('//#include lib/x.wgsl'), `k.wgsl:2: unknown directive '//#include lib/x.wgsl' (only //#include "path.wgsl")`);
  throwsWith(one('//#include "lib/x.wgsl" x'), `k.wgsl:2: unknown directive '//#include "lib/x.wgsl" x' (only //#include "path.wgsl")`);
  for (const p of ['../x.wgsl', '/etc/x.wgsl', 'lib/x.txt', 'lib//x.wgsl']) {
    throwsWith(one(`//#include "${p}"`), `k.wgsl:2: bad include path "${p}" (a relative path like "lib/name.wgsl")`);
  }
  // An ordinary comment, also one that mentions the directive, stays as it is.
  assert.equal(rows(composeWgsl('k.wgsl', tree({ 'k.wgsl': '// #include "lib/x.wgsl"\n' }))), ['k.wgsl:1 // #include "lib/x.wgsl"']);
});

s('a kernel whose include is missing fails with the kernel, file and line named', () => {
  registerKernelSource('spec_missing_include', 'const A = 1u;\n//#include "lib/no_such_snippet.wgsl"\n');
  assert.throws(
    () => kernelSource('spec_missing_include'),
    /WebGPU: kernel 'spec_missing_include': spec_missing_include\.wgsl:2: included file "lib\/no_such_snippet\.wgsl" not found/,
  );
});

const kernelFiles = readdirSync(new URL('../../kernels/', import.meta.url)).filter((f) => f.endsWith('.wgsl')).sort();
const libFiles = readdirSync(new URL('../../kernels/lib/', import.meta.url)).filter((f) => f.endsWith('.wgsl')).sort();

s('every kernel composes to directive-free WGSL, and every kernels/lib snippet is included somewhere', () => {
  assert.ok(kernelFiles.length >= 30, `${kernelFiles.length} kernel files`);
  const used = new Set<string>();
  for (const f of kernelFiles) {
    const c = kernelSource(f.slice(0, -'.wgsl'.length));
    assert.not.match(c.code, /^\s*\/\/#/m, `${f}: a directive is left`);
    assert.is(c.lines.length, c.code.split('\n').length - 1, `${f}: one origin per line`);
    for (const l of c.lines) used.add(l.file);
  }
  assert.equal(libFiles.filter((f) => !used.has(`lib/${f}`)), [], 'snippets no kernel includes');
});

s('every kernel compiles on the device and gets a pipeline with its default constants', async () => {
  const g = await webgpu();
  if (!g) return;
  // A cache of its own, so the shared backend's pipelines (keyed by constants) are not touched.
  const cache = new PipelineCache((g as WebGpuBackend).ctx.device);
  for (const f of kernelFiles) cache.get(f.slice(0, -'.wgsl'.length), {});
  assert.is(await cache.settle(), null);
});

s('compile errors point at the file and line of the text: the kernel file, or the snippet it includes', async () => {
  const g = (await webgpu()) as WebGpuBackend | null;
  if (!g) return;
  await g.sync();
  // Line 4 of the kernel file is line 10 of the composed text (the include brings 7 lines for 1).
  registerKernelSource(
    'spec_compose_broken',
    '@group(0) @binding(0) var<storage, read_write> o: array<u32>;\n' +
      '//#include "lib/topk_key.wgsl"\n' +
      '@compute @workgroup_size(1)\n' +
      'fn main() { o[0] = key(1.0) + no_such_symbol; }\n',
  );
  // lib/scan.wgsl needs the includer's `override WG`; without it the error is in the snippet's first use.
  registerKernelSource(
    'spec_compose_needs_wg',
    '@group(0) @binding(0) var<storage, read_write> o: array<u32>;\n' +
      '//#include "lib/scan.wgsl"\n' +
      '@compute @workgroup_size(1)\n' +
      'fn main() { o[0] = scanIncl(0u, 1u); }\n',
  );
  const t = g.alloc(4, 'i32') as GpuTensor;
  const messages: string[] = [];
  for (const name of ['spec_compose_broken', 'spec_compose_needs_wg']) {
    g.ctx.dispatch(name, {}, [t.buffer], null, [1]);
    await g.sync().catch((e: Error) => messages.push(e.message));
    g.ctx.recorder.pipelines.evict(name);
  }
  assert.is(messages.length, 2);
  assert.match(messages[0]!, /spec_compose_broken\.wgsl:4:\d+: .*no_such_symbol/);
  assert.not.match(messages[0]!, /:10:/);
  assert.match(messages[1]!, /spec_compose_needs_wg/);
  assert.match(messages[1]!, /lib\/scan\.wgsl:7:\d+: .*WG/);
  g.fill(t, 5);
  assert.equal(Array.from((await g.read(t)) as Int32Array), [5, 5, 5, 5]);
  g.free(t);
});

s.run();

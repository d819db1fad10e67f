// The CPU backend rejects bad arguments with errors that name the op, the argument and the sizes involved.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpu } from '../helpers/backends.js';
import { upload } from './cpu_util.js';

const s = suite('cpu backend: argument errors');

function throwsWith(fn: () => unknown, message: string): void {
  try {
    fn();
  } catch (err) {
    assert.is((err as Error).message, message);
    return;
  }
  assert.unreachable(`expected an error: ${message}`);
}

const f = (n: number) => cpu.alloc(n, 'f32');
const i = (n: number) => cpu.alloc(n, 'i32');

s('memory ops', () => {
  throwsWith(() => cpu.alloc(-1, 'f32'), 'alloc: length must be an integer >= 0, got -1');
  throwsWith(() => cpu.alloc(2.5, 'i32'), 'alloc: length must be an integer >= 0, got 2.5');
  throwsWith(() => cpu.write(f(3), new Float32Array(4)), 'write: data has 4 elements, expected dst.length = 3');
  throwsWith(() => cpu.write(f(3), new Int32Array(3)), 'write: dst is f32 but data is Int32Array');
  throwsWith(() => cpu.copy(f(3), i(3)), 'copy: out is f32 but src is i32');
  throwsWith(() => cpu.copy(f(3), f(2)), 'copy: out has 3 elements, expected src.length = 2');
  throwsWith(() => cpu.fill(i(3), 0.5), 'fill: value 0.5 is not an i32');
  throwsWith(() => cpu.unary('exp', f(3), i(3)), 'unary(exp): x must be f32, got i32');
});

s('freed storage and foreign handles', async () => {
  const a = upload(cpu, new Float32Array([1, 2]));
  cpu.free(a);
  throwsWith(() => cpu.read(a), 'read: src was freed');
  throwsWith(() => cpu.unary('neg', f(2), a), 'unary(neg): x was freed');
  throwsWith(() => cpu.free(a), 'free: storage was freed');
  throwsWith(
    () => cpu.fill({ length: 2, dtype: 'f32' }, 0),
    'fill: out is not a CPU storage (allocated by another backend?)',
  );
});

s('size mismatches name the op and the sizes', () => {
  throwsWith(
    () => cpu.matmul(f(10), f(6), f(8), 3, 2, 4, false, false),
    'matmul: out has 10 elements, expected m*n = 12',
  );
  throwsWith(() => cpu.matmul(f(12), f(5), f(8), 3, 2, 4, false, true), 'matmul: a has 5 elements, expected m*k = 6');
  const same = f(4);
  throwsWith(
    () => cpu.matmul(same, same, f(4), 2, 2, 2, false, false),
    'matmul: out must not be the same storage as a',
  );
  throwsWith(
    () => cpu.binary('add', f(6), f(6), 'full', f(2), 'row', 2, 3),
    'binary(add): b (row) has 2 elements, expected cols = 3',
  );
  throwsWith(
    () => cpu.binary('gt', f(6), f(3), 'col', f(1), 'scalar', 2, 3),
    'binary(gt): a (col) has 3 elements, expected rows = 2',
  );
  throwsWith(() => cpu.reduce('sum', f(3), f(6), 2, 3, 1), 'reduce(sum): out has 3 elements, expected rows = 2');
  throwsWith(() => cpu.reduce('max', f(3), f(6), 2, 3, 2 as 0), 'reduce(max): axis must be 0 or 1, got 2');
  throwsWith(() => cpu.topk(i(6), f(12), 2, 6, 7), 'topk: k (7) must be <= cols (6)');
  throwsWith(() => cpu.topk(i(6), f(12), 2, 6, 0), 'topk: k must be an integer >= 1, got 0');
  throwsWith(() => cpu.topk(f(6), f(12), 2, 6, 3), 'topk: outIdx must be i32, got f32');
  throwsWith(() => cpu.topk(i(5), f(12), 2, 6, 3), 'topk: outIdx has 5 elements, expected rows*k = 6');
  throwsWith(
    () => cpu.adam(f(3), f(3), f(2), f(3), { lr: 1, beta1: 0.9, beta2: 0.9, eps: 0, bc1: 1, bc2: 1 }),
    'adam: v has 2 elements, expected p.length = 3',
  );
  throwsWith(() => cpu.spmm(f(6), f(2), i(2), 4, f(10), 2, 3), 'spmm: w has 10 elements, expected m*d = 12');
  throwsWith(() => cpu.sddmm(f(2), f(5), f(8), i(2), 4, 2), 'sddmm: a has 5 elements, not a multiple of d = 2');
});

s('index checks: out of range and not ascending; a failed scatterAdd leaves out untouched', async () => {
  throwsWith(
    () => cpu.gather(f(2), f(3), upload(cpu, new Int32Array([0, 3]))),
    'gather: idx[1] = 3 is out of range [0, 3) (x.length)',
  );
  const target = upload(cpu, new Float32Array([1, 2, 3]));
  throwsWith(
    () => cpu.scatterAdd(target, upload(cpu, new Float32Array([5, 5])), upload(cpu, new Int32Array([0, -1]))),
    'scatterAdd: idx[1] = -1 is out of range [0, 3) (out.length)',
  );
  assert.equal(Array.from((await cpu.read(target)) as Float32Array), [1, 2, 3]);
  const w = f(4 * 2),
    a = f(2 * 2);
  throwsWith(
    () => cpu.sddmm(f(2), a, w, upload(cpu, new Int32Array([3, 3])), 4, 2),
    'sddmm: idx must be strictly ascending, but idx[1] = 3 follows 3',
  );
  throwsWith(
    () => cpu.sddmm(f(1), a, w, upload(cpu, new Int32Array([8])), 4, 2),
    'sddmm: idx[0] = 8 is out of range [0, 8) (B*m)',
  );
  throwsWith(
    () => cpu.spmm(f(4), f(2), upload(cpu, new Int32Array([5, 2])), 4, w, 2, 2),
    'spmm: idx must be strictly ascending, but idx[1] = 2 follows 5',
  );
  throwsWith(
    () => cpu.spmmT(f(8), f(1), upload(cpu, new Int32Array([-2])), 4, a, 2),
    'spmmT: idx[0] = -2 is out of range [0, 8) (B*m)',
  );
});

s.run();

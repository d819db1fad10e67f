// Long-running differential check of the fast CPU backend (issue 17, item 1): whole model forwards
// (harvest-like), long SAE trainings and a heap stress, compared bit for bit with the same backend on one
// thread (no workers, no hand-offs) and, for forwards with --reference, with the CPU reference within a
// corruption bound. Meant to run for minutes or hours, on a loaded machine too (load changes the
// interleavings, which is what it hunts); a spec runs a short version (spec/backend/cpu_differential.spec.ts).
//
//   npx tsx bench/differential.ts [--mode forward,train,heap] [--seconds 600] [--iterations N] [--threads T]
//     [--seed S] [--reference] [--all-threaded] [--heap-pages P] [--model file.bin --tokens tokens_u16.npy]
//
// --seconds is the total budget, split evenly over the modes; --iterations caps each mode's cases (forward
// batches, training runs of 200 steps, heap operations x 100). Exit status 1 when anything differed.
import { availableParallelism } from 'node:os';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, type Mismatch } from './differential/compare.js';
import { checkForwards } from './differential/forward.js';
import { checkHeap } from './differential/heap.js';
import { checkTraining } from './differential/train.js';

const MODES = ['forward', 'train', 'heap'] as const;
type Mode = (typeof MODES)[number];

function parse(argv: string[]) {
  const o = {
    modes: [...MODES] as Mode[],
    seconds: 600,
    iterations: Infinity,
    threads: Math.max(2, availableParallelism()),
    seed: 1,
    reference: false,
    allThreaded: false,
    heapPages: undefined as number | undefined,
    model: '../shared/data/stories260K/stories260K.bin',
    tokens: '../shared/data/stories260K/tokens_u16.npy',
  };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number >= ${min}, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => argv[++i];
    if (a === '--mode') {
      const ms = (v() ?? '').split(',');
      for (const m of ms) if (!MODES.includes(m as Mode)) throw new Error(`--mode: unknown mode '${m}' (choose from ${MODES.join(', ')})`);
      o.modes = ms as Mode[];
    } else if (a === '--seconds') o.seconds = num(a, v(), 1);
    else if (a === '--iterations') o.iterations = Math.floor(num(a, v(), 1));
    else if (a === '--threads') o.threads = Math.floor(num(a, v(), 2));
    else if (a === '--seed') o.seed = Math.floor(num(a, v(), 0));
    else if (a === '--heap-pages') o.heapPages = Math.floor(num(a, v(), 16));
    else if (a === '--reference') o.reference = true;
    else if (a === '--all-threaded') o.allThreaded = true;
    else if (a === '--model') o.model = v() ?? '';
    else if (a === '--tokens') o.tokens = v() ?? '';
    else throw new Error(`unknown flag ${a} (see the usage at the top of bench/differential.ts)`);
  }
  return o;
}

const o = parse(process.argv.slice(2));
v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const share = (o.seconds * 1000) / o.modes.length;
const progress = (line: string) => process.stderr.write(`${line}\n`);
const all: Mismatch[] = [];
console.log(`differential: modes ${o.modes.join(', ')}, ${o.seconds} s, ${o.threads} threads vs 1, seed ${o.seed}${o.reference ? ', with the CPU reference' : ''}${o.allThreaded ? ', every primitive threaded' : ''}`);
for (const mode of o.modes) {
  const deadline = Date.now() + share;
  const r =
    mode === 'forward'
      ? await checkForwards({ model: o.model, tokens: o.tokens, threads: o.threads, batches: o.iterations, deadline, seed: o.seed, maxDocs: 12, maxRows: 4096, reference: o.reference, allThreaded: o.allThreaded, progress })
      : mode === 'train'
        ? await checkTraining({ threads: o.threads, runs: o.iterations, deadline, steps: 200, every: 25, seed: o.seed, maxDIn: 96, maxDSae: 2048, allThreaded: o.allThreaded, progress })
        : await checkHeap({ threads: o.threads, ops: o.iterations * 100, deadline, seed: o.seed, heapPages: o.heapPages, gc, progress });
  console.log(`${mode}: ${r.cases} cases in ${r.seconds.toFixed(1)} s, ${r.mismatches.length} mismatches`);
  for (const m of r.mismatches.slice(0, 10)) console.log(`  ${describe(m)}`);
  all.push(...r.mismatches);
}
console.log(all.length === 0 ? 'differential: every output bit-identical' : `differential: ${all.length} mismatches`);
process.exitCode = all.length === 0 ? 0 : 1;

// A stand-in for `batchtopk harvest ... --parts N --part i` and `batchtopk harvest --merge <out>` until the
// command line has those flags: what an array task of harvest.sbatch runs in spec/sweep/slurm_real.spec.ts.
// The flags after the fixed ones are the ones the array script appends (--part i).
//   tsx spec/helpers/harvest_part.ts <model> <text.jsonl> <out> <shard-rows> --parts N --part i
//   tsx spec/helpers/harvest_part.ts --merge <out>
import { CpuBackend } from '../../src/backend/cpu/reference.js';
import { harvestPart } from '../../src/model/harvest_parts.js';
import { loadModel } from '../../src/model/load.js';
import { mergeParts } from '../../src/model/parts.js';
import { readDocuments } from '../../src/model/text.js';

const argv = process.argv.slice(2);
const flag = (name: string): number => {
  const i = argv.indexOf(name);
  if (i < 0) throw new Error(`harvest_part.ts: missing ${name}`);
  return Number(argv[i + 1]);
};

if (argv[0] === '--merge') {
  const m = mergeParts(argv[1]!);
  console.log(`merged ${m.parts} parts: ${m.rows} rows`);
} else {
  const [model, text, out, shardRows] = argv;
  const texts = readDocuments(text!);
  const r = await harvestPart(new CpuBackend(), loadModel(model!), texts, {
    textFile: text!,
    layer: 2,
    out: out!,
    dtype: 'f32',
    shardRows: Number(shardRows),
    skipBos: true,
    batchRows: 1024,
    parts: flag('--parts'),
    part: flag('--part'),
  });
  console.log(`part ${r.plan.part}: documents [${r.plan.doc_start}, ${r.plan.doc_end}), ${r.part.rows} rows${r.merged ? `; merged ${r.merged.rows} rows` : ''}`);
}

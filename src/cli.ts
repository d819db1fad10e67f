// The `batchtopk` command line: flags -> options -> the command's run function (src/run/) -> printing.
// Every option is described once, in its command's schema (run/*_options.ts, run/<command>.ts); cli/flags.ts
// derives the flags and help from it. Errors print one line (no stack trace) and exit 1.
import { cac, type Command } from 'cac';
import { addFlags, readFlags, type Flags } from './cli/flags.js';
import { calibrateText, ceText, emit, evalText, harvestText, sweepText, trainText } from './cli/print.js';
import { smallEvalWarning } from './metrics.js';
import { BACKEND_CHOICES, opener, type BackendChoice } from './run/backend.js';
import { CALIBRATE_SCHEMA, runCalibrate } from './run/calibrate.js';
import { CE_SCHEMA, runCeEval } from './run/ce.js';
import { EVAL_SCHEMA, runEval } from './run/eval.js';
import { FEATURES_SCHEMA, runFeatures } from './run/features.js';
import { HARVEST_MERGE_SCHEMA, HARVEST_SCHEMA, runHarvest, runHarvestMerge } from './run/harvest.js';
import { runInfo } from './run/info.js';
import { Interrupted, InterruptWatch } from './run/interrupt.js';
import { runReport } from './run/report.js';
import { parseValue, resolveOptions, type Schema } from './run/schema.js';
import { SLURM_SCHEMA, submitHarvest, submitSweep } from './run/slurm.js';
import { runSweep, sweepOptions, SWEEP_SCHEMA } from './run/sweep.js';
import { runSynth, SYNTH_SCHEMA } from './run/synth.js';
import { runTrain } from './run/train.js';
import { TRAIN_SCHEMA } from './run/train_options.js';
import { writeRunReport } from './report/run.js';
import { OPTIONS } from './run/options.js';
import { SAE_DEFAULTS } from './sae/config.js';

/** The options every command that computes shares: where it runs, and how it answers. */
interface Common {
  backend: BackendChoice;
  json: boolean;
}
const COMMON: Schema<Common> = {
  backend: {
    kind: 'choice',
    choices: BACKEND_CHOICES,
    arg: 'b',
    default: 'auto',
    help: `${BACKEND_CHOICES.join(' | ')} (auto: a hardware WebGPU adapter; else the faster of cpu-fast and a software adapter such as llvmpipe, measured once per shape and cached; cpu: the TypeScript reference)`,
  },
  json: { kind: 'boolean', default: false, help: 'Print one JSON object as the last line of stdout' },
};
const JSON_ONLY: Schema<Pick<Common, 'json'>> = { json: COMMON.json };

function common(raw: Flags): Common {
  return { backend: parseValue('backend', COMMON.backend, raw['backend'] ?? COMMON.backend.default) as BackendChoice, json: raw['json'] === true };
}

/** Notes on stderr unless the command is quiet. */
const say = (quiet = false) => (m: string) => {
  if (!quiet) console.error(m);
};

const cli = cac('batchtopk');

/** A command with the flags of its schemas, in order (each with the keys it leaves out). */
function command(name: string, about: string, ...schemas: [Schema<object>, (readonly string[])?][]): Command {
  const cmd = cli.command(name, about);
  for (const [schema, skip] of schemas) addFlags(cmd, schema, skip);
  return cmd;
}

command('train', 'Train an SAE (BatchTopK by default) on activation files, or on the embedded synthetic data set', [TRAIN_SCHEMA], [COMMON])
  .example('batchtopk train                        # embedded synthetic data, BatchTopK, about a minute on a CPU')
  .example('batchtopk train --data acts.npy --k 32 --expansion 16 --tokens 50000000 --out runs/gpt2-l8')
  .example('batchtopk train --resume runs/gpt2-l8')
  .action(async (raw: Flags) => {
    const c = common(raw);
    const o = readFlags(TRAIN_SCHEMA, raw);
    const s = await runTrain(o, opener(c.backend, say(o.quiet)));
    // The report is a convenience: a failure to write it must not fail a finished training run.
    let page: string;
    try {
      page = writeRunReport(s.out);
    } catch (e) {
      page = `not written (${(e as Error).message})`;
    }
    emit(c.json, s, () => trainText(s, page));
  });

/** The sweep's own flags stand first; every other `train` flag applies to each run of the sweep. */
const SWEEP_OWN = Object.keys(SWEEP_SCHEMA);
command('sweep', 'Train a grid of SAEs (architectures x k x dictionary sizes) and write results.csv, plots and index.html', [SWEEP_SCHEMA], [SLURM_SCHEMA], [TRAIN_SCHEMA, [...SWEEP_OWN, 'resume', 'stopAfter', 'overwrite']], [COMMON])
  .example('batchtopk sweep --data acts.npy --arch batchtopk,topk,jumprelu --k 16,32,64 --dict-size 3072,6144,12288 --tokens 20000000 --out runs/sweep')
  .example('batchtopk sweep --data acts.npy --k 16,32,64 --dict-size 3072,6144,12288 --out runs/sweep --only "jumprelu-*"')
  .action(async (raw: Flags) => {
    const c = common(raw);
    const train = readFlags(TRAIN_SCHEMA, Object.fromEntries(Object.entries(raw).filter(([k]) => !SWEEP_OWN.includes(k.replace(/-([a-z0-9])/g, (_, x: string) => x.toUpperCase())))));
    const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
    const sw = sweepOptions(readFlags(SWEEP_SCHEMA, raw), train, opener(c.backend, say(train.quiet)), {
      resumeHint: ['batchtopk', ...process.argv.slice(2)].map(quote).join(' '),
    });
    const slurm = readFlags(SLURM_SCHEMA, raw);
    if (slurm.slurm) {
      const r = submitSweep(sw, resolveOptions(SLURM_SCHEMA, slurm), process.argv.slice(2));
      emit(c.json, r, () => r.lines.join('\n'));
      return;
    }
    const r = await runSweep(sw, opener(c.backend, say(train.quiet)));
    emit(c.json, r, () => sweepText(r));
  });

command('report <dir>', 'Regenerate the report (index.html, plots/*.svg, results.csv) of a run folder or a sweep folder', [JSON_ONLY])
  .example('batchtopk report runs/sweep')
  .action((dir: string, raw: Flags) => {
    const r = runReport(dir);
    emit(common(raw).json, r, () => `${r.kind} report (${r.runs} run${r.runs === 1 ? '' : 's'}): ${r.html}`);
  });

command('eval <sae-dir>', 'Inference metrics of a saved SAE (ours or SAELens-written) on activations; BatchTopK SAEs also with batch top-k', [EVAL_SCHEMA], [CE_SCHEMA, ['quiet']], [COMMON])
  .example('batchtopk eval runs/latest/sae --data held_out.npy')
  .example('batchtopk eval runs/latest/sae --model stories260K.bin --text stories.jsonl')
  .action(async (dir: string, raw: Flags) => {
    const c = common(raw);
    if (raw['model'] !== undefined) {
      const o = readFlags(CE_SCHEMA, raw, { sae: dir });
      if (!o.text) throw new Error('eval --model needs --text <file>');
      const r = await runCeEval({ ...o, model: o.model!, text: o.text, sae: dir }, opener(c.backend, say()));
      emit(c.json, r, () => ceText(r));
      return;
    }
    const o = readFlags(EVAL_SCHEMA, raw, { sae: dir });
    if (!o.data) throw new Error('eval needs --data <path> (or --model and --text for CE degradation)');
    const s = await runEval({ ...o, sae: dir, data: o.data }, opener(c.backend, say()), say());
    // Saved SAEs do not carry the training's dead-latent window: judge by the training default.
    const small = smallEvalWarning(s.tokens, SAE_DEFAULTS.deadTokens);
    if (small) console.error(small);
    emit(c.json, s, () => evalText(s));
  });

command('features <sae-dir>', "A feature browser of a saved SAE over a harvest folder: each latent's density, activations, top and interval examples in context, logits; a static page that opens from disk", [FEATURES_SCHEMA], [{ quiet: OPTIONS.quiet }], [COMMON])
  .example('batchtopk features runs/latest/sae --data acts/stories-l2 --model stories260K/stories260K.bin --out runs/latest/features')
  .action(async (dir: string, raw: Flags) => {
    const c = common(raw);
    const o = readFlags(FEATURES_SCHEMA, raw, { sae: dir });
    const quiet = raw['quiet'] === true;
    if (!o.data || !o.out) throw new Error('features needs --data <harvest-dir> and --out <dir>');
    // Ctrl-C stops the pass between batches; nothing is written, earlier output stays as it was.
    const stop = { aborted: false };
    const watch = new InterruptWatch((sig) => {
      stop.aborted = true;
      say(quiet)(`${sig}: stopping after the current batch (send it again to quit at once)`);
    }).install();
    try {
      const r = await runFeatures({ ...o, sae: dir, data: o.data, out: o.out, log: say(quiet), signal: stop }, opener(c.backend, say(quiet)));
      if (r.stopped) throw new Interrupted(watch.signal ?? 'SIGINT', `features: stopped after ${r.rows} rows; nothing written, the previous output in ${o.out} is unchanged`);
      emit(c.json, r, () => `${r.latents} latents (${r.alive} fired, L0 ${r.l0.toFixed(2)}) over ${r.rows} rows in ${r.seconds.toFixed(1)} s on ${r.backend}: ${r.out}/index.html`);
    } finally {
      watch.uninstall();
    }
  });

command('harvest', 'Residual-stream activations of a language model as .npy shards for train --data', [HARVEST_SCHEMA], [HARVEST_MERGE_SCHEMA], [SLURM_SCHEMA], [COMMON])
  .example('batchtopk harvest --model stories260K/stories260K.bin --text stories.jsonl --layer 2 --out acts/stories-l2')
  .action(async (raw: Flags) => {
    const c = common(raw);
    const { merge } = readFlags(HARVEST_MERGE_SCHEMA, raw);
    if (merge !== undefined) {
      const m = runHarvestMerge(merge);
      emit(c.json, m, () => harvestText(m, merge));
      return;
    }
    const o = readFlags(HARVEST_SCHEMA, raw);
    const slurm = readFlags(SLURM_SCHEMA, raw);
    if (slurm.slurm) {
      if (!o.out) throw new Error('harvest --slurm needs --out <dir>');
      const r = submitHarvest(o.out, o.parts, resolveOptions(SLURM_SCHEMA, slurm), process.argv.slice(2));
      emit(c.json, r, () => r.lines.join('\n'));
      return;
    }
    if (!o.model || !o.text || !o.out || o.layer === undefined) throw new Error('harvest needs --model <path> --text <file> --layer <n> --out <dir>');
    const m = await runHarvest({ ...o, model: o.model, text: o.text, out: o.out, layer: o.layer }, opener(c.backend, say(o.quiet)));
    emit(c.json, m, () => harvestText(m, o.out!));
  });

command('calibrate <sae-dir>', "Re-estimate a saved BatchTopK SAE's threshold theta on activations and rewrite the folder", [CALIBRATE_SCHEMA], [COMMON])
  .example('batchtopk calibrate runs/latest/sae --data other_acts.npy')
  .action(async (dir: string, raw: Flags) => {
    const c = common(raw);
    const o = readFlags(CALIBRATE_SCHEMA, raw, { sae: dir });
    if (!o.data) throw new Error('calibrate needs --data <path>');
    const s = await runCalibrate({ ...o, sae: dir, data: o.data }, opener(c.backend, say()), say());
    emit(c.json, s, () => calibrateText(s));
  });

command('synth', 'Write a synthetic activation set (.npy) and its ground-truth dictionary', [SYNTH_SCHEMA], [JSON_ONLY])
  .example('batchtopk synth --out data/synth.npy --rows 200000')
  .action((raw: Flags) => {
    const o = readFlags(SYNTH_SCHEMA, raw);
    if (!o.out) throw new Error('synth needs --out <file.npy>');
    const r = runSynth({ ...o, out: o.out });
    emit(common(raw).json, r, () => `wrote ${r.data} [${r.rows}, ${r.dIn}] and ${r.dictionary} [${r.nFeatures}, ${r.dIn}]`);
  });

command('info', 'Show the compute backend: WebGPU adapter, feature level and limits', [COMMON])
  .action(async (raw: Flags) => {
    const c = common(raw);
    const r = await runInfo(c.backend);
    emit(c.json, r.json, () => r.text);
  });

// Global: Dawn (the WebGPU runtime) writes notices of its own to stderr; they are held back unless asked for.
cli.option('--verbose', "Also show the WebGPU runtime's (Dawn's) own messages on stderr");

cli.help();
cli.version('0.1.0');

async function main(): Promise<void> {
  try {
    cli.parse(process.argv, { run: false });
    // An env var rather than an import: the WebGPU module is loaded only by commands that use it.
    if (cli.options['verbose']) process.env.BATCHTOPK_VERBOSE = '1';
    if (!cli.matchedCommand) {
      const names = cli.commands.map((c) => c.name).join(', ');
      if (cli.args.length > 0) throw new Error(`unknown command '${cli.args[0]}' (commands: ${names})`);
      if (!cli.options['help'] && !cli.options['version']) cli.outputHelp();
      return;
    }
    await cli.runMatchedCommand();
  } catch (err) {
    const e = err as Error;
    if (process.env.BATCHTOPK_DEBUG) console.error(e);
    console.error(`batchtopk: ${e.message}`);
    process.exitCode = e instanceof Interrupted ? e.exitCode : 1;
  }
}

await main();

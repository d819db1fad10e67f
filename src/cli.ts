// The `batchtopk` command line: cac wiring only. Each action maps flags to options, opens the backend and
// calls the command's run function; errors print one line (no stack trace) and exit 1.
import { cac } from 'cac';
import type { Backend } from './backend/backend.js';
import { BACKEND_CHOICES, openBackend, type BackendChoice } from './backend/open.js';
import { runCalibrate } from './cli/calibrate.js';
import { runEval } from './cli/eval.js';
import { runHarvest } from './cli/harvest.js';
import { runCeEval } from './cli/ce.js';
import { runInfo } from './cli/info.js';
import { runReport } from './cli/report.js';
import { writeRunReport } from './report/run.js';
import { runSweep, type CeEvaluator } from './sweep/run.js';
import { parseArch, parseList, parsePositive, parsePositiveInt } from './sweep/plan.js';
import { Interrupted } from './cli/interrupt.js';
import { runSynth } from './cli/synth.js';
import { runTrain, type TrainOptions } from './cli/train.js';
import { ARCHS, NORMALIZE_MODES, type Arch } from './sae/config.js';
import { SAE_DEFAULTS } from './sae/config.js';
import { CALIBRATION_BATCHES } from './train/config.js';
import { DEFAULT_SHARDS, SIDE_FILES } from './data/source.js';
import { deadFrequencyFloor, smallEvalWarning } from './metrics.js';

const SHARD_HELP = `default: the "shards" list of its manifest.json, else ${DEFAULT_SHARDS}; never ${SIDE_FILES.map((f) => f.glob).join(', ')}`;

type Flags = Record<string, unknown>;

/**
 * cac camel-cases `--dict-size` but not `--l0-coeff` (a hyphen before a digit): give every flag its
 * camelCase name so each option is read under one key.
 */
function camel(flags: Flags): Flags {
  const out: Flags = {};
  for (const [k, v] of Object.entries(flags)) out[k.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = v;
  return out;
}

class UsageError extends Error {}

function num(flags: Flags, name: string, opts: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  const flag = '--' + name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
  if (typeof v === 'boolean' || !Number.isFinite(n)) throw new UsageError(`${flag} expects a number, got '${String(v)}'`);
  if (opts.int && !Number.isInteger(n)) throw new UsageError(`${flag} expects an integer, got ${n}`);
  if (opts.min !== undefined && n < opts.min) throw new UsageError(`${flag} must be >= ${opts.min}, got ${n}`);
  if (opts.max !== undefined && n > opts.max) throw new UsageError(`${flag} must be <= ${opts.max}, got ${n}`);
  return n;
}

function oneOf<T extends string>(flags: Flags, name: string, allowed: readonly T[], dflt: T): T {
  const v = flags[name] ?? dflt;
  if (!allowed.includes(v as T)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${String(v)}'`);
  return v as T;
}

function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} expects a value`);
  return v;
}

/** Last line of stdout with --json: one JSON object. */
function emit(json: boolean, obj: Record<string, unknown>, human: () => string): void {
  process.stdout.write((json ? JSON.stringify(obj) : human()) + '\n');
}

/** The embedded default (no --data): a run that trains in under a minute on a laptop CPU. */
const EMBEDDED = { k: 6, expansion: 4, batchSize: 1024, steps: 600, lr: 3e-3 };

function trainOptions(raw: Flags): TrainOptions {
  const flags = camel(raw);
  const data = str(flags, 'data');
  const given = (n: string) => flags[n] !== undefined;
  const resume = str(flags, 'resume');
  // A resumed run takes its run-defining options from the checkpoint (runTrain), never the defaults here.
  const embedded = data === undefined && resume === undefined;
  const dflt = <T>(real: T, synth: T): T => (embedded ? synth : real);
  const explicit = new Set(Object.keys(flags).filter((k) => k !== '--' && flags[k] !== undefined));
  const o: TrainOptions = {
    data,
    tensor: str(flags, 'tensor'),
    shards: str(flags, 'shards'),
    arch: oneOf(flags, 'arch', ARCHS, 'batchtopk'),
    k: num(flags, 'k', { int: true, min: 1 }) ?? dflt(SAE_DEFAULTS.k, EMBEDDED.k),
    dictSize: num(flags, 'dictSize', { int: true, min: 1 }),
    expansion: num(flags, 'expansion', { min: 0 }),
    batchSize: num(flags, 'batchSize', { int: true, min: 1 }) ?? dflt(4096, EMBEDDED.batchSize),
    steps: num(flags, 'steps', { int: true, min: 1 }),
    tokens: num(flags, 'tokens', { int: true, min: 1 }),
    lr: num(flags, 'lr', { min: 0 }) ?? dflt(3e-4, EMBEDDED.lr),
    l0Coeff: num(flags, 'l0Coeff', { min: 0 }) ?? SAE_DEFAULTS.l0Coeff,
    l1Coeff: num(flags, 'l1Coeff', { min: 0 }) ?? SAE_DEFAULTS.l1Coeff,
    kAux: num(flags, 'kAux', { int: true, min: 1 }) ?? SAE_DEFAULTS.kAux,
    auxAlpha: num(flags, 'auxAlpha', { min: 0 }) ?? SAE_DEFAULTS.auxAlpha,
    deadTokens: num(flags, 'deadTokens', { int: true, min: 1 }) ?? SAE_DEFAULTS.deadTokens,
    bandwidth: num(flags, 'bandwidth', { min: 0 }) ?? SAE_DEFAULTS.bandwidth,
    thetaInit: num(flags, 'thetaInit', { min: 0 }) ?? SAE_DEFAULTS.thetaInit,
    warmupSteps: num(flags, 'warmupSteps', { int: true, min: 0 }) ?? 0,
    decayFraction: num(flags, 'decayFraction', { min: 0, max: 1 }) ?? 0,
    clipGradNorm: num(flags, 'clipGradNorm', { min: 0 }) ?? 0,
    normalize: oneOf(flags, 'normalize', NORMALIZE_MODES, flags['arch'] === 'jumprelu' ? 'scalar' : 'none'),
    seed: num(flags, 'seed', { int: true, min: 0, max: 0xffffffff }) ?? 0,
    calibrationBatches: num(flags, 'calibrationBatches', { int: true, min: 1 }),
    out: str(flags, 'out') ?? resume ?? 'runs/latest',
    resume,
    evalFraction: num(flags, 'evalFraction', { min: 0, max: 0.99 }) ?? 0.05,
    evalTokens: num(flags, 'evalTokens', { int: true, min: 1 }) ?? 1_000_000,
    shuffleBuffer: num(flags, 'shuffleBuffer', { int: true, min: 1 }) ?? 65536,
    checkpointEvery: num(flags, 'checkpointEvery', { int: true, min: 0 }) ?? 500,
    logEvery: num(flags, 'logEvery', { int: true, min: 1 }) ?? 50,
    stopAfter: num(flags, 'stopAfter', { int: true, min: 1 }),
    modelName: str(flags, 'modelName'),
    hookName: str(flags, 'hookName'),
    quiet: Boolean(flags['quiet']),
    profile: Boolean(flags['profile']),
    explicit,
  };
  if (embedded && !given('steps') && !given('tokens')) o.steps = EMBEDDED.steps;
  if (embedded && !given('dictSize') && !given('expansion')) o.expansion = EMBEDDED.expansion;
  return o;
}

/** The dead fraction with the evaluation size it rests on (metrics.ts deadFrequencyFloor). */
function deadText(fraction: number, tokens: number): string {
  return `dead ${(100 * fraction).toFixed(1)}% (no activation in ${tokens} tokens: rarer than 1 in ${Math.round(1 / deadFrequencyFloor(tokens))} may count)`;
}

const cli = cac('batchtopk');

const trainCmd = cli
  .command('train', 'Train an SAE (BatchTopK by default) on activation files, or on the embedded synthetic data set')
  .option('--data <path>', 'Activations: .npy or .safetensors [tokens, d] (f32/f16/bf16), or a directory of shards (default: embedded synthetic data)')
  .option('--tensor <name>', 'Tensor to read from .safetensors files holding several')
  .option('--shards <glob>', `Which files of a --data directory are shards (${SHARD_HELP})`)
  .option('--arch <arch>', `Architecture: ${ARCHS.join(' | ')} (default: batchtopk)`)
  .option('--k <k>', 'Active latents per sample (batch average for batchtopk) (default: 32; embedded data: 6)')
  .option('--dict-size <m>', 'Number of latents')
  .option('--expansion <x>', 'Latents as a multiple of d (default: 8; embedded data: 4)')
  .option('--batch-size <n>', 'Tokens per batch (default: 4096; embedded data: 1024)')
  .option('--steps <n>', 'Optimisation steps (default: one pass over the training rows; embedded data: 600)')
  .option('--tokens <n>', 'Tokens to train on (instead of --steps)')
  .option('--lr <lr>', 'Adam learning rate (default: 3e-4 as the paper; embedded data: 3e-3)')
  .option('--l0-coeff <c>', `JumpReLU L0 penalty (default: ${SAE_DEFAULTS.l0Coeff})`)
  .option('--l1-coeff <c>', `ReLU L1 penalty (default: ${SAE_DEFAULTS.l1Coeff})`)
  .option('--k-aux <n>', `Dead latents used by the AuxK loss (default: ${SAE_DEFAULTS.kAux})`)
  .option('--aux-alpha <a>', `AuxK loss weight (default: ${SAE_DEFAULTS.auxAlpha})`)
  .option('--dead-tokens <n>', `Tokens without activation after which a latent is dead (default: ${SAE_DEFAULTS.deadTokens})`)
  .option('--bandwidth <e>', `JumpReLU straight-through bandwidth, in normalised input units (default: ${SAE_DEFAULTS.bandwidth})`)
  .option('--theta-init <t>', `JumpReLU initial threshold, in normalised input units (default: ${SAE_DEFAULTS.thetaInit})`)
  .option('--warmup-steps <n>', 'Linear learning-rate warm-up steps (default: 0)')
  .option('--decay-fraction <f>', 'Linear decay to 0 over this final fraction of steps (default: 0)')
  .option('--clip-grad-norm <n>', 'Global gradient-norm clipping (0: off) (default: 0)')
  .option('--normalize <mode>', `Input normalisation: ${NORMALIZE_MODES.join(' | ')} (default: none; jumprelu: scalar)`)
  .option('--backend <b>', 'auto | webgpu | cpu | cpu-fast (auto: a hardware WebGPU adapter; else the faster of cpu-fast and a software adapter such as llvmpipe, measured once per shape and cached; cpu: the TypeScript reference) (default: auto)')
  .option('--seed <n>', 'Seed of every random choice (default: 0)')
  .option('--calibration-batches <n>', `BatchTopK: training batches over which theta is calibrated at the end, with the final weights (default: ${CALIBRATION_BATCHES})`)
  .option('--out <dir>', 'Output folder: sae/ (SAELens format), checkpoint, metrics.jsonl, summary.json (default: runs/latest)')
  .option('--resume <dir>', 'Continue the run saved in this folder (its checkpoint)')
  .option('--eval-fraction <f>', 'Share of rows held out for evaluation (default: 0.05)')
  .option('--eval-tokens <n>', 'Evaluate on at most this many held-out rows (default: 1000000)')
  .option('--shuffle-buffer <rows>', 'Rows in the shuffle buffer (default: 65536)')
  .option('--profile', 'Time every backend primitive (and WebGPU kernel) over the training steps; table at the end and in <out>/profile.txt, profile.json')
  .option('--checkpoint-every <n>', 'Steps between checkpoints (0: only at the end) (default: 500)')
  .option('--log-every <n>', 'Steps between metrics.jsonl lines (default: 50)')
  .option('--stop-after <n>', 'Stop after n steps of this invocation (resumable)')
  .option('--model-name <name>', "cfg.json metadata.model_name (default: from the harvest manifest.json beside --data)")
  .option('--hook-name <name>', 'cfg.json metadata.hook_name, e.g. blocks.8.hook_resid_pre (default: from the harvest manifest)')
  .option('--quiet', 'No progress output')
  .option('--json', 'Print one JSON object as the last line of stdout')
  .example('batchtopk train                        # embedded synthetic data, BatchTopK, about a minute on a CPU')
  .example('batchtopk train --data acts.npy --k 32 --expansion 16 --tokens 50000000 --out runs/gpt2-l8')
  .example('batchtopk train --resume runs/gpt2-l8')
  .action(async (flags: Flags) => {
    const o = trainOptions(flags);
    const choice = oneOf(flags, 'backend', BACKEND_CHOICES, 'auto') as BackendChoice;
    let backend: Backend | null = null;
    try {
      const s = await runTrain(o, async (hint) => (backend = await openBackend(choice, (m) => !o.quiet && console.error(m), hint)));
      // The report is a convenience: a failure to write it must not fail a finished training run.
      let page: string;
      try {
        page = writeRunReport(s.out);
      } catch (e) {
        page = `not written (${(e as Error).message})`;
      }
      emit(Boolean(flags['json']), s as unknown as Record<string, unknown>, () =>
        [
          `${s.finished ? 'trained' : 'stopped at step ' + s.steps + ' (resumable)'}: ${s.arch} d_in=${s.dIn} d_sae=${s.dictSize} k=${s.k}, ${s.steps} steps, ${s.tokens} tokens on ${s.backend} (${Math.round(s.tokensPerSecond)} tok/s)`,
          `held-out (${s.evalTokens} tokens${s.threshold !== null ? ', under theta' : ''}): nmse ${s.nmse.toFixed(4)}  fvu ${s.fvu.toFixed(4)}  L0 ${s.l0.toFixed(2)} (k ${s.k})  ${deadText(s.deadFraction, s.evalTokens)}`,
          ...(s.threshold !== null
            ? [
                `theta ${s.threshold.toPrecision(4)} calibrated on ${s.calibrationBatches} training batches with the final weights (running estimate ${s.thresholdRunning!.toPrecision(4)})` +
                  (s.batchTopK ? `; batch top-k on the same rows: nmse ${s.batchTopK.nmse.toFixed(4)}  L0 ${s.batchTopK.l0.toFixed(2)}` : ''),
              ]
            : []),
          ...(s.featureRecovery
            ? [`feature recovery: mean max cosine ${s.featureRecovery.meanMaxCos.toFixed(3)}, ${(100 * s.featureRecovery.fracAbove09).toFixed(0)}% of true features above 0.9`]
            : []),
          `output: ${s.out} (report: ${page})`,
        ].join('\n'),
      );
    } finally {
      (backend as Backend | null)?.dispose();
    }
  });

/** With --model and --text, the CE evaluation of each finished sweep run (eval --model's figures), else none. */
function sweepCe(flags: Flags, choice: BackendChoice, quiet: boolean): CeEvaluator | undefined {
  const model = str(flags, 'model');
  const text = str(flags, 'text');
  if (!model && !text) return undefined;
  if (!model || !text) throw new UsageError('CE degradation needs both --model <path> and --text <file>');
  const layer = num(flags, 'layer', { int: true, min: 0 });
  const maxDocs = num(flags, 'maxDocs', { int: true, min: 1 });
  return async ({ saeDir }) => {
    let backend: Backend | null = null;
    try {
      const r = await runCeEval(
        { sae: saeDir, model, text, layer, maxDocs, batchRows: 4096, spliceBos: false, quiet },
        async (hint) => (backend = await openBackend(choice, (m) => !quiet && console.error(m), hint)),
      );
      return { ceClean: r.ce_clean, ceSae: r.ce_sae, ceZero: r.ce_zero, ceDegradation: r.ce_sae - r.ce_clean, ceRecovered: r.ce_loss_score, tokens: r.predictions };
    } finally {
      (backend as Backend | null)?.dispose();
    }
  };
}

/** The sweep's own flags; every other `train` flag applies to each run of the sweep. */
const SWEEP_OWN = /^--(arch|k|dict-size|expansion|out|resume|stop-after)(?=[\s<]|$)/;
const sweepCmd = cli
  .command('sweep', 'Train a grid of SAEs (architectures x k x dictionary sizes) and write results.csv, plots and index.html')
  .option('--arch <list>', `Architectures, comma-separated: ${ARCHS.join(', ')} (default: batchtopk,topk,jumprelu)`)
  .option('--k <list>', 'k values (JumpReLU: target L0s), comma-separated (default: 32; embedded data: 6)')
  .option('--dict-size <list>', 'Dictionary sizes, comma-separated')
  .option('--expansion <list>', 'Or dictionary sizes as multiples of d, comma-separated (default: 8; embedded data: 4)')
  .option('--out <dir>', 'Sweep folder: one run folder per configuration, results.csv, plots/, index.html (default: runs/sweep)')
  .option('--only <names>', 'Run only these configurations: comma-separated names such as topk-k32-m6144, * globs allowed')
  .option('--l0-tolerance <f>', 'JumpReLU: relative tolerance of the held-out L0 around the target k (default: 0.05)')
  .option('--search-steps <n>', 'JumpReLU: steps of a short coefficient-search run (default: a quarter of the run)')
  .option('--search-max-short <n>', 'JumpReLU: most short search runs (default: 12)')
  .option('--search-max-full <n>', 'JumpReLU: most full-length runs to correct the coefficient (default: 6)')
  .option('--model <path>', 'CE degradation of every run: splice each SAE into this language model (as eval --model)')
  .option('--text <file>', 'CE degradation: documents (.txt blank-line-separated or .jsonl "text")')
  .option('--layer <n>', "CE degradation: block whose input is replaced (default: each SAE's hook_name)")
  .option('--max-docs <n>', 'CE degradation: use at most this many documents');
for (const opt of trainCmd.options) if (!SWEEP_OWN.test(opt.rawName) && !/^--(help|version)\b/.test(opt.rawName)) sweepCmd.option(opt.rawName, opt.description, opt.config);
sweepCmd
  .example('batchtopk sweep --data acts.npy --arch batchtopk,topk,jumprelu --k 16,32,64 --dict-size 3072,6144,12288 --tokens 20000000 --out runs/sweep')
  .example('batchtopk sweep --data acts.npy --k 16,32,64 --dict-size 3072,6144,12288 --out runs/sweep --only "jumprelu-*"')
  .action(async (raw: Flags) => {
    const flags = camel(raw);
    const list = <T>(name: string, parse: (s: string) => T | undefined, expects = '') => {
      try {
        return parseList('--' + name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()), flags[name], parse, expects);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    };
    const archs = list('arch', parseArch, `one of ${ARCHS.join(', ')}`) ?? (['batchtopk', 'topk', 'jumprelu'] as const).slice();
    const ks = list('k', parsePositiveInt, 'a positive integer');
    const dictSizes = list('dictSize', parsePositiveInt, 'a positive integer');
    const expansions = list('expansion', parsePositive, 'a positive number');
    if (dictSizes && expansions) throw new UsageError('give --dict-size or --expansion, not both');
    const rest = Object.fromEntries(Object.entries(raw).filter(([k]) => !/^(arch|k|dict-?[sS]ize|expansion|only|l0-?[tT]olerance|search-?[A-Za-z-]*|model|text|layer|max-?[dD]ocs)$/.test(k)));
    // Each architecture's options as `train --arch <a>` reads them (per-architecture defaults included).
    const optionsFor = (arch: Arch) => trainOptions({ ...rest, arch, out: undefined, resume: undefined, stopAfter: undefined });
    const base = optionsFor(archs[0]!);
    const out = str(flags, 'out') ?? 'runs/sweep';
    const choice = oneOf(flags, 'backend', BACKEND_CHOICES, 'auto') as BackendChoice;
    const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
    const r = await runSweep(
      {
        options: optionsFor,
        grid: { archs, ks: ks ?? [base.k], ...(dictSizes ? { dictSizes } : { expansions: expansions ?? [base.expansion ?? 8] }) },
        out,
        only: list('only', (s) => s),
        search: {
          tol: num(flags, 'l0Tolerance', { min: 0, max: 1 }) ?? 0.05,
          shortSteps: num(flags, 'searchSteps', { int: true, min: 1 }),
          maxShort: num(flags, 'searchMaxShort', { int: true, min: 1 }) ?? 12,
          maxFull: num(flags, 'searchMaxFull', { int: true, min: 1 }) ?? 6,
        },
        resumeHint: ['batchtopk', ...process.argv.slice(2)].map(quote).join(' '),
        log: (m) => !base.quiet && console.error(m),
        ce: sweepCe(flags, choice, base.quiet),
      },
      (hint) => openBackend(choice, (m) => !base.quiet && console.error(m), hint),
    );
    emit(Boolean(flags['json']), r as unknown as Record<string, unknown>, () =>
      [...r.runs.map((x) => `${x.name.padEnd(28)} ${x.status.padEnd(8)} nmse ${x.nmse.toFixed(4)}  L0 ${x.l0.toFixed(2)}${x.l0Coeff !== undefined ? `  l0-coeff ${x.l0Coeff.toPrecision(4)}` : ''}`), `results: ${r.report.csv}`, `report: ${r.report.html}`].join('\n'),
    );
  });

cli
  .command('report <dir>', 'Regenerate the report (index.html, plots/*.svg, results.csv) of a run folder or a sweep folder')
  .option('--json', 'Print one JSON object as the last line of stdout')
  .example('batchtopk report runs/sweep')
  .action((dir: string, flags: Flags) => {
    const r = runReport(dir);
    emit(Boolean(flags['json']), r as unknown as Record<string, unknown>, () => `${r.kind} report (${r.runs} run${r.runs === 1 ? '' : 's'}): ${r.html}`);
  });

cli
  .command('eval <sae-dir>', 'Inference metrics of a saved SAE (ours or SAELens-written) on activations; BatchTopK SAEs also with batch top-k')
  .option('--data <path>', 'Activations (.npy, .safetensors or a directory of shards)')
  .option('--tensor <name>', 'Tensor to read from .safetensors files holding several')
  .option('--shards <glob>', `Which files of a --data directory are shards (${SHARD_HELP})`)
  .option('--batch-size <n>', 'Rows per evaluation batch; for BatchTopK SAEs also the batch of the batch-top-k metrics (default: 4096)')
  .option('--max-rows <n>', 'Evaluate at most this many rows')
  .option('--backend <b>', 'auto | webgpu | cpu | cpu-fast (default: auto)')
  .option('--model <path>', 'CE degradation: splice the SAE into this language model (llama2.c .bin, or a folder: llama2.c or Hugging Face gpt2/llama)')
  .option('--text <file>', 'CE degradation: documents (.txt blank-line-separated or .jsonl "text")')
  .option('--layer <n>', "CE degradation: block whose input is replaced (default: the SAE's hook_name)")
  .option('--seq-len <n>', "CE degradation: tokens per document, BOS included (default: the SAE's context_size)")
  .option('--max-docs <n>', 'CE degradation: score at most this many documents')
  .option('--batch-rows <n>', 'CE degradation: tokens per forward pass (default: 4096)')
  .option('--splice-bos', 'CE degradation: replace the BOS rows too (as SAELens; default: keep them clean)')
  .option('--json', 'Print one JSON object as the last line of stdout')
  .example('batchtopk eval runs/latest/sae --data held_out.npy')
  .example('batchtopk eval runs/latest/sae --model stories260K.bin --text stories.jsonl')
  .action(async (dir: string, raw: Flags) => {
    const flags = camel(raw);
    const lmPath = str(flags, 'model');
    if (lmPath !== undefined) {
      const text = str(flags, 'text');
      if (!text) throw new UsageError('eval --model needs --text <file>');
      const choice = oneOf(flags, 'backend', BACKEND_CHOICES, 'auto') as BackendChoice;
      let backend: Backend | null = null;
      try {
        const r = await runCeEval(
          {
            sae: dir,
            model: lmPath,
            text,
            layer: num(flags, 'layer', { int: true, min: 0 }),
            seqLen: num(flags, 'seqLen', { int: true, min: 2 }),
            maxDocs: num(flags, 'maxDocs', { int: true, min: 1 }),
            batchRows: num(flags, 'batchRows', { int: true, min: 1 }) ?? 4096,
            spliceBos: Boolean(flags['spliceBos']),
            quiet: false,
          },
          async (hint) => (backend = await openBackend(choice, (m) => console.error(m), hint)),
        );
        emit(Boolean(flags['json']), r as unknown as Record<string, unknown>, () =>
          [
            `${r.architecture} SAE at ${r.hook_name} of ${r.model}, ${r.predictions} predictions from ${r.documents} documents (${r.backend})`,
            `CE clean ${r.ce_clean.toFixed(4)}  spliced ${r.ce_sae.toFixed(4)}  zero-ablated ${r.ce_zero.toFixed(4)}  ce_loss_score ${r.ce_loss_score.toFixed(4)}`,
            `KL spliced ${r.kl_sae.toFixed(4)}  zero-ablated ${r.kl_zero.toFixed(4)}  kl_div_score ${r.kl_div_score.toFixed(4)}`,
            `same tokens: nmse ${r.nmse.toFixed(4)}  L0 ${r.l0.toFixed(2)}` + (r.splice_bos ? '' : '  (BOS rows not spliced)'),
          ].join('\n'),
        );
      } finally {
        (backend as Backend | null)?.dispose();
      }
      return;
    }
    const data = str(flags, 'data');
    if (!data) throw new UsageError('eval needs --data <path> (or --model and --text for CE degradation)');
    const choice = oneOf(flags, 'backend', BACKEND_CHOICES, 'auto') as BackendChoice;
    const batchSize = num(flags, 'batchSize', { int: true, min: 1 }) ?? 4096;
    const maxRows = num(flags, 'maxRows', { int: true, min: 1 });
    let backend: Backend | null = null;
    try {
      const s = await runEval({ sae: dir, data, tensor: str(flags, 'tensor'), shards: str(flags, 'shards'), batchSize, maxRows, log: (m) => console.error(m) }, async (hint) => (backend = await openBackend(choice, (m) => console.error(m), hint)));
      // Saved SAEs do not carry the training's dead-latent window: judge by the training default.
      const small = smallEvalWarning(s.tokens, SAE_DEFAULTS.deadTokens);
      if (small) console.error(small);
      emit(Boolean(flags['json']), s as unknown as Record<string, unknown>, () =>
        [
          `${s.architecture}${s.batchTopK ? ` (BatchTopK, k=${s.batchTopK.k})` : ''} d_in=${s.dIn} d_sae=${s.dictSize} on ${s.tokens} tokens (${s.backend})`,
          (s.batchTopK ? `inference, theta ${s.threshold!.toPrecision(4)}: ` : '') +
            `nmse ${s.nmse.toFixed(4)}  fvu ${s.fvu.toFixed(4)}  L0 ${s.l0.toFixed(2)}  ${deadText(s.deadFraction, s.tokens)}` +
            (s.threshold !== null && !s.batchTopK ? `  theta ${s.threshold.toPrecision(4)}` : ''),
          ...(s.batchTopK
            ? [
                `batch top-k (batches of ${s.batchTopK.batchSize} rows, as the paper's code): nmse ${s.batchTopK.nmse.toFixed(4)}  fvu ${s.batchTopK.fvu.toFixed(4)}  L0 ${s.batchTopK.l0.toFixed(2)}  dead ${(100 * s.batchTopK.deadFraction).toFixed(1)}%`,
              ]
            : []),
          `L0 histogram (active latents: samples): ${s.l0Histogram.flatMap((c, i) => (c ? [`${i}:${c}`] : [])).join(' ')}`,
        ].join('\n'),
      );
    } finally {
      (backend as Backend | null)?.dispose();
    }
  });

cli
  .command('harvest', 'Residual-stream activations of a language model as .npy shards for train --data')
  .option('--model <path>', 'llama2.c checkpoint (.bin, tok*.bin beside it), a folder holding one, or a Hugging Face folder (gpt2/llama: config.json, safetensors, tokenizer.json)')
  .option('--tokenizer <file>', 'Tokenizer file, when not beside the checkpoint')
  .option('--text <file>', 'Documents: .txt (one per blank-line-separated block) or .jsonl (a "text" field per line)')
  .option('--layer <n>', 'Residual stream entering block n (blocks.n.hook_resid_pre, HF hidden_states[n])')
  .option('--out <dir>', 'Output folder: acts_*.npy, tokens_*.npy, positions_*.npy, manifest.json')
  .option('--seq-len <n>', "Tokens per document, BOS included; longer documents are cut (default: the model's context)")
  .option('--max-tokens <n>', 'Stop after this many rows')
  .option('--dtype <t>', 'f32 | f16 (default: f32)')
  .option('--shard-rows <n>', 'Rows per shard (default: 262144)')
  .option('--no-skip-bos', 'Keep the BOS rows (by default they are left out: one repeated outlier vector)')
  .option('--batch-rows <n>', 'Tokens per forward pass (default: 4096)')
  .option('--stop-after-shards <n>', 'Stop after writing n shards (run the same command again to continue)')
  .option('--backend <b>', 'auto | webgpu | cpu | cpu-fast (default: auto)')
  .option('--quiet', 'No progress output')
  .option('--json', 'Print the manifest as one JSON object on the last line of stdout')
  .example('batchtopk harvest --model stories260K/stories260K.bin --text stories.jsonl --layer 2 --out acts/stories-l2')
  .action(async (raw: Flags) => {
    const flags = camel(raw);
    const model = str(flags, 'model');
    const text = str(flags, 'text');
    const out = str(flags, 'out');
    const layer = num(flags, 'layer', { int: true, min: 0 });
    if (!model || !text || !out || layer === undefined) throw new UsageError('harvest needs --model <path> --text <file> --layer <n> --out <dir>');
    const choice = oneOf(flags, 'backend', BACKEND_CHOICES, 'auto') as BackendChoice;
    const quiet = Boolean(flags['quiet']);
    let backend: Backend | null = null;
    try {
      const m = await runHarvest(
        {
          model,
          tokenizer: str(flags, 'tokenizer'),
          text,
          layer,
          out,
          seqLen: num(flags, 'seqLen', { int: true, min: 2 }),
          maxTokens: num(flags, 'maxTokens', { int: true, min: 1 }),
          dtype: oneOf(flags, 'dtype', ['f32', 'f16'] as const, 'f32'),
          shardRows: num(flags, 'shardRows', { int: true, min: 1 }) ?? 262144,
          skipBos: flags['skipBos'] !== false,
          batchRows: num(flags, 'batchRows', { int: true, min: 1 }) ?? 4096,
          stopAfterShards: num(flags, 'stopAfterShards', { int: true, min: 1 }),
          quiet,
        },
        async (hint) => (backend = await openBackend(choice, (msg) => !quiet && console.error(msg), hint)),
      );
      emit(Boolean(flags['json']), m as unknown as Record<string, unknown>, () =>
        `${m.complete ? 'harvested' : 'stopped (resumable)'}: ${m.rows} rows of ${m.hook_name} (d ${m.d_model}, ${m.dtype}) from ${m.model} in ${m.shards.length} shards: ${out}`,
      );
    } finally {
      (backend as Backend | null)?.dispose();
    }
  });

cli
  .command('calibrate <sae-dir>', "Re-estimate a saved BatchTopK SAE's threshold theta on activations and rewrite the folder")
  .option('--data <path>', 'Activations (.npy, .safetensors or a directory of shards)')
  .option('--tensor <name>', 'Tensor to read from .safetensors files holding several')
  .option('--batch-size <n>', "Rows per batch (default: the SAE's training batch size, else 4096)")
  .option('--batches <n>', `Batches averaged (default: the SAE's training setting, else ${CALIBRATION_BATCHES})`)
  .option('--seed <n>', 'Seed of the row shuffle (default: 0)')
  .option('--dry-run', 'Report the new theta without rewriting the folder')
  .option('--backend <b>', 'auto | webgpu | cpu | cpu-fast (default: auto)')
  .option('--json', 'Print one JSON object as the last line of stdout')
  .example('batchtopk calibrate runs/latest/sae --data other_acts.npy')
  .action(async (dir: string, raw: Flags) => {
    const flags = camel(raw);
    const data = str(flags, 'data');
    if (!data) throw new UsageError('calibrate needs --data <path>');
    const choice = oneOf(flags, 'backend', BACKEND_CHOICES, 'auto') as BackendChoice;
    let backend: Backend | null = null;
    try {
      const s = await runCalibrate(
        {
          sae: dir,
          data,
          tensor: str(flags, 'tensor'),
          batchSize: num(flags, 'batchSize', { int: true, min: 1 }),
          batches: num(flags, 'batches', { int: true, min: 1 }),
          seed: num(flags, 'seed', { int: true, min: 0, max: 0xffffffff }) ?? 0,
          dryRun: Boolean(flags['dryRun']),
          log: (m) => console.error(m),
        },
        async (hint) => (backend = await openBackend(choice, (m) => console.error(m), hint)),
      );
      emit(Boolean(flags['json']), s as unknown as Record<string, unknown>, () =>
        [
          `theta ${s.theta.toPrecision(5)} (was ${s.previousTheta.toPrecision(5)}): mean cut of ${s.batches} batches of ${s.batchSize} rows (k=${s.k}, batch cuts sd ${s.batchSd.toPrecision(3)}) on ${s.backend}`,
          s.written ? `rewrote ${s.sae}` : `dry run: ${s.sae} unchanged`,
        ].join('\n'),
      );
    } finally {
      (backend as Backend | null)?.dispose();
    }
  });

cli
  .command('synth', 'Write a synthetic activation set (.npy) and its ground-truth dictionary')
  .option('--out <file>', 'Output .npy file (the dictionary goes to <stem>.dictionary.npy)')
  .option('--rows <n>', 'Rows (tokens) (default: 100_000)')
  .option('--d-in <d>', 'Activation dimension (default: 64)')
  .option('--features <f>', 'Ground-truth features (default: 128)')
  .option('--mean-active <a>', 'Mean active features per sample (default: 6)')
  .option('--seed <n>', 'Seed (default: 0)')
  .option('--json', 'Print one JSON object as the last line of stdout')
  .example('batchtopk synth --out data/synth.npy --rows 200000')
  .action((raw: Flags) => {
    const flags = camel(raw);
    const out = str(flags, 'out');
    if (!out) throw new UsageError('synth needs --out <file.npy>');
    const r = runSynth({
      out,
      rows: num(flags, 'rows', { int: true, min: 1 }) ?? 100_000,
      dIn: num(flags, 'dIn', { int: true, min: 1 }) ?? 64,
      nFeatures: num(flags, 'features', { int: true, min: 1 }) ?? 128,
      meanActive: num(flags, 'meanActive', { min: 0 }) ?? 6,
      seed: num(flags, 'seed', { int: true, min: 0, max: 0xffffffff }) ?? 0,
    });
    emit(Boolean(flags['json']), r, () => `wrote ${r.data} [${r.rows}, ${r.dIn}] and ${r.dictionary} [${r.nFeatures}, ${r.dIn}]`);
  });

cli
  .command('info', 'Show the compute backend: WebGPU adapter, feature level and limits')
  .option('--backend <b>', 'auto | webgpu | cpu | cpu-fast (default: auto)')
  .option('--json', 'Print one JSON object as the last line of stdout')
  .action(async (flags: Flags) => {
    const r = await runInfo(oneOf(flags, 'backend', BACKEND_CHOICES, 'auto') as BackendChoice);
    emit(Boolean(flags['json']), r.json, () => r.text);
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
      if (cli.args.length > 0) throw new UsageError(`unknown command '${cli.args[0]}' (commands: train, sweep, report, eval, calibrate, harvest, synth, info)`);
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

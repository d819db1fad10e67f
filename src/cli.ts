// The `batchtopk` command line: cac wiring only. Each action maps flags to options, opens the backend and
// calls the command's run function; errors print one line (no stack trace) and exit 1.
import { cac } from 'cac';
import type { Backend } from './backend/backend.js';
import { BACKEND_CHOICES, openBackend, type BackendChoice } from './backend/open.js';
import { runEval } from './cli/eval.js';
import { runInfo } from './cli/info.js';
import { runSynth } from './cli/synth.js';
import { runTrain, type TrainOptions } from './cli/train.js';
import { ARCHS, NORMALIZE_MODES } from './sae/config.js';
import { SAE_DEFAULTS } from './sae/config.js';

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
    normalize: oneOf(flags, 'normalize', NORMALIZE_MODES, 'none'),
    seed: num(flags, 'seed', { int: true, min: 0, max: 0xffffffff }) ?? 0,
    out: str(flags, 'out') ?? resume ?? 'runs/latest',
    resume,
    evalFraction: num(flags, 'evalFraction', { min: 0, max: 0.99 }) ?? 0.05,
    evalTokens: num(flags, 'evalTokens', { int: true, min: 1 }) ?? 1_000_000,
    shuffleBuffer: num(flags, 'shuffleBuffer', { int: true, min: 1 }) ?? 65536,
    checkpointEvery: num(flags, 'checkpointEvery', { int: true, min: 0 }) ?? 500,
    logEvery: num(flags, 'logEvery', { int: true, min: 1 }) ?? 50,
    stopAfter: num(flags, 'stopAfter', { int: true, min: 1 }),
    quiet: Boolean(flags['quiet']),
    profile: Boolean(flags['profile']),
    explicit,
  };
  if (embedded && !given('steps') && !given('tokens')) o.steps = EMBEDDED.steps;
  if (embedded && !given('dictSize') && !given('expansion')) o.expansion = EMBEDDED.expansion;
  return o;
}

const cli = cac('batchtopk');

cli
  .command('train', 'Train an SAE (BatchTopK by default) on activation files, or on the embedded synthetic data set')
  .option('--data <path>', 'Activations: .npy or .safetensors [tokens, d] (f32/f16/bf16), or a directory of shards (default: embedded synthetic data)')
  .option('--tensor <name>', 'Tensor to read from .safetensors files holding several')
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
  .option('--bandwidth <e>', `JumpReLU straight-through bandwidth (default: ${SAE_DEFAULTS.bandwidth})`)
  .option('--theta-init <t>', `JumpReLU initial threshold (default: ${SAE_DEFAULTS.thetaInit})`)
  .option('--warmup-steps <n>', 'Linear learning-rate warm-up steps (default: 0)')
  .option('--decay-fraction <f>', 'Linear decay to 0 over this final fraction of steps (default: 0)')
  .option('--clip-grad-norm <n>', 'Global gradient-norm clipping (0: off) (default: 0)')
  .option('--normalize <mode>', `Input normalisation: ${NORMALIZE_MODES.join(' | ')} (default: none)`)
  .option('--backend <b>', 'auto | webgpu | cpu | cpu-fast (auto: a hardware WebGPU adapter; else the faster of cpu-fast and a software adapter such as llvmpipe, measured once per shape and cached; cpu: the TypeScript reference) (default: auto)')
  .option('--seed <n>', 'Seed of every random choice (default: 0)')
  .option('--out <dir>', 'Output folder: sae/ (SAELens format), checkpoint, metrics.jsonl, summary.json (default: runs/latest)')
  .option('--resume <dir>', 'Continue the run saved in this folder (its checkpoint)')
  .option('--eval-fraction <f>', 'Share of rows held out for evaluation (default: 0.05)')
  .option('--eval-tokens <n>', 'Evaluate on at most this many held-out rows (default: 1000000)')
  .option('--shuffle-buffer <rows>', 'Rows in the shuffle buffer (default: 65536)')
  .option('--profile', 'Time every backend primitive (and WebGPU kernel) over the training steps; table at the end and in <out>/profile.txt, profile.json')
  .option('--checkpoint-every <n>', 'Steps between checkpoints (0: only at the end) (default: 500)')
  .option('--log-every <n>', 'Steps between metrics.jsonl lines (default: 50)')
  .option('--stop-after <n>', 'Stop after n steps of this invocation (resumable)')
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
      emit(Boolean(flags['json']), s as unknown as Record<string, unknown>, () =>
        [
          `${s.finished ? 'trained' : 'stopped at step ' + s.steps + ' (resumable)'}: ${s.arch} d_in=${s.dIn} d_sae=${s.dictSize} k=${s.k}, ${s.steps} steps, ${s.tokens} tokens on ${s.backend} (${Math.round(s.tokensPerSecond)} tok/s)`,
          `held-out (${s.evalTokens} tokens): nmse ${s.nmse.toFixed(4)}  fvu ${s.fvu.toFixed(4)}  L0 ${s.l0.toFixed(2)}  dead ${(100 * s.deadFraction).toFixed(1)}%` +
            (s.threshold !== null ? `  theta ${s.threshold.toPrecision(4)}` : ''),
          ...(s.featureRecovery
            ? [`feature recovery: mean max cosine ${s.featureRecovery.meanMaxCos.toFixed(3)}, ${(100 * s.featureRecovery.fracAbove09).toFixed(0)}% of true features above 0.9`]
            : []),
          `output: ${s.out}`,
        ].join('\n'),
      );
    } finally {
      (backend as Backend | null)?.dispose();
    }
  });

cli
  .command('eval <sae-dir>', 'Inference metrics of a saved SAE (ours or SAELens-written) on activations')
  .option('--data <path>', 'Activations (.npy, .safetensors or a directory of shards)')
  .option('--tensor <name>', 'Tensor to read from .safetensors files holding several')
  .option('--batch-size <n>', 'Rows per evaluation batch (default: 4096)')
  .option('--max-rows <n>', 'Evaluate at most this many rows')
  .option('--backend <b>', 'auto | webgpu | cpu | cpu-fast (default: auto)')
  .option('--json', 'Print one JSON object as the last line of stdout')
  .example('batchtopk eval runs/latest/sae --data held_out.npy')
  .action(async (dir: string, raw: Flags) => {
    const flags = camel(raw);
    const data = str(flags, 'data');
    if (!data) throw new UsageError('eval needs --data <path>');
    const choice = oneOf(flags, 'backend', BACKEND_CHOICES, 'auto') as BackendChoice;
    const batchSize = num(flags, 'batchSize', { int: true, min: 1 }) ?? 4096;
    const maxRows = num(flags, 'maxRows', { int: true, min: 1 });
    let backend: Backend | null = null;
    try {
      const s = await runEval({ sae: dir, data, tensor: str(flags, 'tensor'), batchSize, maxRows }, async (hint) => (backend = await openBackend(choice, (m) => console.error(m), hint)));
      emit(Boolean(flags['json']), s as unknown as Record<string, unknown>, () =>
        [
          `${s.architecture} d_in=${s.dIn} d_sae=${s.dictSize} on ${s.tokens} tokens (${s.backend})`,
          `nmse ${s.nmse.toFixed(4)}  fvu ${s.fvu.toFixed(4)}  L0 ${s.l0.toFixed(2)}  dead ${(100 * s.deadFraction).toFixed(1)}%` + (s.threshold !== null ? `  theta ${s.threshold.toPrecision(4)}` : ''),
          `L0 histogram (active latents: samples): ${s.l0Histogram.flatMap((c, i) => (c ? [`${i}:${c}`] : [])).join(' ')}`,
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

cli.help();
cli.version('0.1.0');

async function main(): Promise<void> {
  try {
    cli.parse(process.argv, { run: false });
    if (!cli.matchedCommand) {
      if (cli.args.length > 0) throw new UsageError(`unknown command '${cli.args[0]}' (commands: train, eval, synth, info)`);
      if (!cli.options['help'] && !cli.options['version']) cli.outputHelp();
      return;
    }
    await cli.runMatchedCommand();
  } catch (err) {
    const e = err as Error;
    if (process.env.BATCHTOPK_DEBUG) console.error(e);
    console.error(`batchtopk: ${e.message}`);
    process.exitCode = 1;
  }
}

await main();

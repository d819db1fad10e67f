// Progress of a long run on stderr: a single redrawn bar on a terminal, plain periodic lines otherwise
// (CI logs, pipes), so stdout stays free for results (--json).
export interface ProgressInfo {
  step: number;
  steps: number;
  tokens: number;
  tokensPerSecond: number;
  loss: number;
  l0: number;
  dead: number;
}

export class Progress {
  private lastLine = 0;
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    /** Seconds between plain lines when not on a terminal. */
    private readonly intervalS = 10,
    private readonly quiet = false,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  update(p: ProgressInfo, force = false): void {
    if (this.quiet) return;
    const now = performance.now();
    const frac = p.step / p.steps;
    const eta = p.tokensPerSecond > 0 ? ((p.steps - p.step) / p.step) * (p.tokens / p.tokensPerSecond) : NaN;
    const stats = `${fmtCount(p.tokens)} tok  ${fmtCount(p.tokensPerSecond)} tok/s  ETA ${fmtTime(eta)}  loss ${p.loss.toPrecision(4)}  L0 ${p.l0.toFixed(1)}  dead ${p.dead}`;
    if (this.tty) {
      if (!force && now - this.lastLine < 100) return;
      const width = 24;
      const filled = Math.round(frac * width);
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.step}/${p.steps}  ${stats}\x1b[K`);
    } else {
      if (!force && now - this.lastLine < this.intervalS * 1000) return;
      this.out.write(`step ${p.step}/${p.steps} (${(100 * frac).toFixed(0)}%)  ${stats}\n`);
    }
    this.lastLine = now;
  }

  /**
   * Progress of end-of-run work (calibration, evaluation, fingerprinting): `done` of `total` `unit`, drawn
   * like the step bar (redrawn on a terminal, a plain line every intervalS seconds otherwise).
   */
  phase(label: string, done: number, total: number, unit: string, force = false): void {
    if (this.quiet) return;
    const now = performance.now();
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const count = `${fmtCount(done)}/${fmtCount(total)} ${unit} (${(100 * frac).toFixed(0)}%)`;
    if (this.tty) {
      if (!force && now - this.lastLine < 100) return;
      const width = 24;
      const filled = Math.round(frac * width);
      this.out.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${count}\x1b[K`);
    } else {
      if (!force && now - this.lastLine < this.intervalS * 1000) return;
      this.out.write(`${label}: ${count}\n`);
    }
    this.lastLine = now;
  }

  /** A plain message, on its own line (ends the bar's line first). */
  log(msg: string): void {
    if (this.quiet) return;
    if (this.tty && this.lastLine) this.out.write('\n');
    this.out.write(msg + '\n');
    this.lastLine = 0;
  }

  done(): void {
    if (this.tty && this.lastLine && !this.quiet) this.out.write('\n');
    this.lastLine = 0;
  }
}

export function fmtCount(n: number): string {
  if (!Number.isFinite(n)) return '?';
  if (n >= 1e9) return (n / 1e9).toFixed(2) + 'G';
  if (n >= 1e6) return (n / 1e6).toFixed(2) + 'M';
  if (n >= 1e3) return (n / 1e3).toFixed(1) + 'k';
  return n.toFixed(0);
}

export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

// Ctrl-C and SIGTERM during training: the first signal asks the run to stop after its current step (the
// caller then writes a checkpoint and throws Interrupted); a second signal kills the process at once. That
// second one needs no handler of ours: after the first signal we remove our listeners, so the signal's
// default action (terminate) applies even in the middle of a long synchronous step. It cannot corrupt the
// last checkpoint because checkpoints are written atomically (temporary file, then rename).

/** Conventional shell exit status of a process stopped by a signal: 128 + signal number. */
const EXIT_CODE: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** A run stopped on request after saving its state; `exitCode` is what the CLI exits with. */
export class Interrupted extends Error {
  readonly exitCode: number;
  constructor(
    readonly signal: StopSignal,
    message: string,
  ) {
    super(message);
    this.name = 'Interrupted';
    this.exitCode = EXIT_CODE[signal];
  }
}

export class InterruptWatch {
  /** The first signal received, or null. */
  signal: StopSignal | null = null;
  private readonly onSignal = (sig: StopSignal) => {
    this.signal ??= sig;
    this.uninstall(); // the next one terminates at once (default action)
    this.notify(sig);
  };
  private installed = false;

  constructor(private readonly notify: (sig: StopSignal) => void = () => {}) {}

  install(): this {
    if (this.installed) return this;
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    this.installed = true;
    return this;
  }

  uninstall(): void {
    if (!this.installed) return;
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    this.installed = false;
  }

  get requested(): boolean {
    return this.signal !== null;
  }

  /**
   * Let the event loop deliver pending signals. A CPU training step never leaves the microtask queue, so
   * without this a signal would only be seen after the whole run. setImmediate costs microseconds per step.
   */
  poll(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }
}

// How the host waits for Dawn. dawn.node settles its promises (mapAsync, onSubmittedWorkDone, popErrorScope)
// by polling the device from `globalThis.setImmediate`, queued again on every tick while one is pending: for
// the whole of a wait the main thread spins on a core. On a GPU that core is only wasted; on a CPU adapter
// (lavapipe) the device's own threads need it: on the 2-core dev VM a per-row top-k took 307 ms and a read of
// 402 MB 174 ms with the spin, 186 and 90 ms with the polls on a timer (bench/RESULTS.md).
// So Dawn's polls (its callbacks are native functions without a name; every other setImmediate call goes to
// Node's own, unchanged) run immediately for the first SPIN_MS of a wait, which keeps short waits as fast as
// before, and from then on once per timer tick (~1 ms). Installed once, when a device is taken from a CPU
// adapter: on a GPU the spin costs a core the device does not need, and a timer tick would add up to ~1 ms to
// a wait of a few milliseconds.

/** How long a wait polls on every tick before it polls on a timer. */
export const SPIN_MS = 2;

/** Dawn's polls so far: run on the next tick, or on a timer (for specs and benches). */
export const hostPolls = { immediate: 0, timer: 0 };

let installed = false;

/** Whether a setImmediate callback is Dawn's event poll (a native function without a name). */
export function isDawnPoll(fn: unknown): boolean {
  return typeof fn === 'function' && fn.name === '' && /\[native code\]/.test(Function.prototype.toString.call(fn));
}

/** Route Dawn's event polling as above (idempotent). */
export function installHostPolling(): void {
  if (installed) return;
  installed = true;
  const immediate = globalThis.setImmediate;
  // When the current run of Dawn polls began (null: none pending), and whether a poll queued the next one.
  let runStart: number | null = null;
  let queuedAgain = false;
  const patched = function (this: unknown, fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (!isDawnPoll(fn)) return immediate(fn, ...args);
    queuedAgain = true;
    const now = performance.now();
    runStart ??= now;
    const poll = () => {
      queuedAgain = false;
      fn(...args);
      // Dawn queues the next poll from inside this one while anything is pending: none queued, the wait is over.
      if (!queuedAgain) runStart = null;
    };
    if (now - runStart < SPIN_MS) {
      hostPolls.immediate++;
      return immediate(poll);
    }
    hostPolls.timer++;
    return setTimeout(poll, 0); // (Dawn ignores what it gets back)
  };
  // The same function to everyone else, util.promisify's custom form included.
  for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(immediate))) {
    if (!['length', 'name', 'prototype'].includes(key)) Object.defineProperty(patched, key, d);
  }
  for (const sym of Object.getOwnPropertySymbols(immediate)) Object.defineProperty(patched, sym, Object.getOwnPropertyDescriptor(immediate, sym)!);
  globalThis.setImmediate = patched as unknown as typeof setImmediate;
}

// Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: fd 3 in, fd 4 out,
// NUL-terminated JSON), with no npm package: what the page checks in bench/ (report_browser.ts,
// features_browser.ts) share. Every console error or warning, uncaught exception, error log entry and failed
// load of the page is collected in `problems`.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

export type Msg = { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string }; sessionId?: string };

export interface Chromium {
  proc: ChildProcess;
  send(method: string, params?: Record<string, unknown>, sessionId?: string): Promise<Record<string, unknown>>;
  /** Called with every event (and reply without a waiting caller). */
  listeners: ((m: Msg) => void)[];
  problems: string[];
  stderr(): string;
  /** Attach to the browser's page, with its events on, and load `file` into it; resolves with the session id once loaded. */
  open(file: string): Promise<string>;
  /** Stop the browser and remove its profile (it writes there until it exits). */
  close(): Promise<void>;
}

/** Start Chromium (the `CHROMIUM` environment variable, else `chromium` on the PATH) at a window size. */
export function launchChromium(windowSize: string): Chromium {
  const browser = process.env.CHROMIUM ?? 'chromium';
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-chromium-'));
  const proc = spawn(
    browser,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--remote-debugging-pipe', `--window-size=${windowSize}`, 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const toBrowser = proc.stdio[3] as NodeJS.WritableStream;
  const fromBrowser = proc.stdio[4] as NodeJS.ReadableStream;
  let nextId = 1;
  const pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  const listeners: ((m: Msg) => void)[] = [];
  let buf = '';
  fromBrowser.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let end: number;
    while ((end = buf.indexOf('\0')) >= 0) {
      const m = JSON.parse(buf.slice(0, end)) as Msg;
      buf = buf.slice(end + 1);
      if (m.id !== undefined && pending.has(m.id)) {
        const p = pending.get(m.id)!;
        pending.delete(m.id);
        if (m.error) p.reject(new Error(m.error.message));
        else p.resolve(m.result ?? {});
      } else listeners.forEach((l) => l(m));
    }
  });
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> => {
    const id = nextId++;
    toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
  };
  const problems: string[] = [];
  listeners.push((m) => {
    const p = m.params ?? {};
    if (m.method === 'Runtime.consoleAPICalled' && ['error', 'warning', 'assert'].includes(p['type'] as string)) problems.push(`console.${p['type']}: ${JSON.stringify((p['args'] as { value?: unknown }[]).map((a) => a.value))}`);
    if (m.method === 'Runtime.exceptionThrown') problems.push(`exception: ${JSON.stringify(p['exceptionDetails'])}`);
    if (m.method === 'Log.entryAdded' && ['error', 'warning'].includes((p['entry'] as { level: string }).level)) problems.push(`log ${(p['entry'] as { level: string }).level}: ${(p['entry'] as { text: string }).text} ${(p['entry'] as { url?: string }).url ?? ''}`);
    if (m.method === 'Network.loadingFailed') problems.push(`load failed: ${JSON.stringify(p)}`);
  });
  const close = async () => {
    const exited = new Promise((resolve) => (proc.exitCode !== null ? resolve(null) : proc.on('exit', resolve)));
    proc.kill();
    await exited;
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
  };
  const open = async (file: string): Promise<string> => {
    const { targetInfos } = (await send('Target.getTargets')) as { targetInfos: { targetId: string; type: string }[] };
    const target = targetInfos.find((t) => t.type === 'page')!;
    const { sessionId } = (await send('Target.attachToTarget', { targetId: target.targetId, flatten: true })) as { sessionId: string };
    for (const d of ['Runtime', 'Log', 'Page', 'Network']) await send(`${d}.enable`, {}, sessionId);
    const loaded = new Promise<void>((resolve) => listeners.push((m) => m.method === 'Page.loadEventFired' && resolve()));
    await send('Page.navigate', { url: pathToFileURL(file).href }, sessionId);
    await loaded;
    return sessionId;
  };
  return { proc, send, open, listeners, problems, stderr: () => stderr, close };
}

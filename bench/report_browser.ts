// Opens a report page (index.html of a run or sweep folder) in headless Chromium (Debian: apt-get install -y
// chromium) and fails on any console error, uncaught exception, failed load or image that did not decode;
// writes a full-page screenshot. Talks to the browser over the DevTools protocol on a pipe
// (--remote-debugging-pipe: fd 3 in, fd 4 out, NUL-terminated JSON), so it needs no npm package.
//   npx tsx bench/report_browser.ts docs/sweep/index.html [screenshot.png]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const page = path.resolve(process.argv[2] ?? 'docs/sweep/index.html');
const shot = path.resolve(process.argv[3] ?? path.join(os.tmpdir(), 'batchtopk-report.png'));
const browser = process.env.CHROMIUM ?? 'chromium';
if (!fs.existsSync(page)) throw new Error(`${page}: no such page (give a report's index.html)`);

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-chromium-'));
const proc = spawn(
  browser,
  ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--remote-debugging-pipe', '--window-size=1400,1000', 'about:blank'],
  { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
);
let stderr = '';
proc.stderr!.on('data', (d) => (stderr += d));
const toBrowser = proc.stdio[3] as NodeJS.WritableStream;
const fromBrowser = proc.stdio[4] as NodeJS.ReadableStream;

type Msg = { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string }; sessionId?: string };
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

function send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
  const id = nextId++;
  toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

const problems: string[] = [];
listeners.push((m) => {
  const p = m.params ?? {};
  if (m.method === 'Runtime.consoleAPICalled' && ['error', 'warning', 'assert'].includes(p['type'] as string)) problems.push(`console.${p['type']}: ${JSON.stringify((p['args'] as { value?: unknown }[]).map((a) => a.value))}`);
  if (m.method === 'Runtime.exceptionThrown') problems.push(`exception: ${JSON.stringify(p['exceptionDetails'])}`);
  if (m.method === 'Log.entryAdded' && ['error', 'warning'].includes((p['entry'] as { level: string }).level)) problems.push(`log ${(p['entry'] as { level: string }).level}: ${(p['entry'] as { text: string }).text} ${(p['entry'] as { url?: string }).url ?? ''}`);
  if (m.method === 'Network.loadingFailed') problems.push(`load failed: ${JSON.stringify(p)}`);
});

const timeout = setTimeout(() => {
  console.error(`timed out; browser stderr:\n${stderr}`);
  proc.kill('SIGKILL');
  process.exit(2);
}, 60_000);

try {
  const { targetInfos } = (await send('Target.getTargets')) as { targetInfos: { targetId: string; type: string }[] };
  const target = targetInfos.find((t) => t.type === 'page')!;
  const { sessionId } = (await send('Target.attachToTarget', { targetId: target.targetId, flatten: true })) as { sessionId: string };
  for (const d of ['Runtime', 'Log', 'Page', 'Network']) await send(`${d}.enable`, {}, sessionId);
  const loaded = new Promise<void>((resolve) => listeners.push((m) => m.method === 'Page.loadEventFired' && resolve()));
  await send('Page.navigate', { url: pathToFileURL(page).href }, sessionId);
  await loaded;
  const ev = (await send('Runtime.evaluate', {
    expression: `JSON.stringify({ title: document.title, rows: document.querySelectorAll('tr').length, images: document.images.length, broken: [...document.images].filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.getAttribute('src')), height: document.documentElement.scrollHeight })`,
    returnByValue: true,
  }, sessionId)) as { result: { value: string } };
  const info = JSON.parse(ev.result.value) as { title: string; rows: number; images: number; broken: string[]; height: number };
  for (const b of info.broken) problems.push(`image did not render: ${b}`);
  await send('Emulation.setDeviceMetricsOverride', { width: 1400, height: Math.min(info.height, 8000), deviceScaleFactor: 1, mobile: false }, sessionId);
  const png = (await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true }, sessionId)) as { data: string };
  fs.writeFileSync(shot, Buffer.from(png.data, 'base64'));
  console.log(`${page}: "${info.title}", ${info.rows} table rows, ${info.images} images; screenshot ${shot}`);
  await send('Browser.close').catch(() => {});
} finally {
  clearTimeout(timeout);
  const exited = new Promise((resolve) => (proc.exitCode !== null ? resolve(null) : proc.on('exit', resolve)));
  proc.kill();
  await exited; // the browser writes to its profile until it exits
  fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
}
if (problems.length) {
  console.error(`${problems.length} problem(s):\n${problems.join('\n')}`);
  process.exitCode = 1;
} else console.log('no console errors, no failed loads, every image rendered');

// Opens a report page (index.html of a run or sweep folder) in headless Chromium (Debian: apt-get install -y
// chromium) and fails on any console error, uncaught exception, failed load or image that did not decode;
// writes a full-page screenshot. Talks to the browser over the DevTools protocol on a pipe
// (--remote-debugging-pipe: fd 3 in, fd 4 out, NUL-terminated JSON), so it needs no npm package.
//   npx tsx bench/report_browser.ts docs/sweep/index.html [screenshot.png]
import { launchChromium } from './lib/chromium.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const page = path.resolve(process.argv[2] ?? 'docs/sweep/index.html');
const shot = path.resolve(process.argv[3] ?? path.join(os.tmpdir(), 'batchtopk-report.png'));
if (!fs.existsSync(page)) throw new Error(`${page}: no such page (give a report's index.html)`);

const { proc, send, open, problems, stderr: browserStderr, close } = launchChromium('1400,1000');

const timeout = setTimeout(() => {
  console.error(`timed out; browser stderr:\n${browserStderr()}`);
  proc.kill('SIGKILL');
  process.exit(2);
}, 60_000);

try {
  const sessionId = await open(page);
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
  await close();
}
if (problems.length) {
  console.error(`${problems.length} problem(s):\n${problems.join('\n')}`);
  process.exitCode = 1;
} else console.log('no console errors, no failed loads, every image rendered');

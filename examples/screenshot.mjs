// Opens examples/site.mjs in headless Chromium (Debian's `chromium` package) and saves what the
// browser shows, with the chat connected:
//
//   npm run screenshot            # writes docs/images/site.png
//
// test/site.test.ts uses the same functions to check the page in a real browser.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome'];
/** Virtual time the page gets to load, call the API and open its websocket before the capture. */
const PAGE_BUDGET_MS = 5000;

/** The first Chromium on PATH, or null. */
export async function findChromium() {
  for (const name of CHROMIUM_NAMES) {
    const found = await new Promise((resolve) => {
      const probe = spawn(name, ['--version'], { stdio: 'ignore' });
      probe.on('error', () => resolve(false));
      probe.on('exit', (code) => resolve(code === 0));
    });
    if (found) return name;
  }
  return null;
}

/** Runs headless Chromium on `url` with `args`; resolves with its stdout. */
function runChromium(chromium, url, args) {
  // A fresh profile per run: two runs at once must not share one.
  const profile = mkdtempSync(join(tmpdir(), 'tsgi-chromium-'));
  return new Promise((resolve, reject) => {
    const child = spawn(
      chromium,
      ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, `--virtual-time-budget=${PAGE_BUDGET_MS}`, ...args, url],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      rmSync(profile, { recursive: true, force: true });
      if (code === 0) resolve(stdout);
      else reject(new Error(`${chromium} exited with ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

/** The page's DOM after its scripts ran (API answered, websocket opened). */
export function renderedDom(chromium, url) {
  return runChromium(chromium, url, ['--dump-dom']);
}

/** Saves a PNG of the page as the browser shows it. */
export function screenshot(chromium, url, file, size = '1100,560') {
  return runChromium(chromium, url, [`--screenshot=${file}`, `--window-size=${size}`, '--hide-scrollbars']);
}

/** Starts `npx tsgi examples/site.mjs` on a free port; resolves with its URL and a stop(). */
export function startSite() {
  const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
  const site = fileURLToPath(new URL('./site.mjs', import.meta.url));
  const child = spawn(process.execPath, [cli, '--bind', '127.0.0.1:0', site], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (match) {
        resolve({
          url: `${match[1]}/`,
          output: () => stderr,
          stop: () =>
            new Promise((done) => {
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.on('exit', (code) => reject(new Error(`examples/site.mjs exited with ${code} before listening:\n${stderr}`)));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const chromium = await findChromium();
  if (chromium === null) {
    console.error('screenshot: no Chromium found; install it (Debian: apt-get install chromium)');
    process.exit(1);
  }
  const out = fileURLToPath(new URL('../docs/images/site.png', import.meta.url));
  const site = await startSite();
  try {
    await screenshot(chromium, site.url, out);
    console.log(`wrote ${out}`);
  } finally {
    await site.stop();
  }
}

/**
 * examples/site.mjs as a user runs it (`tsgi examples/site.mjs`, a real process) and as a browser
 * sees it: headless Chromium loads the page, its script calls the mounted API and joins the chat
 * room over a websocket, and the DOM it ends with shows both. .ci/run installs Chromium (Debian's
 * `chromium`); without it the browser test is reported as skipped.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { findChromium, renderedDom, screenshot, startSite } from '../examples/screenshot.mjs';

interface Site {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

const chromium = (await findChromium()) as string | null;
let site: Site;

beforeAll(async () => {
  site = (await startSite()) as Site;
});
afterAll(async () => {
  await site?.stop();
});

describe('examples/site.mjs over HTTP', () => {
  it('serves the page from staticFiles, compressed, with validators', async () => {
    const response = await fetch(site.url, { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(response.headers.get('vary')).toContain('Accept-Encoding');
    expect(response.headers.get('etag')).toMatch(/^W\/"/);
    expect(await response.text()).toContain('<title>tsgi example site</title>');
  });

  it('mounts the gateway API at /api', async () => {
    const response = await fetch(new URL('api/hello?name=test', site.url));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { greeting: string; mountedAt: string };
    expect(body.greeting).toBe('Hello, test!');
    expect(body.mountedAt).toBe('/api');
  });

  it('answers what nothing serves with the fallback 404', async () => {
    const response = await fetch(new URL('nothing/here', site.url));
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('Nothing at /nothing/here\n');
  });
});

describe('examples/site.mjs in a browser', () => {
  if (chromium === null) {
    it.skip('skipped: Chromium is not installed (apt-get install chromium; .ci/run installs it)', () => {});
    return;
  }

  it('renders the API answer and a connected chat room', async () => {
    const dom = (await renderedDom(chromium, site.url)) as string;
    expect(dom).toMatch(/<p id="chat-status" class="status connected">connected<\/p>/);
    expect(dom).toMatch(/\* guest-\w+ joined \(1 here\)/);
    expect(dom).toMatch(/guest-\w+: hello from the example page/);
    expect(dom).toContain('"greeting": "Hello, browser!"');
    expect(dom).toContain('"mountedAt": "/api"');
  });

  it('takes a screenshot of it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-site-'));
    try {
      const file = path.join(dir, 'site.png');
      await screenshot(chromium, site.url, file);
      const png = readFileSync(file);
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      // Width and height from the IHDR chunk: the window size asked for.
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1100, 560]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

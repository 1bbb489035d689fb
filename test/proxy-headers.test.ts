/**
 * --proxy-headers and --forwarded-allow-ips over real sockets on every backend: what a gateway
 * app's environ and an event app's scope say when a trusted proxy (the test client, 127.0.0.1)
 * forwards a request, when a client spoofs the headers, and when the peer is not trusted.
 */
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Environ, EventApp, GatewayApp } from '../src/index.js';
import { run } from './cli-process.js';
import { describeBackends, startServer, type TestServer } from './helpers.js';

const KEYS = ['REMOTE_ADDR', 'REMOTE_PORT', 'tsgi.url_scheme', 'HTTP_HOST', 'SERVER_NAME', 'SERVER_PORT', 'HTTP_X_FORWARDED_FOR'] as const;

const environApp: GatewayApp = (environ: Environ, startResponse) => {
  const seen: Record<string, unknown> = {};
  for (const key of KEYS) seen[key] = environ[key];
  startResponse('200 OK', [['Content-Type', 'application/json']]);
  return [JSON.stringify(seen)];
};

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function environWith(headers: Record<string, string>): Promise<Record<string, unknown>> {
  const response = await fetch(`${server!.url}/`, { headers });
  return (await response.json()) as Record<string, unknown>;
}

describeBackends('proxy headers on %s', (backend) => {
  it('from a trusted proxy: the client, scheme and host are the client side of the proxies', async () => {
    server = await startServer(environApp, backend, { forwardedAllowIps: ['127.0.0.1', '10.0.0.0/8'] });
    const seen = await environWith({
      'X-Forwarded-For': '203.0.113.7, 10.1.2.3',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'example.com:8443',
    });
    expect(seen).toMatchObject({
      REMOTE_ADDR: '203.0.113.7',
      REMOTE_PORT: '',
      'tsgi.url_scheme': 'https',
      HTTP_HOST: 'example.com:8443',
      SERVER_NAME: 'example.com',
      SERVER_PORT: '8443',
      // The headers themselves reach the app as sent.
      HTTP_X_FORWARDED_FOR: '203.0.113.7, 10.1.2.3',
    });
  });

  it('takes the rightmost untrusted address: addresses a client puts in front change nothing', async () => {
    server = await startServer(environApp, backend);
    const seen = await environWith({ 'X-Forwarded-For': '6.6.6.6, 203.0.113.7', 'X-Forwarded-Proto': 'https' });
    expect(seen.REMOTE_ADDR).toBe('203.0.113.7');
    expect(seen['tsgi.url_scheme']).toBe('https');
  });

  it('X-Forwarded-Port names the port the client connected to; a forwarded https without one means 443', async () => {
    server = await startServer(environApp, backend);
    expect(await environWith({ 'X-Forwarded-Host': 'example.com', 'X-Forwarded-Port': '8080' })).toMatchObject({ SERVER_NAME: 'example.com', SERVER_PORT: '8080' });
    expect(await environWith({ 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'example.com' })).toMatchObject({ SERVER_PORT: '443' });
  });

  it('reads RFC 7239 Forwarded, IPv6 and the client port included', async () => {
    server = await startServer(environApp, backend);
    const seen = await environWith({ Forwarded: 'for="[2001:db8::1]:4711";proto=https;host=example.org' });
    expect(seen).toMatchObject({ REMOTE_ADDR: '2001:db8::1', REMOTE_PORT: '4711', 'tsgi.url_scheme': 'https', HTTP_HOST: 'example.org', SERVER_NAME: 'example.org', SERVER_PORT: '443' });
  });

  it('from an untrusted peer the headers reach the app untouched and change nothing', async () => {
    server = await startServer(environApp, backend, { forwardedAllowIps: ['10.9.9.9'] });
    const seen = await environWith({ 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example' });
    expect(seen.REMOTE_ADDR).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    expect(seen).toMatchObject({ 'tsgi.url_scheme': 'http', HTTP_HOST: `127.0.0.1:${server.port}`, SERVER_PORT: String(server.port), HTTP_X_FORWARDED_FOR: '203.0.113.7' });
  });

  it('--no-proxy-headers believes no one', async () => {
    server = await startServer(environApp, backend, { proxyHeaders: false });
    const seen = await environWith({ 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https' });
    expect(seen.REMOTE_ADDR).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    expect(seen['tsgi.url_scheme']).toBe('http');
  });

  it('gives event apps the client, scheme and server; websockets get wss', async () => {
    const app: EventApp = async (scope, receive, send) => {
      if (scope.type === 'websocket') {
        await receive();
        await send({ type: 'websocket.accept' });
        await send({ type: 'websocket.send', text: JSON.stringify({ client: scope.client, scheme: scope.scheme, server: scope.server }) });
        await send({ type: 'websocket.close', code: 1000 });
        return;
      }
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: new TextEncoder().encode(JSON.stringify({ client: scope.client, scheme: scope.scheme, server: scope.server })) });
    };
    server = await startServer(app, backend, { interface: 'event' });
    const headers = { 'X-Forwarded-For': '198.51.100.9', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'app.example:444' };
    const http = (await (await fetch(`${server.url}/`, { headers })).json()) as Record<string, unknown>;
    expect(http).toEqual({ client: ['198.51.100.9', 0], scheme: 'https', server: ['app.example', 444] });
    const client = new WebSocket(`ws://127.0.0.1:${server.port}/`, { headers });
    const message = await new Promise<string>((resolve, reject) => {
      client.once('message', (data: Buffer) => resolve(data.toString()));
      client.once('error', reject);
    });
    expect(JSON.parse(message)).toEqual({ client: ['198.51.100.9', 0], scheme: 'wss', server: ['app.example', 444] });
    client.close();
  });
});

it('FORWARDED_ALLOW_IPS is read (weaker than TSGI_FORWARDED_ALLOW_IPS), and a bad entry exits 2 naming the accepted forms', async () => {
  const printed = run(['--print-config'], { FORWARDED_ALLOW_IPS: '10.0.0.0/8,192.168.1.1' });
  expect(await printed.exited).toBe(0);
  expect(printed.stdout.join('')).toMatch(/forwardedAllowIps\s+\["10\.0\.0\.0\/8","192\.168\.1\.1"\]\s+FORWARDED_ALLOW_IPS/);
  const bad = run(['--forwarded-allow-ips', 'proxy.local', 'examples/hello.mjs']);
  expect(await bad.exited).toBe(2);
  expect(bad.stderr.join('')).toContain("--forwarded-allow-ips: 'proxy.local' is not an IPv4 or IPv6 address");
});

/**
 * --proxy-protocol over real sockets: PROXY v1 and v2 headers in front of HTTP and of TLS, the
 * client they name reaching the app, connections without a valid header closed, and a PROXY
 * header refused as a malformed request when the option is off.
 */
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, beforeAll, expect, it } from 'vitest';
import type { Environ, GatewayApp } from '../src/index.js';
import { makeCerts, type TestCerts } from './certs.js';
import { describeBackends, parseResponses, rawRequest, startServer, traitsOf, type TestServer } from './helpers.js';

const peerApp: GatewayApp = (environ: Environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [`${environ.REMOTE_ADDR as string} ${environ.REMOTE_PORT as string} ${environ['tsgi.url_scheme'] as string}`];
};

const GET = 'GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';

/** A PROXY v2 header for TCP over IPv6 (or, with `local`, the LOCAL command: health checks). */
function v2Header(source: string, sourcePort: number, local = false): Buffer {
  const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const fixed = Buffer.alloc(4);
  fixed[0] = local ? 0x20 : 0x21; // version 2, LOCAL or PROXY
  fixed[1] = local ? 0x00 : 0x21; // AF_INET6, STREAM
  const addresses = Buffer.alloc(local ? 0 : 36);
  if (!local) {
    ipv6Bytes(source).copy(addresses, 0);
    ipv6Bytes('2001:db8::2').copy(addresses, 16);
    addresses.writeUInt16BE(sourcePort, 32);
    addresses.writeUInt16BE(443, 34);
  }
  fixed.writeUInt16BE(addresses.byteLength, 2);
  return Buffer.concat([signature, fixed, addresses]);
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const words = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  words.forEach((word, i) => bytes.writeUInt16BE(parseInt(word, 16), i * 2));
  return bytes;
}

let certs: TestCerts;
beforeAll(() => {
  certs = makeCerts();
});

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

/** Sends `parts` one write each (a little apart), collects the answer until the server closes. */
function send(port: number, parts: Array<string | Buffer>, waitMs = 3000): Promise<{ text: string; closed: boolean }> {
  return rawRequest(port, parts, waitMs);
}

describeBackends('PROXY protocol on %s', (backend) => {
  it('with the option off, a PROXY header is a malformed request: refused, never served', async () => {
    let called = false;
    server = await startServer((environ, startResponse) => {
      called = true;
      return peerApp(environ, startResponse);
    }, backend);
    const result = await send(server.port, ['PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n' + GET]);
    // 400 from llhttp's parser; uWS's parser answers any request line it cannot read with 505.
    expect([400, 505]).toContain(parseResponses(result.text)[0]!.status);
    expect(result.closed).toBe(true);
    expect(called).toBe(false);
  });

  if (!traitsOf(backend).proxyProtocol) {
    it('refuses --proxy-protocol at start-up, naming the backends that can', async () => {
      await expect(startServer(peerApp, backend, { proxyProtocol: true })).rejects.toThrow(
        'cannot require a PROXY protocol header on every connection (--proxy-protocol); use --backend llhttp or --backend node',
      );
    });
    return;
  }

  it('v1: the client the header names is REMOTE_ADDR and REMOTE_PORT', async () => {
    server = await startServer(peerApp, backend, { proxyProtocol: true });
    const result = await send(server.port, ['PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n' + GET]);
    expect(parseResponses(result.text)[0]!.body).toBe('203.0.113.7 56324 http');
  });

  it('v2: binary header with IPv6, arriving a byte at a time', async () => {
    server = await startServer(peerApp, backend, { proxyProtocol: true });
    const header = v2Header('2001:db8::7', 4711);
    const parts: Array<string | Buffer> = [...header].map((byte) => Buffer.from([byte]));
    const result = await send(server.port, [...parts, GET]);
    expect(parseResponses(result.text)[0]!.body).toBe('2001:db8::7 4711 http');
  });

  it('v2 LOCAL (a load balancer health check) keeps the connection\'s own address', async () => {
    server = await startServer(peerApp, backend, { proxyProtocol: true });
    const result = await send(server.port, [Buffer.concat([v2Header('', 0, true), Buffer.from(GET)])]);
    expect(parseResponses(result.text)[0]!.body).toMatch(/^(::ffff:)?127\.0\.0\.1 \d+ http$/);
  });

  it('a connection that starts without a header is closed unanswered; the server goes on serving', async () => {
    server = await startServer(peerApp, backend, { proxyProtocol: true, logLevel: 'info' });
    const result = await send(server.port, [GET]);
    expect(result).toEqual({ text: '', closed: true });
    expect(server.errors.join('')).toContain('connection closed: the connection did not start with a PROXY protocol header (--proxy-protocol)');
    const after = await send(server.port, ['PROXY TCP4 198.51.100.1 192.0.2.1 1000 80\r\n' + GET]);
    expect(parseResponses(after.text)[0]!.body).toBe('198.51.100.1 1000 http');
  });

  it('a connection that never finishes its header is dropped after the head timeout', async () => {
    server = await startServer(peerApp, backend, { proxyProtocol: true, timeoutHead: 1, logLevel: 'info' });
    const result = await send(server.port, ['PROXY TCP4 203.0.113.7'], 10_000);
    expect(result).toEqual({ text: '', closed: true });
    expect(server.errors.join('')).toContain('no PROXY header within 1 s');
  });

  it('works in front of TLS: the header, then the handshake', async () => {
    server = await startServer(peerApp, backend, { proxyProtocol: true, certfile: certs.serverCert, keyfile: certs.serverKey });
    const socket = net.connect(server.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('PROXY TCP4 203.0.113.9 192.0.2.1 40000 443\r\n');
    const secure = tls.connect({ socket, ca: certs.ca, servername: 'localhost' });
    secure.write(GET);
    let text = '';
    secure.setEncoding('latin1');
    secure.on('data', (chunk: string) => (text += chunk));
    await new Promise((resolve) => secure.once('end', resolve));
    expect(parseResponses(text)[0]!.body).toBe('203.0.113.9 40000 https');
  });
});

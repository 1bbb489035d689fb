/**
 * HTTPS on every backend: certificates made with openssl at test time, real TLS clients (Node's
 * https and tls, `ws` for wss), ALPN, encrypted keys, and client certificates.
 */
import { createPrivateKey } from 'node:crypto';
import https from 'node:https';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Environ, EventApp, GatewayApp } from '../src/index.js';
import { makeCerts, type TestCerts } from './certs.js';
import { describeBackends, startServer, traitsOf, type TestServer } from './helpers.js';
import { spreadOverWorkers, startSupervised } from './supervisor-process.js';

let certs: TestCerts;
beforeAll(() => {
  certs = makeCerts();
});

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const schemeApp: GatewayApp = (environ: Environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [`${environ['tsgi.url_scheme'] as string} ${environ.PATH_INFO as string}`];
};

interface ClientOptions {
  cert?: string;
  key?: string;
}

/** GET over HTTPS, verifying the server against the test CA. */
function httpsGet(port: number, target: string, client: ClientOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      {
        host: '127.0.0.1',
        port,
        path: target,
        ca: certs.ca,
        servername: 'localhost',
        agent: false,
        ...(client.cert === undefined ? {} : { cert: readFileSync(client.cert), key: readFileSync(client.key!) }),
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
  });
}

function tlsOptions(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { certfile: certs.serverCert, keyfile: certs.serverKey, ...extra };
}

describeBackends('TLS on %s', (backend) => {
  it('serves HTTPS; the environ says https; the start-up line names an https URL', async () => {
    server = await startServer(schemeApp, backend, { ...tlsOptions(), logLevel: 'info' });
    expect(server.server.tls).toBe(true);
    expect(await httpsGet(server.port, '/secure')).toEqual({ status: 200, body: 'https /secure' });
    expect(server.errors.join('')).toContain(`listening on https://127.0.0.1:${server.port}`);
  });

  it('offers http/1.1 by ALPN where the backend negotiates ALPN', async () => {
    server = await startServer(schemeApp, backend, tlsOptions());
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, ca: certs.ca, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    // h2 is never chosen: tsgi speaks HTTP/1.1 only.
    expect(socket.alpnProtocol).toBe(traitsOf(backend).alpn ? 'http/1.1' : false);
    socket.destroy();
  });

  it('gives event apps scheme https, and wss to websockets', async () => {
    const app: EventApp = async (scope, receive, send) => {
      if (scope.type === 'websocket') {
        await receive();
        await send({ type: 'websocket.accept' });
        await send({ type: 'websocket.send', text: scope.scheme });
        await send({ type: 'websocket.close', code: 1000 });
        return;
      }
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: new TextEncoder().encode(scope.scheme) });
    };
    server = await startServer(app, backend, { ...tlsOptions(), interface: 'event' });
    expect((await httpsGet(server.port, '/')).body).toBe('https');
    const client = new WebSocket(`wss://127.0.0.1:${server.port}/`, { ca: certs.ca });
    const message = await new Promise<string>((resolve, reject) => {
      client.once('message', (data: Buffer) => resolve(data.toString()));
      client.once('error', reject);
    });
    expect(message).toBe('wss');
    client.close();
  });

  it('opens an encrypted key with --keyfile-password, and says so when the password is wrong', async () => {
    server = await startServer(schemeApp, backend, tlsOptions({ keyfile: certs.encryptedKey, keyfilePassword: certs.password }));
    expect((await httpsGet(server.port, '/')).status).toBe(200);
    await expect(startServer(schemeApp, backend, tlsOptions({ keyfile: certs.encryptedKey, keyfilePassword: 'wrong' }))).rejects.toThrow(
      'the key is encrypted and --keyfile-password is missing or wrong',
    );
  });

  it('refuses a key that does not belong to the certificate, and a missing file, naming them', async () => {
    await expect(startServer(schemeApp, backend, tlsOptions({ keyfile: certs.clientKey }))).rejects.toThrow('the private key does not belong to the certificate');
    await expect(startServer(schemeApp, backend, tlsOptions({ certfile: '/nonexistent.pem' }))).rejects.toThrow('--certfile /nonexistent.pem: ENOENT');
    await expect(startServer(schemeApp, backend, { certfile: certs.serverCert })).rejects.toThrow('--certfile needs --keyfile');
  });

  it('client certificates, optional: none is fine, a trusted one is fine, an untrusted one is refused', async () => {
    server = await startServer(schemeApp, backend, tlsOptions({ caCerts: certs.caCert }));
    expect((await httpsGet(server.port, '/none')).status).toBe(200);
    expect((await httpsGet(server.port, '/trusted', { cert: certs.clientCert, key: certs.clientKey })).status).toBe(200);
    await expect(httpsGet(server.port, '/rogue', { cert: certs.rogueCert, key: certs.rogueKey })).rejects.toThrow();
    expect((await httpsGet(server.port, '/after')).body).toBe('https /after');
  });

  it('client certificates, required: a client without one is refused (or the backend says it cannot)', async () => {
    if (!traitsOf(backend).requiredClientCerts) {
      await expect(startServer(schemeApp, backend, tlsOptions({ caCerts: certs.caCert, certReqs: 'required' }))).rejects.toThrow(
        'cannot require it (--cert-reqs required); use --backend llhttp or --backend node',
      );
      return;
    }
    server = await startServer(schemeApp, backend, tlsOptions({ caCerts: certs.caCert, certReqs: 'required' }));
    await expect(httpsGet(server.port, '/none')).rejects.toThrow();
    await expect(httpsGet(server.port, '/rogue', { cert: certs.rogueCert, key: certs.rogueKey })).rejects.toThrow();
    expect(await httpsGet(server.port, '/trusted', { cert: certs.clientCert, key: certs.clientKey })).toEqual({ status: 200, body: 'https /trusted' });
  });
});

it('two supervised workers serve HTTPS from the same certificate', async () => {
  const supervised = await startSupervised(['--workers', '2', '--certfile', certs.serverCert, '--keyfile', certs.serverKey, 'test/fixtures/worker-app.mjs']);
  try {
    expect(supervised.log()).toMatch(/listening on https:\/\/127\.0\.0\.1:\d+/);
    const { pids } = await spreadOverWorkers(async () => (await httpsGet(supervised.port, '/busy/100')).body);
    expect(pids.size).toBe(2);
  } finally {
    supervised.child.kill('SIGTERM');
    await supervised.exited;
  }
});

// Reading the TLS files is the same for every backend: once is enough.
describe('TLS files', () => {
  it('calls a wrong password a wrong password also when it happens to decrypt the key to noise', async () => {
    // About one wrong password in 256 passes the cipher's padding check; OpenSSL then fails to
    // decode the noise instead of reporting a bad decrypt. Find such a password for this key.
    const encrypted = readFileSync(certs.encryptedKey);
    let unlucky: string | null = null;
    for (let i = 0; i < 5000 && unlucky === null; i++) {
      try {
        createPrivateKey({ key: encrypted, passphrase: `wrong-${i}` });
      } catch (error) {
        if (!/bad decrypt/i.test((error as Error).message)) unlucky = `wrong-${i}`;
      }
    }
    expect(unlucky).not.toBeNull();
    await expect(startServer(schemeApp, 'llhttp', tlsOptions({ keyfile: certs.encryptedKey, keyfilePassword: unlucky! }))).rejects.toThrow(
      'the key is encrypted and --keyfile-password is missing or wrong',
    );
  });
});

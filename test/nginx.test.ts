/**
 * tsgi behind a real nginx with a stock `proxy_pass` (no `proxy_http_version`): nginx then speaks
 * HTTP/1.0 to its upstream, one connection per request, and buffers request bodies. This is how
 * most deployments start, so every backend that serves HTTP/1.0 must answer 200s through it.
 * .ci/run installs nginx (Debian's nginx-light); without it the suite is reported as skipped.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Environ, GatewayApp } from '../src/index.js';
import { describeBackends, startServer, traitsOf, type TestServer } from './helpers.js';

function findNginx(): string | null {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    if (spawnSync(candidate, ['-v']).status === 0) return candidate;
  }
  const which = spawnSync('which', ['nginx'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : null;
}

const NGINX = findNginx();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) return reject(new Error(`nginx exited with ${child.exitCode}: ${log()}`));
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nginx did not listen on ${port}: ${log()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

interface Nginx {
  url: string;
  stop(): Promise<void>;
}

/** nginx in the foreground, one process, everything in a temporary directory, proxying to `upstream`. */
async function startNginx(upstream: number): Promise<Nginx> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-nginx-'));
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 16m;
  server {
    listen 127.0.0.1:${port};
    # The stock reverse proxy: no proxy_http_version, so HTTP/1.0 and Connection: close upstream.
    location / { proxy_pass http://127.0.0.1:${upstream}; }
  }
}
`,
  );
  const child = spawn(NGINX!, ['-p', dir, '-c', conf, '-e', `${dir}/error.log`], { stdio: 'ignore' });
  const log = (): string => {
    try {
      return readFileSync(`${dir}/error.log`, 'utf8');
    } catch {
      return '(no error log)';
    }
  };
  await waitForPort(port, child, log);
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGQUIT');
      }),
  };
}

const app: GatewayApp = (environ: Environ, startResponse) => {
  const seen = `${environ.SERVER_PROTOCOL} ${environ.REMOTE_ADDR}`;
  if (environ.PATH_INFO === '/upload') {
    const body = environ['tsgi.input'].read();
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return [`${seen} got ${body.byteLength} bytes`];
  }
  if (environ.PATH_INFO === '/stream') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return (function* () {
      for (let i = 0; i < 1000; i++) yield `line ${i}\n`;
    })();
  }
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [`${seen} ${environ.PATH_INFO}`];
};

if (NGINX === null) {
  describe('behind nginx', () => {
    it.skip('skipped: nginx is not installed (apt-get install nginx-light; .ci/run installs it)', () => {});
  });
} else {
  describeBackends('behind nginx (stock proxy_pass) on %s', (backend) => {
    let server: TestServer | null = null;
    let nginx: Nginx | null = null;
    afterEach(async () => {
      await nginx?.stop();
      await server?.close();
      nginx = null;
      server = null;
    });

    if (!traitsOf(backend).http10) {
      it('every request fails: nginx speaks HTTP/1.0 upstream and this backend answers it 505', async () => {
        server = await startServer(app, backend);
        nginx = await startNginx(server.port);
        const response = await fetch(`${nginx.url}/hello`);
        expect(response.status).toBe(505);
      });
      return;
    }

    it('answers GETs, a 1 MiB upload and a streamed body with 200s; the app sees HTTP/1.0 from 127.0.0.1', async () => {
      server = await startServer(app, backend);
      nginx = await startNginx(server.port);
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`${nginx.url}/hello/${i}`);
        expect(response.status).toBe(200);
        expect(await response.text()).toBe(`HTTP/1.0 127.0.0.1 /hello/${i}`);
      }
      const upload = await fetch(`${nginx.url}/upload`, { method: 'POST', body: Buffer.alloc(1024 * 1024, 120) });
      expect(upload.status).toBe(200);
      expect(await upload.text()).toBe(`HTTP/1.0 127.0.0.1 got ${1024 * 1024} bytes`);
      const stream = await fetch(`${nginx.url}/stream`);
      expect(stream.status).toBe(200);
      const lines = (await stream.text()).split('\n');
      expect(lines).toHaveLength(1001);
      expect(lines[999]).toBe('line 999');
    });

    it('answers 50 concurrent requests through nginx', async () => {
      server = await startServer(app, backend);
      nginx = await startNginx(server.port);
      const url = nginx.url;
      const bodies = await Promise.all(Array.from({ length: 50 }, (_, i) => fetch(`${url}/c/${i}`).then((r) => r.text())));
      expect(bodies).toEqual(Array.from({ length: 50 }, (_, i) => `HTTP/1.0 127.0.0.1 /c/${i}`));
    });
  });
}

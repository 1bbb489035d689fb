// nginx serving the static tree of bench/apps/payloads.mjs, as the reference for staticFiles().
// One process (master_process off), like a single tsgi process; sendfile and keep-alive on, and
// no cap on requests per connection, so the load generator's connections stay open as with tsgi.
// `argv(port)` writes the configuration and returns nginx's command line: the bench runs nginx
// itself, so the CPU it measures is nginx's own.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureStaticTree } from '../apps/payloads.mjs';

export function nginxStaticArgv(port) {
  const root = ensureStaticTree();
  const prefix = join(tmpdir(), `tsgi-bench-nginx-${port}`);
  mkdirSync(prefix, { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  types { application/octet-stream bin; }
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { }
  }
}
`,
  );
  return ['-p', prefix, '-c', conf];
}

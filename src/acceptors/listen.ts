/**
 * Where a server listens: TCP addresses, unix sockets and inherited file descriptors (a process
 * manager's or systemd's sockets), as one list every backend takes. The text forms are gunicorn's
 * `--bind` syntax: `HOST:PORT`, `[IPV6]:PORT`, `:PORT`, `HOST`, `PORT`, `unix:PATH`, `fd://N`.
 */
import cluster from 'node:cluster';
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import net, { type Server } from 'node:net';

export type ListenTarget =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'fd'; readonly fd: number };

/**
 * A target once listening: a TCP port of 0 has become the port the system chose, and an inherited
 * socket knows its address when it is a TCP one.
 */
export type BoundTarget =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'fd'; readonly fd: number; readonly host?: string; readonly port?: number };

/** What SERVER_NAME/SERVER_PORT and the scope's `server` say: the address, and the port (null for a unix socket). */
export function serverAddressOf(bound: BoundTarget): [host: string, port: number | null] {
  if (bound.kind === 'tcp') return [bound.host, bound.port];
  if (bound.kind === 'unix') return [bound.path, null];
  return [bound.host ?? `fd://${bound.fd}`, bound.port ?? null];
}

/** Parses one `--bind` value; `defaults` fill what a TCP form leaves out. Throws an Error naming the forms. */
export function parseListenTarget(text: string, defaults: { host: string; port: number }): ListenTarget {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (path === '') throw new Error(`unix: needs a path, like unix:/run/tsgi.sock; got ${JSON.stringify(text)}`);
    return { kind: 'unix', path };
  }
  if (text.startsWith('fd://')) {
    const digits = text.slice('fd://'.length);
    if (!/^\d+$/.test(digits) || Number(digits) > 65535) throw new Error(`fd:// needs a file descriptor number, like fd://3; got ${JSON.stringify(text)}`);
    return { kind: 'fd', fd: Number(digits) };
  }
  const { host, port } = parseHostPort(text);
  return { kind: 'tcp', host: host ?? defaults.host, port: port ?? defaults.port };
}

/** `HOST:PORT`, `[IPV6]:PORT`, `:PORT`, `HOST` or `PORT`: the parts given (null where left out). */
export function parseHostPort(text: string): { host: string | null; port: number | null } {
  let host: string | null = text;
  let port: string | null = null;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1]!;
    port = bracketed[2] ?? null;
  } else if (text.startsWith('[')) {
    throw new Error(`an IPv6 address goes in brackets, like [::1]:8000; got ${JSON.stringify(text)}`);
  } else if (/^\d+$/.test(text)) {
    host = null;
    port = text;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon !== -1 && text.indexOf(':') === colon) {
      host = text.slice(0, colon) || null;
      port = text.slice(colon + 1);
    }
  }
  if (port === null) return { host, port: null };
  if (!/^\d+$/.test(port) || Number(port) > 65535) {
    throw new Error(`the port must be a number from 0 to 65535; got ${JSON.stringify(text)}`);
  }
  return { host, port: Number(port) };
}

/** The `--bind` text of a target (what parseListenTarget reads back). */
export function formatTarget(target: ListenTarget): string {
  switch (target.kind) {
    case 'tcp':
      return `${formatHost(target.host)}:${target.port}`;
    case 'unix':
      return `unix:${target.path}`;
    case 'fd':
      return `fd://${target.fd}`;
  }
}

/** For the start-up line: `http://127.0.0.1:8000`, `https://[::1]:8443`, `unix:/run/tsgi.sock`. */
export function describeTarget(target: BoundTarget, tls: boolean): string {
  const scheme = tls ? 'https' : 'http';
  if (target.kind === 'tcp') return `${scheme}://${formatHost(target.host)}:${target.port}`;
  if (target.kind === 'fd' && target.host !== undefined) return `fd://${target.fd} (${scheme}://${formatHost(target.host)}:${target.port ?? ''})`;
  return formatTarget(target);
}

export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Whether this Node can open a listening socket with SO_REUSEPORT (`reusePort`: 22.12, 23.1). */
export function nodeHasReusePort(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

export interface ListenSocketOptions {
  /** SO_REUSEPORT on a socket of this process's own (TCP only; see AcceptorOptions.reusePort). */
  reusePort: boolean;
  /** The kernel's accept queue length (listen(2)'s backlog). */
  backlog: number;
  /** Permission bits of a unix socket file (e.g. 0o660). */
  unixMode: number;
}

/**
 * Listens on a net.Server (http, https and tls servers are ones) at one target; resolves the
 * bound target, rejects naming the target and the system's error. A unix socket file left by a
 * dead server is replaced; one a live server answers on is not.
 */
export async function listenOn(server: Server, target: ListenTarget, options: ListenSocketOptions): Promise<BoundTarget> {
  // In a cluster worker the supervisor, which holds the shared socket, cleared the path before any
  // worker started; a worker checking again would find its siblings' live socket.
  if (target.kind === 'unix' && !cluster.isWorker) await clearStaleSocket(target.path);
  if (target.kind === 'tcp' && options.reusePort && !nodeHasReusePort()) {
    throw new Error(`--reuse-port needs Node 22.12 or later (this is ${process.versions.node}); without it workers share one socket`);
  }
  const bound = await new Promise<BoundTarget>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(new Error(`cannot listen on ${formatTarget(target)}: ${explain(error, target)}`));
    };
    server.once('error', onError);
    const listening = (): void => {
      server.off('error', onError);
      const address = server.address();
      const inet = typeof address === 'object' && address !== null ? address : null;
      if (target.kind === 'tcp') resolve({ ...target, port: inet?.port ?? target.port });
      else if (target.kind === 'fd' && inet !== null) resolve({ ...target, host: inet.address, port: inet.port });
      else resolve(target);
    };
    const backlog = options.backlog;
    if (target.kind === 'tcp') {
      const reuse = options.reusePort ? { reusePort: true, exclusive: true } : {};
      server.listen({ host: target.host, port: target.port, backlog, ...reuse }, listening);
    } else if (target.kind === 'unix') {
      server.listen({ path: target.path, backlog }, listening);
    } else {
      server.listen({ fd: target.fd, backlog }, listening);
    }
  });
  if (target.kind === 'unix') {
    try {
      setSocketMode(target.path, options.unixMode);
    } catch (error) {
      server.close();
      throw error;
    }
  }
  return bound;
}

/** Gives a unix socket file the permission bits asked for (--uds-mode); throws naming the file. */
export function setSocketMode(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch (error) {
    throw new Error(`cannot set the mode of ${path}: ${(error as Error).message}`);
  }
}

function explain(error: NodeJS.ErrnoException, target: ListenTarget): string {
  const code = error.code ?? error.message;
  if (target.kind === 'fd' && (code === 'EBADF' || code === 'ENOTSOCK' || code === 'EINVAL')) {
    return `${code}: file descriptor ${target.fd} is not a listening socket this process inherited (systemd passes them from 3 up, with LISTEN_FDS)`;
  }
  if (code === 'EADDRINUSE') return `${code}: another process listens there`;
  if (code === 'EACCES') return `${code}: permission denied (ports below 1024 need privileges; a unix socket needs a writable directory)`;
  return code;
}

/**
 * A unix socket file outlives a server that was killed. If nothing answers on it, it is removed so
 * this server can listen; if a server answers, this one must not steal its address; if the path is
 * something other than a socket, it is left alone.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const stat = lstatSync(path);
  if (!stat.isSocket()) throw new Error(`cannot listen on unix:${path}: the path exists and is not a socket; remove it or choose another`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new Error(`cannot listen on unix:${path}: another server is listening on it`);
  unlinkSync(path);
}

/** The settings that say where to listen. */
export interface ListenSettings {
  readonly host: string;
  readonly port: number;
  readonly bind: readonly string[];
  readonly uds: string;
  readonly fd: number;
}

/** Every --bind, then --uds and --fd; --host and --port when none of those is given. */
export function listenTargets(settings: ListenSettings): ListenTarget[] {
  const defaults = { host: settings.host, port: settings.port };
  const targets = settings.bind.map((text) => parseListenTarget(text, defaults));
  if (settings.uds !== '') targets.push({ kind: 'unix', path: settings.uds });
  if (settings.fd !== -1) targets.push({ kind: 'fd', fd: settings.fd });
  if (targets.length === 0) targets.push({ kind: 'tcp', ...defaults });
  return targets;
}

/**
 * One server per target, made by `create` and pushed onto `servers`, each listening in turn; when
 * one cannot listen, those already listening are closed and the error names the target.
 */
export async function listenEach(
  targets: readonly ListenTarget[],
  create: () => Server,
  servers: Server[],
  options: ListenSocketOptions,
): Promise<BoundTarget[]> {
  const bound: BoundTarget[] = [];
  try {
    for (const target of targets) {
      const server = create();
      servers.push(server);
      bound.push(await listenOn(server, target, options));
    }
  } catch (error) {
    for (const server of servers) server.close();
    throw error;
  }
  return bound;
}

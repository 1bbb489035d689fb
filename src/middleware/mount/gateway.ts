/** `mount` for gateway apps: SCRIPT_NAME grows and PATH_INFO shrinks, as PEP 3333 describes. */
import { inputModeOf } from '../../core/gateway.js';
import type { Environ, GatewayApp, InputMode, StartResponse } from '../../spec/types.js';
import { withInputMode } from '../shared/kind.js';
import { bufferInput, MountBodyTooLarge } from './buffered-body.js';
import { matchMount, rawRemainder, type MountPoint } from './prefixes.js';

/** Moves `point.prefix` from PATH_INFO to SCRIPT_NAME, and cuts `tsgi.raw_path` in step. */
export function enterMount(environ: Environ, prefix: string): void {
  environ.SCRIPT_NAME += prefix;
  environ.PATH_INFO = environ.PATH_INFO.slice(prefix.length);
  const raw = environ['tsgi.raw_path'];
  if (typeof raw === 'string') environ['tsgi.raw_path'] = rawRemainder(raw, prefix);
}

export function mountGateway(fallback: GatewayApp, points: readonly MountPoint<GatewayApp>[], maxBodySize: number): GatewayApp {
  const modes = new Set<InputMode>([fallback, ...points.map((point) => point.app)].map(inputModeOf));
  // One mode for all: the server feeds the body that way. Mixed: stream, and buffer for the
  // buffered apps here.
  const mode: InputMode = modes.size === 1 ? [...modes][0]! : 'stream';
  const needsBuffer = (app: GatewayApp): boolean => mode === 'stream' && inputModeOf(app) === 'buffered';
  const buffering = new Set([fallback, ...points.map((point) => point.app)].filter(needsBuffer));

  const mounted = (environ: Environ, startResponse: StartResponse) => {
    const point = matchMount(points, environ.PATH_INFO);
    let target = fallback;
    if (point !== null) {
      enterMount(environ, point.prefix);
      target = point.app;
    }
    if (buffering.size > 0 && buffering.has(target)) return callBuffered(target, environ, startResponse, maxBodySize);
    return target(environ, startResponse);
  };
  return withInputMode(mounted, mode);
}

async function callBuffered(app: GatewayApp, environ: Environ, startResponse: StartResponse, limit: number) {
  try {
    await bufferInput(environ, limit);
  } catch (error) {
    if (!(error instanceof MountBodyTooLarge)) throw error;
    startResponse('413 Content Too Large', [['Content-Type', 'text/plain; charset=utf-8']]);
    return [`Request body too large: this app reads at most ${limit} bytes (mount's maxBodySize)\n`];
  }
  return app(environ, startResponse);
}

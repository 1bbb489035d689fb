/**
 * A tsgi app as another server hosts it (toNodeHandler, toFetch): either interface, served as an
 * event app (gateway apps through gatewayToEvent, so `close()` runs once and backpressure reaches
 * them), with the lifespan protocol run on demand, since such hosts have no lifespan of their own.
 */
import { Lifespan } from '../../event/lifespan.js';
import { resolveInterface } from '../../event/interface.js';
import type { EventApp } from '../../spec/event-types.js';
import type { GatewayApp } from '../../spec/types.js';
import { gatewayToEvent } from '../gateway-to-event.js';
import { HostReport, type HostErrorHandler } from './report.js';

/** Options both bridges take. */
export interface HostOptions {
  /**
   * How `startup()` treats the app: `auto` (default) runs the lifespan protocol and goes on without
   * it when the app raises before answering (an app that only knows http); `on` makes that a
   * failed startup; `off` never calls the app with a lifespan scope.
   */
  lifespan?: 'auto' | 'on' | 'off';
  /** Told of the app's faults instead of the default line on stderr. */
  onError?: HostErrorHandler;
  /** For a buffered gateway app: the largest request body it is given (413 beyond); default 1 MiB. */
  maxBodySize?: number;
}

/** The lifespan of a hosted app, run by whoever starts and stops the host. */
export interface LifespanControl {
  /**
   * Runs the app's lifespan startup; resolves on `lifespan.startup.complete`, rejects with the
   * app's message on `.failed`. Call it before the host takes requests; requests that arrive
   * while it runs wait for it. Calling it again returns the same promise.
   */
  startup(): Promise<void>;
  /** Runs the app's lifespan shutdown (after the host stopped taking requests). */
  shutdown(): Promise<void>;
  /** The state the app filled during startup; every request's `scope.state` is a shallow copy. */
  readonly state: Record<string, unknown>;
}

const LIFESPAN_MODES = ['auto', 'on', 'off'];

export class HostedApp implements LifespanControl {
  readonly app: EventApp;
  readonly report: HostReport;
  private readonly lifespan: Lifespan;
  private started: Promise<void> | null = null;
  private stopped: Promise<void> | null = null;
  /** The startup in progress, which new requests wait for; null otherwise. */
  pendingStartup: Promise<void> | null = null;

  constructor(app: unknown, options: HostOptions, host: string, sink: (line: string) => void) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${host}() options must be an object; got ${options === null ? 'null' : typeof options}`);
    const mode = options.lifespan ?? 'auto';
    if (!LIFESPAN_MODES.includes(mode)) throw new TypeError(`${host}() lifespan must be 'auto', 'on' or 'off'; got ${JSON.stringify(mode)}`);
    if (options.onError !== undefined && typeof options.onError !== 'function') {
      throw new TypeError(`${host}() onError must be a function (error, scope) => void; got ${typeof options.onError}`);
    }
    this.app = asEventApp(app, host, options.maxBodySize);
    this.report = new HostReport(host, options.onError, sink);
    this.lifespan = new Lifespan(this.app, mode, this.report.logger());
  }

  get state(): Record<string, unknown> {
    return this.lifespan.state;
  }

  startup(): Promise<void> {
    if (this.started === null) {
      const running = this.lifespan.startup();
      this.pendingStartup = running;
      this.started = running.finally(() => {
        this.pendingStartup = null;
      });
    }
    return this.started;
  }

  shutdown(): Promise<void> {
    // Only what started can stop; a second call waits for the first.
    this.stopped ??= (this.started ?? Promise.resolve()).then(
      () => this.lifespan.shutdown(),
      () => {},
    );
    return this.stopped;
  }

  /** A fresh `scope.state` for one request. */
  stateCopy(): Record<string, unknown> {
    return { ...this.lifespan.state };
  }
}

/** The app as an event app: event apps as they are, gateway apps through gatewayToEvent. */
function asEventApp(app: unknown, host: string, maxBodySize: number | undefined): EventApp {
  if (typeof app !== 'function') {
    const fetchLike = app !== null && typeof app === 'object' && typeof (app as { fetch?: unknown }).fetch === 'function';
    throw new TypeError(
      `${host}() needs a tsgi app: a gateway app (environ, startResponse) or an event app marked with defineEventApp(); got ` +
        (fetchLike ? 'an object with a fetch() method (a fetch handler: wrap it with fromFetch() first)' : app === null ? 'null' : typeof app),
    );
  }
  if ((app as { tsgiInterface?: unknown }).tsgiInterface === 'fetch') {
    throw new TypeError(`${host}() got a fetch handler (marked by defineFetchApp()); wrap it with fromFetch() first`);
  }
  if (resolveInterface(app, 'auto') === 'event') return app as EventApp;
  return gatewayToEvent(app as GatewayApp, maxBodySize === undefined ? {} : { maxBodySize });
}

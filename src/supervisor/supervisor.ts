/**
 * The supervisor: a process that never loads the app, starts the workers that serve it, and
 * keeps them as the settings ask (gunicorn's arbiter is the model). Signal handlers, worker
 * messages, exits and the clock only queue events; one loop takes them in order and acts, so no
 * two decisions ever interleave.
 *
 * Workers share one listening socket through the cluster module (llhttp, node), or each listen
 * with SO_REUSEPORT (uws, which sets it itself). See docs/workers.md for why.
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { clearStaleSocket, formatTarget, listenTargets, type ListenTarget } from '../acceptors/listen.js';
import { parseAppRef } from '../cli/load-app.js';
import type { RestartReason } from '../metrics/aggregate.js';
import { openLogSink, type LogSink } from '../server/log-files.js';
import { MetricsHub } from './metrics-hub.js';
import { createLogger, type Logger } from '../server/logger.js';
import { callHook, type Hooks, type ReadyInfo } from '../settings/hooks.js';
import type { Settings } from '../settings/table.js';
import { removePidFile, writePidFile } from './pid-file.js';
import { HEARTBEAT_FD, parseHeartbeat, type FromWorker, type ToWorker } from './protocol.js';
import { ReloadWatch } from './reloader.js';

/** Exit code when workers cannot boot (gunicorn's WORKER_BOOT_ERROR). */
export const EXIT_BOOT_FAILED = 3;

/** Why the supervisor stops a worker, when that is a restart the metrics count. */
const STOP_RECYCLED = 'recycled after --max-requests';
const STOP_RELOADED = 'replaced by a reload';

/** Settings a reload cannot change: the workers must go on serving the same sockets with the same backend. */
const FIXED_AT_START = ['host', 'port', 'bind', 'uds', 'fd', 'backend'] as const;
/** Boot failures in a row, with no worker booting in between, before the supervisor gives up. */
const BOOT_FAILURES_TO_HALT = 3;
/** How long a stop-accepting round may take before old workers drain anyway. */
const STOP_ACCEPTING_WAIT_MS = 2000;
/** A worker told to stop gets this long past the graceful timeout before SIGKILL. */
const STOP_MARGIN_MS = 5000;
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1'] as const;
type SupervisorSignal = (typeof SIGNALS)[number];

export interface SupervisorOptions {
  /** `MODULE[:EXPORT]`, loaded by each worker, never by the supervisor. */
  readonly appRef: string;
  readonly settings: Settings;
  readonly hooks: Hooks;
  /** Reads the settings and hooks again for a reload (the config file may have changed). */
  readonly reread: () => Promise<{ settings: Settings; hooks: Hooks }>;
  /** React to the process's signals (the command does; a launcher calling run() may not want to). */
  readonly handleSignals: boolean;
  /** Where the supervisor's log lines go (default stderr). */
  readonly errorSink?: (text: string) => void;
}

interface Child {
  readonly worker: Worker;
  readonly pid: number;
  readonly generation: number;
  state: 'booting' | 'serving';
  /** Asked to be recycled (--max-requests); stops once its replacement serves. */
  retiring: boolean;
  replaces: Child | null;
  /** Why the supervisor stopped it, once it did. */
  stopReason: string | null;
  acceptingStopped: boolean;
  timedOut: boolean;
  bootError: string | null;
  heard: boolean;
  lastBeatAt: number;
  stalledMs: number;
  inFlight: number;
  request: string;
  killTimer: NodeJS.Timeout | null;
}

type Event =
  | { readonly kind: 'signal'; readonly signal: SupervisorSignal }
  | { readonly kind: 'message'; readonly child: Child; readonly message: FromWorker }
  | { readonly kind: 'exit'; readonly child: Child; readonly code: number | null; readonly signal: string | null }
  | { readonly kind: 'tick' }
  | { readonly kind: 'changed'; readonly files: readonly string[] }
  | { readonly kind: 'call'; readonly action: 'reload' | 'stop' | 'increment' | 'decrement' };

interface Reload {
  readonly generation: number;
  readonly previous: { generation: number; settings: Settings; hooks: Hooks };
  phase: 'booting' | 'stopping-accepting';
  /** When the old workers were told to stop accepting. */
  stopAcceptingAt: number;
  deadline: NodeJS.Timeout | null;
}

let clusterConfigured = false;

/** The worker entry and the cluster's stdio, set once per process (the cluster module freezes them). */
function configureCluster(): void {
  if (clusterConfigured) return;
  clusterConfigured = true;
  // One accept queue shared by every worker (SCHED_NONE) measured as even as the primary's
  // round robin on this kind of load, without routing every connection through the supervisor
  // (bench/RESULTS.md, "Workers"). NODE_CLUSTER_SCHED_POLICY=rr still chooses round robin.
  if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({
    exec: new URL('./worker-main.js', import.meta.url).pathname,
    args: [],
    stdio: ['inherit', 'inherit', 'inherit', 'ipc', 'pipe'],
  });
}

export class Supervisor {
  readonly logger: Logger;
  private settings: Settings;
  private hooks: Hooks;
  private readonly children = new Set<Child>();
  private generation = 1;
  private generations = 1;
  private target: number;
  /**
   * Where every worker listens: the settings' targets, with a TCP port 0 replaced by a free port
   * chosen once, so every worker (and every later one) binds the same address.
   */
  private listeners: ListenTarget[] = [];
  private bootFailures = 0;
  private lastBootError = '';
  /** --reload after a failed boot: nothing is respawned until a file changes. */
  private waitingForChange = false;
  private reload: Reload | null = null;
  private stopping: 'graceful' | 'immediate' | null = null;
  private exitCode = 0;
  private readyOnce = false;
  private readonly queue: Event[] = [];
  private wake: (() => void) | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private watcher: ReloadWatch | null = null;
  private readonly signalHandlers = new Map<SupervisorSignal, () => void>();
  /** --error-logfile, when the error log goes to a file this process opened. */
  private errorLog: LogSink | null = null;
  /** --metrics-bind: /metrics summed over the workers, and /healthz. */
  private metrics: MetricsHub | null = null;
  private resolveReady!: (info: ReadyInfo) => void;
  private rejectReady!: (error: Error) => void;
  private resolveFinished!: (code: number) => void;
  /** Resolves once the first workers all serve; rejects when they cannot boot. */
  readonly ready: Promise<ReadyInfo>;
  /** Resolves with the exit code once the supervisor is done (every worker gone). */
  readonly finished: Promise<number>;

  constructor(private readonly options: SupervisorOptions) {
    this.settings = options.settings;
    this.hooks = options.hooks;
    this.target = options.settings.workers;
    let errorSink = options.errorSink;
    if (errorSink === undefined) {
      const file = openLogSink(this.settings.errorLogfile, process.stderr);
      this.errorLog = file;
      errorSink = (text) => file.write(text);
    }
    this.logger = createLogger({ level: this.settings.logLevel, errorSink });
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined);
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  /** The pids of the workers alive now. */
  pids(): number[] {
    return [...this.children].map((child) => child.pid);
  }

  /** Queues an action as a signal would: `reload` (HUP), `stop` (TERM), `increment` (TTIN), `decrement` (TTOU). */
  request(action: 'reload' | 'stop' | 'increment' | 'decrement'): void {
    this.enqueue({ kind: 'call', action });
  }

  async start(): Promise<void> {
    configureCluster();
    writePidFile(this.settings.pid);
    if (this.options.handleSignals) {
      for (const signal of SIGNALS) {
        const handler = (): void => this.enqueue({ kind: 'signal', signal });
        this.signalHandlers.set(signal, handler);
        process.on(signal, handler);
      }
    }
    await callHook(this.hooks, 'onStarting', { settings: this.settings, pid: process.pid }, (message) => this.logger.log('error', message));
    this.logger.log('info', `supervisor ${process.pid} starting ${this.target} worker${this.target === 1 ? '' : 's'} for ${this.options.appRef}`);
    this.listeners = await this.fixListeners();
    if (this.settings.metricsBind !== '') {
      this.metrics = new MetricsHub(
        () => [...this.children].filter((child) => child.state === 'serving').map((child) => ({ pid: child.pid, send: (message: ToWorker) => this.send(child, message) })),
        () => this.stopping === null,
      );
      this.logger.log('info', await this.metrics.start(this.settings.metricsBind));
    }
    if (this.settings.reload) this.startWatching();
    this.ticker = setInterval(() => this.enqueue({ kind: 'tick' }), this.tickMs());
    this.manage();
    void this.loop();
  }

  private tickMs(): number {
    return this.settings.timeout === 0 ? 1000 : Math.min(1000, this.beatMs());
  }

  private beatMs(): number {
    return this.settings.timeout === 0 ? 0 : Math.max(100, Math.min(1000, (this.settings.timeout * 1000) / 4));
  }

  private enqueue(event: Event): void {
    this.queue.push(event);
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async loop(): Promise<void> {
    for (;;) {
      const event = this.queue.shift();
      if (event === undefined) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      try {
        await this.handle(event);
      } catch (error) {
        this.logger.log('error', `supervisor: internal error handling ${event.kind}: ${(error as Error).stack ?? String(error)}`);
      }
      if (this.stopping !== null && this.children.size === 0) {
        await this.finish();
        return;
      }
    }
  }

  private async handle(event: Event): Promise<void> {
    switch (event.kind) {
      case 'signal':
        return this.onSignal(event.signal);
      case 'call':
        return this.onSignal(({ reload: 'SIGHUP', stop: 'SIGTERM', increment: 'SIGTTIN', decrement: 'SIGTTOU' } as const)[event.action]);
      case 'message':
        return this.onMessage(event.child, event.message);
      case 'exit':
        return this.onExit(event.child, event.code, event.signal);
      case 'tick':
        this.checkTimeouts();
        return this.progress();
      case 'changed':
        if (this.stopping !== null) return;
        this.logger.log('info', `--reload: ${event.files.map((file) => file).join(', ')} changed; reloading`);
        return this.startReload();
    }
  }

  private async onSignal(signal: SupervisorSignal): Promise<void> {
    switch (signal) {
      case 'SIGTERM':
      case 'SIGINT':
        if (this.stopping !== null) {
          this.logger.log('warning', `${signal} again: stopping the workers at once`);
          this.exitCode = 1;
          this.stopAll('immediate');
          return;
        }
        this.logger.log('info', `${signal}: stopping; workers finish their in-flight requests (up to ${this.settings.gracefulTimeout}s)`);
        this.stopAll('graceful');
        return;
      case 'SIGQUIT':
        this.logger.log('info', 'SIGQUIT: stopping the workers at once');
        this.stopAll('immediate');
        return;
      case 'SIGHUP':
        if (this.stopping !== null) return;
        this.logger.log('info', 'SIGHUP: reloading the settings and the app into new workers');
        return this.startReload();
      case 'SIGTTIN':
        if (this.stopping !== null) return;
        this.target++;
        this.logger.log('info', `SIGTTIN: ${this.target} workers`);
        this.manage();
        return;
      case 'SIGTTOU':
        if (this.stopping !== null) return;
        if (this.target > 1) this.target--;
        this.logger.log('info', `SIGTTOU: ${this.target} worker${this.target === 1 ? '' : 's'}`);
        this.manage();
        return;
      case 'SIGUSR1':
        // logrotate moved the files: this process and every worker open them again at their paths.
        this.errorLog?.reopen();
        for (const child of this.children) child.worker.process.kill('SIGUSR1');
        this.logger.log('info', 'SIGUSR1: log files reopened');
        return;
    }
  }

  private async onMessage(child: Child, message: FromWorker): Promise<void> {
    switch (message.type) {
      case 'hello':
        this.send(child, {
          type: 'boot',
          appRef: this.options.appRef,
          settings: this.settings,
          listeners: this.listeners.map(formatTarget),
          requestBudget: this.requestBudget(),
          beatMs: this.beatMs(),
        });
        return;
      case 'boot-failed':
        child.bootError = message.message;
        return;
      case 'ready':
        child.state = 'serving';
        this.bootFailures = 0;
        this.metrics?.setWorkers(this.children.size);
        this.logger.log('info', `worker ${child.pid} serving with backend ${message.backend}`);
        if (child.replaces !== null && child.replaces.stopReason === null) this.stopChild(child.replaces, STOP_RECYCLED);
        if (this.stopping !== null) this.stopChild(child, 'the supervisor is stopping');
        else if (child.generation !== this.generation && child.generation !== this.reload?.generation) this.stopChild(child, 'superseded');
        await this.progress();
        this.manage();
        return;
      case 'stopped-accepting':
        child.acceptingStopped = true;
        await this.progress();
        return;
      case 'metrics':
        this.metrics?.answered(message.id, message.json);
        return;
      case 'retire':
        if (child.stopReason !== null || child.retiring) return;
        child.retiring = true;
        this.logger.log('info', `worker ${child.pid} served ${message.served} requests (--max-requests): starting its replacement`);
        this.manage();
        return;
    }
  }

  private async onExit(child: Child, code: number | null, signal: string | null): Promise<void> {
    this.children.delete(child);
    const metrics = this.metrics;
    if (metrics !== null) {
      await metrics.workerGone(child.pid);
      const restart = restartReason(child);
      if (restart !== null && this.stopping === null) metrics.workerRestarted(restart);
      metrics.setWorkers(this.children.size);
    }
    if (child.killTimer !== null) clearTimeout(child.killTimer);
    const how = signal !== null ? `signal ${signal}` : `exit code ${code}`;
    let reason: string;
    if (child.stopReason !== null) {
      reason = 'stopped';
      this.logger.log('info', `worker ${child.pid} stopped (${child.stopReason}; ${how})`);
    } else if (child.timedOut) {
      reason = 'timed out';
    } else if (child.state === 'booting') {
      reason = 'failed to boot';
      this.lastBootError = child.bootError ?? `it exited with ${how} before listening`;
      this.logger.log('error', `worker ${child.pid} failed to boot: ${this.lastBootError}`);
    } else {
      reason = 'crashed';
      this.logger.log('warning', `worker ${child.pid} exited unexpectedly (${how}); starting a replacement`);
    }
    await callHook(
      this.hooks,
      'workerExit',
      { settings: this.settings, pid: process.pid, worker: child.pid, code, signal, reason },
      (message) => this.logger.log('error', message),
    );
    if (reason === 'failed to boot' && this.stopping === null) this.onBootFailure(child);
    if (this.stopping === null) {
      await this.progress();
      this.manage();
    }
  }

  private onBootFailure(child: Child): void {
    const reload = this.reload;
    if (reload !== null && child.generation === reload.generation) {
      this.abortReload(`a new worker could not boot: ${this.lastBootError}`);
      return;
    }
    this.bootFailures++;
    if (this.settings.reload) {
      this.waitingForChange = true;
      this.logger.log('error', '--reload: waiting for a change to the app before starting a worker again');
      return;
    }
    if (this.bootFailures >= BOOT_FAILURES_TO_HALT) {
      const message = `workers failed to boot ${this.bootFailures} times in a row; giving up. The last error: ${this.lastBootError}`;
      this.logger.log('critical', message);
      this.exitCode = EXIT_BOOT_FAILED;
      if (!this.readyOnce) this.rejectReady(new Error(message));
      this.stopAll('immediate');
    }
  }

  /**
   * The generation manage() builds up: the reload's while one is under way (the old workers then
   * serve on as they are, and are neither replaced nor counted), else the serving one.
   */
  private growing(): number {
    return this.reload?.generation ?? this.generation;
  }

  /** Starts and stops workers until the generation being built has `target` of them. */
  private manage(): void {
    if (this.stopping !== null || this.waitingForChange) return;
    const generation = this.growing();
    const current = [...this.children].filter((child) => child.generation === generation && child.stopReason === null);
    const active = current.filter((child) => !child.retiring);
    const missing = this.target - active.length;
    const unreplaced = current.filter((child) => child.retiring && ![...this.children].some((other) => other.replaces === child));
    for (let i = 0; i < missing; i++) this.spawn(unreplaced.shift() ?? null);
    if (active.length > this.target) {
      const extra = active.sort((a, b) => Number(a.state === 'serving') - Number(b.state === 'serving')).slice(0, active.length - this.target);
      for (const child of extra) this.stopChild(child, 'SIGTTOU');
    }
  }

  private spawn(replaces: Child | null): void {
    const worker = cluster.fork();
    const child: Child = {
      worker,
      pid: worker.process.pid!,
      generation: this.growing(),
      state: 'booting',
      retiring: false,
      replaces,
      stopReason: null,
      acceptingStopped: false,
      timedOut: false,
      bootError: null,
      heard: false,
      lastBeatAt: Date.now(),
      stalledMs: 0,
      inFlight: 0,
      request: '',
      killTimer: null,
    };
    this.children.add(child);
    worker.on('message', (message: FromWorker) => this.enqueue({ kind: 'message', child, message }));
    worker.on('exit', (code, signal) => this.enqueue({ kind: 'exit', child, code, signal }));
    worker.on('error', () => undefined); // a send to a worker that just died; its exit says the rest
    this.readHeartbeats(child, worker.process.stdio[HEARTBEAT_FD] as Readable | null);
  }

  /** Heartbeats are data, not decisions: they update the child's record, and the tick acts on it. */
  private readHeartbeats(child: Child, pipe: Readable | null): void {
    if (pipe === null) return;
    let partial = '';
    pipe.setEncoding('latin1');
    pipe.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const beat = parseHeartbeat(line);
        if (beat === null) continue;
        child.heard = true;
        child.lastBeatAt = Date.now();
        child.stalledMs = beat.stalledMs;
        child.inFlight = beat.inFlight;
        child.request = beat.request;
      }
    });
    pipe.on('error', () => undefined);
  }

  private requestBudget(): number {
    const { maxRequests, maxRequestsJitter } = this.settings;
    if (maxRequests === 0) return 0;
    return maxRequests + Math.floor(Math.random() * (maxRequestsJitter + 1));
  }

  private send(child: Child, message: ToWorker): void {
    if (child.worker.isConnected()) child.worker.send(message);
  }

  private stopChild(child: Child, why: string): void {
    if (child.stopReason !== null) return;
    child.stopReason = why;
    if (child.state === 'booting') {
      child.worker.process.kill('SIGKILL');
      return;
    }
    this.send(child, { type: 'stop' });
    child.killTimer = setTimeout(() => {
      this.logger.log('warning', `worker ${child.pid} did not stop within the graceful timeout; killing it`);
      child.worker.process.kill('SIGKILL');
    }, this.settings.gracefulTimeout * 1000 + STOP_MARGIN_MS);
  }

  private stopAll(how: 'graceful' | 'immediate'): void {
    this.stopping = how;
    if (this.reload?.deadline) clearTimeout(this.reload.deadline);
    this.reload = null;
    for (const child of this.children) {
      if (how === 'graceful') {
        this.stopChild(child, 'the supervisor is stopping');
        continue;
      }
      child.stopReason ??= 'the supervisor is stopping at once';
      child.worker.process.kill('SIGQUIT');
      const kill = setTimeout(() => child.worker.process.kill('SIGKILL'), 1000);
      if (child.killTimer !== null) clearTimeout(child.killTimer);
      child.killTimer = kill;
    }
  }

  private checkTimeouts(): void {
    const limitMs = this.settings.timeout * 1000;
    if (limitMs === 0) return;
    const now = Date.now();
    for (const child of this.children) {
      if (child.timedOut || !child.heard) continue;
      const silentMs = now - child.lastBeatAt;
      if (child.stalledMs < limitMs && silentMs < limitMs) continue;
      const seconds = Math.round(Math.max(child.stalledMs, silentMs) / 1000);
      const what =
        silentMs >= limitMs
          ? `sent no heartbeat for ${seconds} s (the whole process is stuck)`
          : `did not run its event loop for ${seconds} s`;
      const serving =
        child.inFlight > 0 && child.request !== ''
          ? ` while serving ${child.request}`
          : child.request !== ''
            ? ` (no request in flight; the latest was ${child.request})`
            : '';
      child.timedOut = true;
      this.logger.log('error', `worker ${child.pid} timed out: it ${what}${serving}; killing it (SIGKILL)${child.stopReason === null ? ' and starting a replacement' : ''}`);
      child.worker.process.kill('SIGKILL');
    }
  }

  private async startReload(): Promise<void> {
    if (this.reload !== null) {
      this.logger.log('info', 'a reload is already under way; this one is folded into it');
      return;
    }
    let next: { settings: Settings; hooks: Hooks };
    try {
      next = await this.options.reread();
    } catch (error) {
      this.logger.log('error', `reload refused, the old workers keep serving: ${(error as Error).message}`);
      return;
    }
    const fixed = FIXED_AT_START.filter((name) => JSON.stringify(next.settings[name]) !== JSON.stringify(this.settings[name]));
    if (fixed.length > 0) {
      this.logger.log('warning', `reload: ${fixed.join(', ')} changed; that takes a restart, so the new workers keep the old value`);
      const kept: Record<string, unknown> = {};
      for (const name of FIXED_AT_START) kept[name] = this.settings[name];
      next = { ...next, settings: { ...next.settings, ...kept } as Settings };
    }
    this.reload = {
      generation: ++this.generations,
      previous: { generation: this.generation, settings: this.settings, hooks: this.hooks },
      phase: 'booting',
      stopAcceptingAt: 0,
      deadline: null,
    };
    this.settings = next.settings;
    this.hooks = next.hooks;
    this.target = next.settings.workers;
    this.waitingForChange = false;
    this.bootFailures = 0;
    this.manage();
  }

  /** Moves the first start and a reload along as their workers come up. */
  private async progress(): Promise<void> {
    if (!this.readyOnce) {
      const serving = [...this.children].filter((child) => child.state === 'serving' && child.stopReason === null);
      if (serving.length >= this.target) {
        this.readyOnce = true;
        const info = this.readyInfo();
        this.logger.log('info', `ready: ${info.workers.length} worker${info.workers.length === 1 ? '' : 's'} (${info.workers.join(', ')}) on ${this.listeners.map((target) => formatTarget(target)).join(', ')}`);
        this.resolveReady(info);
        await callHook(this.hooks, 'whenReady', info, (message) => this.logger.log('error', message));
      }
      return;
    }
    const reload = this.reload;
    if (reload === null) return;
    const fresh = [...this.children].filter((child) => child.generation === reload.generation && child.stopReason === null);
    const old = [...this.children].filter((child) => child.generation !== reload.generation && child.stopReason === null);
    if (reload.phase === 'booting') {
      if (fresh.filter((child) => child.state === 'serving').length < this.target) return;
      // Every old worker stops accepting before any of them drains (see stopAccepting).
      reload.phase = 'stopping-accepting';
      for (const child of old) this.send(child, { type: 'stop-accepting' });
      reload.deadline = setTimeout(() => void this.enqueue({ kind: 'tick' }), STOP_ACCEPTING_WAIT_MS);
      reload.deadline.unref();
      reload.stopAcceptingAt = Date.now();
    }
    const waited = Date.now() - reload.stopAcceptingAt;
    if (old.some((child) => !child.acceptingStopped) && waited < STOP_ACCEPTING_WAIT_MS) return;
    if (reload.deadline !== null) clearTimeout(reload.deadline);
    this.generation = reload.generation;
    this.reload = null;
    for (const child of old) this.stopChild(child, STOP_RELOADED);
    const info = this.readyInfo();
    this.logger.log('info', `reloaded: workers ${info.workers.join(', ')} serve; the old ones finish their requests`);
    await callHook(this.hooks, 'onReload', info, (message) => this.logger.log('error', message));
  }

  private abortReload(why: string): void {
    const reload = this.reload!;
    this.logger.log('error', `reload failed, the old workers keep serving: ${why}`);
    if (reload.deadline !== null) clearTimeout(reload.deadline);
    this.reload = null;
    for (const child of this.children) if (child.generation === reload.generation) this.stopChild(child, 'its reload failed');
    this.generation = reload.previous.generation;
    this.settings = reload.previous.settings;
    this.hooks = reload.previous.hooks;
    this.target = reload.previous.settings.workers;
  }

  private readyInfo(): ReadyInfo {
    const serving = [...this.children].filter((child) => child.state === 'serving' && child.stopReason === null);
    const firstTcp = this.listeners.find((target) => target.kind === 'tcp');
    return { settings: this.settings, pid: process.pid, port: firstTcp?.port ?? 0, workers: serving.map((child) => child.pid) };
  }

  /**
   * The settings' listen targets as every worker will bind them. A TCP port 0 becomes one free
   * port chosen here: the cluster module shares a handle only between listens on the same port,
   * and uSockets sets SO_REUSEPORT only on a named port. A unix socket file left by a dead server
   * is cleared here, once: the workers' shared socket must not be mistaken for a stale one.
   */
  private async fixListeners(): Promise<ListenTarget[]> {
    const targets: ListenTarget[] = [];
    for (const target of listenTargets(this.settings)) {
      if (target.kind === 'tcp' && target.port === 0) targets.push({ ...target, port: await freePort(target.host) });
      else targets.push(target);
      if (target.kind === 'unix') await clearStaleSocket(target.path);
    }
    return targets;
  }

  private startWatching(): void {
    const dirs = this.settings.reloadDir.length > 0 ? this.settings.reloadDir : [appDirectory(this.options.appRef)];
    try {
      this.watcher = new ReloadWatch({
        dirs,
        include: this.settings.reloadInclude,
        exclude: this.settings.reloadExclude,
        onChange: (files) => this.enqueue({ kind: 'changed', files }),
        onError: (message) => this.logger.log('error', message),
      });
      this.logger.log('info', `--reload: watching ${dirs.join(', ')}`);
    } catch (error) {
      this.logger.log('error', `--reload cannot watch ${dirs.join(', ')}: ${(error as Error).message}`);
    }
  }

  private async finish(): Promise<void> {
    if (this.ticker !== null) clearInterval(this.ticker);
    await this.metrics?.close();
    this.watcher?.close();
    for (const [signal, handler] of this.signalHandlers) process.off(signal, handler);
    removePidFile(this.settings.pid);
    if (!this.readyOnce) this.rejectReady(new Error(this.lastBootError === '' ? 'the supervisor stopped before its workers were ready' : this.lastBootError));
    await callHook(this.hooks, 'onExit', { settings: this.settings, pid: process.pid }, (message) => this.logger.log('error', message));
    this.logger.log('info', `supervisor ${process.pid} exiting (${this.exitCode})`);
    this.resolveFinished(this.exitCode);
  }
}

/** Why a worker that exited counts as restarted (tsgi_worker_restarts_total), or null when it was simply stopped. */
function restartReason(child: Child): RestartReason | null {
  if (child.timedOut) return 'timeout';
  if (child.stopReason === STOP_RECYCLED) return 'max_requests';
  if (child.stopReason === STOP_RELOADED) return 'reload';
  if (child.stopReason === null && child.state === 'serving') return 'crash';
  return null;
}

/** A port the system considers free on `host` now (another process could take it before the workers do). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** The directory of `MODULE[:EXPORT]`'s module. */
function appDirectory(appRef: string): string {
  return path.dirname(path.resolve(parseAppRef(appRef).modulePath));
}

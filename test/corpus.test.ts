/**
 * The request corpus (test/requests/README.md) against every backend: each file's bytes go out in
 * one write on a fresh raw connection, and what the client and the app observed is compared with
 * the case's json, adjusted only through the backend's declared traits.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Environ, GatewayApp, StartResponse } from '../src/index.js';
import { describeBackends, startServer, traitsOf, type TestServer } from './helpers.js';
import { RawConn, type RawResponse } from './raw-conn.js';
import { loadCorpus, outcomeFor, type Case, type Observation, type Outcome } from './requests/corpus.js';

const CASES = loadCorpus();
/** Sent after the served requests of a case that keeps its connection open, to prove it does. */
const PROBE = 'GET /__probe HTTP/1.1\r\nHost: probe\r\n\r\n';
/** Pushes a held head past the 16 KiB header limit (see `refused: "hold"`). */
const FILLER = 'x'.repeat(20 * 1024);
/** Upper bound for a response or a close that should come; reached only when a case fails. */
const WAIT_MS = 4000;

/** Everything a case asserts, in one shape, so a failure shows the whole difference at once. */
interface Seen {
  statuses: number[];
  /** Whether the refusal (the last response) said `Connection: close`; only for refusals with a status. */
  refusalSaysClose?: boolean;
  connection: 'open' | 'closed';
  app: Observation[];
  /** The status a fresh connection gets afterwards: the case left the server serving. */
  afterwards: number | null;
}

/** What the app observed, for every request it was called for (the probe excluded). */
let calls: Observation[] = [];

/** A buffered gateway app that records its environ and the body it read, and answers PATH_INFO. */
const recorder: GatewayApp = (environ: Environ, startResponse: StartResponse) => {
  const seen: Observation = {};
  for (const [key, value] of Object.entries(environ)) if (typeof value === 'string') seen[key] = value;
  seen['tsgi.input'] = Buffer.from(environ['tsgi.input'].read()).toString('latin1');
  if (environ.PATH_INFO !== '/__probe') calls.push(seen);
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [environ.PATH_INFO];
};

function serverKey(c: Case): string {
  return JSON.stringify(c.server ?? {});
}

/** A recorded call narrowed to the keys the expectation names (absent keys as null). */
function project(call: Observation, like: Observation | undefined): Observation {
  const keys = Object.keys(like ?? { REQUEST_METHOD: null, PATH_INFO: null, SERVER_PROTOCOL: null });
  return Object.fromEntries(keys.map((key) => [key, call[key] ?? null]));
}

function expectedSeen(outcome: Outcome, actual: Seen): Seen {
  const served = outcome.served ?? [];
  const statuses = served.map(() => 200);
  const { refused } = outcome;
  const seen: Seen = { statuses, connection: outcome.connection ?? 'closed', app: served, afterwards: 200 };
  if (typeof refused === 'number' || Array.isArray(refused)) {
    const allowed = Array.isArray(refused) ? refused : [refused];
    const last = actual.statuses[actual.statuses.length - 1];
    statuses.push(last !== undefined && allowed.includes(last) ? last : allowed[0]!);
    seen.refusalSaysClose = true;
  } else if (refused === 'hold') {
    statuses.push(431);
  }
  return seen;
}

/** The status of one request on a new connection (null when none came). */
async function freshRequest(port: number): Promise<number | null> {
  const conn = await RawConn.open(port);
  try {
    conn.write(PROBE);
    return (await conn.read({ timeoutMs: WAIT_MS }).catch(() => null))?.status ?? null;
  } finally {
    conn.destroy();
  }
}

/** Plays one case on a fresh connection and reports what the client and the app observed. */
async function play(port: number, bytes: Buffer, outcome: Outcome): Promise<Seen> {
  calls = [];
  const conn = await RawConn.open(port);
  const statuses: number[] = [];
  let last: RawResponse | null = null;
  let connection: Seen['connection'];
  try {
    conn.write(bytes);
    if (outcome.refused === 'hold') conn.write(FILLER);
    if (outcome.connection === 'open') {
      // Read the answers, then one more request on the same connection must be served.
      for (let n = 0; n < (outcome.served ?? []).length; n++) {
        const response = await conn.read({ timeoutMs: WAIT_MS }).catch(() => null);
        if (response === null) break;
        statuses.push(response.status);
      }
      conn.write(PROBE);
      connection = 'closed';
      for (;;) {
        const response = await conn.read({ timeoutMs: WAIT_MS }).catch(() => null);
        if (response === null) break;
        if (response.body.toString('latin1') === '/__probe') {
          connection = 'open';
          break;
        }
        statuses.push(response.status);
      }
    } else {
      await conn.waitFor(() => conn.closed, WAIT_MS).catch(() => {});
      connection = conn.closed ? 'closed' : 'open';
      while (conn.pending().length > 0) {
        const response = await conn.read({ timeoutMs: 0 }).catch(() => null);
        if (response === null) {
          statuses.push(-1); // bytes that do not parse as a response
          break;
        }
        statuses.push(response.status);
        last = response;
      }
    }
  } finally {
    conn.destroy();
  }
  // A request on a fresh connection: the server still serves, and anything it took from the
  // case's connection has reached the app by the time this is answered.
  const afterwards = await freshRequest(port);
  const served = outcome.served ?? [];
  const seen: Seen = { statuses, connection, app: calls.map((call, n) => project(call, served[n])), afterwards };
  if (typeof outcome.refused === 'number' || Array.isArray(outcome.refused)) {
    seen.refusalSaysClose = last !== null && last.header('connection').some((value) => value.toLowerCase() === 'close');
  }
  return seen;
}

describeBackends('request corpus on %s', (backend) => {
  const traits = traitsOf(backend);
  const servers = new Map<string, TestServer>();

  beforeAll(async () => {
    for (const c of CASES) {
      const key = serverKey(c);
      if (!servers.has(key)) servers.set(key, await startServer(recorder, backend, c.server ?? {}));
    }
  });
  afterAll(async () => {
    for (const server of servers.values()) await server.close();
  });

  for (const c of CASES) {
    const defect = Object.entries(c.knownDefects ?? {}).find(([, entry]) => entry.backend === backend);
    // A known defect of the backend's own parser: the test must fail, so a fix shows up here.
    const test = defect === undefined ? it : it.fails;
    const note = defect === undefined ? '' : ` [known defect: ${defect[0]}]`;
    test(`${c.kind}/${c.id}: ${c.about}${note}`, async () => {
      const outcome = outcomeFor(c, traits);
      const actual = await play(servers.get(serverKey(c))!.port, c.bytes, outcome);
      expect(actual, c.rfc).toEqual(expectedSeen(outcome, actual));
    });
  }
});

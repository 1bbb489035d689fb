/**
 * Loads the request corpus (test/requests/README.md): each `NNN.http` decoded to the bytes sent
 * on the wire, each `NNN.json` checked for shape, so a mistyped case fails loudly at load time
 * instead of asserting nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKENDS } from '../../src/acceptors/registry.js';
import type { BackendTraits } from '../../src/acceptors/types.js';

/** Some backend traits and the value each must have. */
export type TraitMatch = Partial<Record<keyof BackendTraits, boolean>>;

/** What the app saw for one request: environ key (or `tsgi.input`, the body read) → value; null = absent. */
export type Observation = Record<string, string | null>;

/** What must happen on the connection. */
export interface Outcome {
  /** The requests the app is called for, in order; each is answered 200. Nothing else reaches it. */
  served?: Observation[];
  /** After the served requests, with no refusal: the connection is still usable, or closed. */
  connection?: 'open' | 'closed';
  /**
   * After the served requests, the next one is refused: a status (or the statuses any of which
   * will do) with `Connection: close` and the connection closed; `close`: closed without a byte;
   * `hold`: no answer, the parser keeps waiting, shown by bytes past the header limit earning 431.
   */
  refused?: number | number[] | 'close' | 'hold';
}

export interface CaseFile {
  about: string;
  /** The rule this case checks: RFC section (or docs/spec.md section) and the gist. */
  rfc: string;
  /** Options for the server this case runs against (a server is started per distinct set). */
  server?: { maxBodySize?: number };
  expect: Outcome;
  /** On a backend with these traits, expect this instead (the first match wins). */
  when?: Array<{ traits: TraitMatch; expect: Outcome; why: string }>;
  /**
   * reason → a backend whose own parser fails this case today, what it does instead and where
   * docs/spec.md §8 says so. By name, not by trait: a defect must not pass on to a new backend.
   */
  knownDefects?: Record<string, { backend: string; actual: string; spec: string }>;
}

export interface Case extends CaseFile {
  kind: 'valid' | 'invalid';
  id: string;
  bytes: Buffer;
}

const ROOT = path.dirname(fileURLToPath(import.meta.url));

/** Decodes the text of a `.http` file: file line breaks dropped, escapes turned into bytes. */
export function decodeHttp(text: string, where = '.http'): Buffer {
  const out: number[] = [];
  let i = 0;
  const fail = (message: string): never => {
    throw new Error(`${where}: offset ${i}: ${message}`);
  };
  /** One byte: a printable character or an escape; returns it and moves past it. */
  const unit = (): number => {
    const start = i;
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) fail(`raw byte 0x${c.toString(16)}: write it as \\xHH`);
    i++;
    if (c !== 0x5c /* \ */) return c;
    const e = text[i++];
    if (e === 'r') return 0x0d;
    if (e === 'n') return 0x0a;
    if (e === 't') return 0x09;
    if (e === '\\') return 0x5c;
    if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i, i + 2))) {
      i += 2;
      return parseInt(text.slice(i - 2, i), 16);
    }
    i = start;
    return fail(`unknown escape \\${e ?? ''}`);
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '\n' || c === '\r') {
      i++;
    } else if (text.startsWith('\\{', i)) {
      const match = /^\\\{(\d+)\}/.exec(text.slice(i)) ?? fail('\\{N} needs a decimal count');
      i += match[0].length;
      const byte = unit();
      for (let n = Number(match[1]); n > 0; n--) out.push(byte);
    } else {
      out.push(unit());
    }
  }
  return Buffer.from(out);
}

/** The trait names every backend declares (a misspelt trait in a json must not match nothing). */
const TRAIT_NAMES: ReadonlySet<string> = new Set(Object.keys(BACKENDS[0].traits));

/** Keys every served request in a valid case states, so none is silently left unchecked. */
const REQUIRED_KEYS = ['REQUEST_METHOD', 'PATH_INFO', 'QUERY_STRING', 'tsgi.raw_path', 'SERVER_PROTOCOL', 'tsgi.input'];

function checkTraits(match: TraitMatch, where: string): void {
  const names = Object.keys(match);
  if (names.length === 0) throw new Error(`${where}: empty trait match`);
  for (const name of names) if (!TRAIT_NAMES.has(name)) throw new Error(`${where}: unknown trait ${name}`);
}

function checkOutcome(outcome: Outcome, kind: Case['kind'], where: string, top: boolean): void {
  const { served = [], connection, refused } = outcome;
  if ((connection === undefined) === (refused === undefined)) throw new Error(`${where}: give exactly one of connection, refused`);
  if (top && kind === 'valid' && (refused !== undefined || served.length === 0)) throw new Error(`${where}: a valid case serves requests`);
  if (top && kind === 'invalid' && refused === undefined) throw new Error(`${where}: an invalid case refuses a request`);
  served.forEach((seen, n) => {
    for (const key of REQUIRED_KEYS) if (!(key in seen)) throw new Error(`${where}: served[${n}] does not state ${key}`);
  });
}

function loadCase(kind: Case['kind'], id: string): Case {
  const base = path.join(ROOT, kind, id);
  const file = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8')) as CaseFile;
  const where = `${kind}/${id}.json`;
  if (typeof file.about !== 'string' || typeof file.rfc !== 'string') throw new Error(`${where}: about and rfc are required`);
  checkOutcome(file.expect, kind, where, true);
  for (const variant of file.when ?? []) {
    checkTraits(variant.traits, `${where} when`);
    if (typeof variant.why !== 'string') throw new Error(`${where}: each when says why`);
    checkOutcome(variant.expect, kind, `${where} when`, false);
  }
  for (const defect of Object.values(file.knownDefects ?? {})) {
    if (!BACKENDS.some((backend) => backend.name === defect.backend)) throw new Error(`${where}: unknown backend ${defect.backend}`);
    if (typeof defect.actual !== 'string' || typeof defect.spec !== 'string') throw new Error(`${where}: a known defect says actual and spec`);
  }
  const bytes = decodeHttp(fs.readFileSync(`${base}.http`, 'latin1'), `${kind}/${id}.http`);
  return { ...file, kind, id, bytes };
}

/** Every case, valid ones first, in file order. */
export function loadCorpus(): Case[] {
  const cases: Case[] = [];
  for (const kind of ['valid', 'invalid'] as const) {
    const names = fs.readdirSync(path.join(ROOT, kind)).sort();
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const id = name.slice(0, -'.json'.length);
      if (!names.includes(`${id}.http`)) throw new Error(`${kind}/${id}.json has no ${id}.http`);
      cases.push(loadCase(kind, id));
    }
    for (const name of names.filter((n) => n.endsWith('.http'))) {
      if (!names.includes(name.replace(/\.http$/, '.json'))) throw new Error(`${kind}/${name} has no .json`);
    }
  }
  return cases;
}

/** Whether a backend with `traits` has every trait value in `match`. */
function traitsMatch(traits: BackendTraits, match: TraitMatch): boolean {
  return Object.entries(match).every(([name, value]) => traits[name as keyof BackendTraits] === value);
}

/** The outcome to expect on a backend with `traits`. */
export function outcomeFor(c: Case, traits: BackendTraits): Outcome {
  return c.when?.find((variant) => traitsMatch(traits, variant.traits))?.expect ?? c.expect;
}

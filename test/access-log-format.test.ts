/**
 * Access-log formats (src/core/access-log.ts): the presets' exact lines, every gunicorn atom, header
 * atoms, escaping of what the client chose, the errors a bad template gets, and the CLF timestamp.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ACCESS_LOG_FORMATS,
  type AccessEntry,
  clfTimestamp,
  compileAccessFormat,
} from '../src/core/access-log.js';

// 10 Oct 2000 13:55:36.042 UTC
const START = Date.UTC(2000, 9, 10, 13, 55, 36, 42);
const STAMP = '10/Oct/2000:13:55:36 +0000';

function entry(
  overrides: Partial<Omit<AccessEntry, 'requestHeader' | 'responseHeader'>> = {},
  requestHeaders: Record<string, string> = {},
  responseHeaders: Record<string, string> = {},
): AccessEntry {
  return {
    remoteAddress: '192.0.2.7',
    remotePort: '54321',
    method: 'GET',
    rawPath: '/items/7',
    query: 'page=2&sort=asc',
    protocol: 'HTTP/1.1',
    status: 200,
    bytes: 1234,
    durationMicros: 1_234_567,
    startMs: START,
    pid: 4242,
    ...overrides,
    requestHeader: (name) => requestHeaders[name],
    responseHeader: (name) => responseHeaders[name],
  };
}

const BROWSER = { referer: 'https://example.com/start', 'user-agent': 'Mozilla/5.0 (X11)' };

describe('presets', () => {
  it('lists its presets', () => {
    expect(ACCESS_LOG_FORMATS).toEqual(['common', 'combined', 'json']);
  });

  it('common', () => {
    const format = compileAccessFormat('common');
    expect(format(entry({}, BROWSER))).toBe(`192.0.2.7 - - [${STAMP}] "GET /items/7?page=2&sort=asc HTTP/1.1" 200 1234`);
  });

  it('common: no status is -, no body is 0, no query has no ?', () => {
    const format = compileAccessFormat('common');
    expect(format(entry({ status: 0, bytes: 0, query: '' }))).toBe(`192.0.2.7 - - [${STAMP}] "GET /items/7 HTTP/1.1" - 0`);
  });

  it('combined, with referer and user agent', () => {
    const format = compileAccessFormat('combined');
    expect(format(entry({}, BROWSER))).toBe(
      `192.0.2.7 - - [${STAMP}] "GET /items/7?page=2&sort=asc HTTP/1.1" 200 1234 ` +
        `"https://example.com/start" "Mozilla/5.0 (X11)"`,
    );
  });

  it('combined, without them', () => {
    const format = compileAccessFormat('combined');
    expect(format(entry())).toBe(`192.0.2.7 - - [${STAMP}] "GET /items/7?page=2&sort=asc HTTP/1.1" 200 1234 "-" "-"`);
  });

  it('json', () => {
    const format = compileAccessFormat('json');
    const line = format(entry({}, BROWSER));
    expect(line).toBe(
      '{"time":"2000-10-10T13:55:36.042Z","remote_addr":"192.0.2.7","remote_port":54321,"method":"GET",' +
        '"path":"/items/7","query":"page=2&sort=asc","protocol":"HTTP/1.1","status":200,"bytes":1234,' +
        '"duration_ms":1234.567,"pid":4242,"referer":"https://example.com/start","user_agent":"Mozilla/5.0 (X11)"}',
    );
    expect(JSON.parse(line)).toEqual({
      time: new Date(START).toISOString(),
      remote_addr: '192.0.2.7',
      remote_port: 54321,
      method: 'GET',
      path: '/items/7',
      query: 'page=2&sort=asc',
      protocol: 'HTTP/1.1',
      status: 200,
      bytes: 1234,
      duration_ms: 1234.567,
      pid: 4242,
      referer: 'https://example.com/start',
      user_agent: 'Mozilla/5.0 (X11)',
    });
  });

  it('json: nulls for no status, no port and absent headers; duration with 3 decimals', () => {
    const format = compileAccessFormat('json');
    const line = format(entry({ status: 0, remotePort: '', durationMicros: 1500, bytes: 0, query: '' }));
    expect(line).toContain('"status":null');
    expect(line).toContain('"remote_port":null');
    expect(line).toContain('"duration_ms":1.500');
    expect(line).toContain('"referer":null,"user_agent":null}');
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual([
      'time', 'remote_addr', 'remote_port', 'method', 'path', 'query', 'protocol',
      'status', 'bytes', 'duration_ms', 'pid', 'referer', 'user_agent',
    ]);
    expect(parsed).toMatchObject({ status: null, remote_port: null, bytes: 0, query: '', duration_ms: 1.5, referer: null, user_agent: null });
  });

  it('json: the time carries its milliseconds, padded', () => {
    const format = compileAccessFormat('json');
    for (const ms of [0, 7, 42, 999]) {
      const at = Date.UTC(2026, 10, 21, 7, 21, 39, ms);
      const parsed = JSON.parse(format(entry({ startMs: at }))) as { time: string };
      expect(parsed.time).toBe(new Date(at).toISOString());
    }
  });
});

describe('template atoms', () => {
  const sample = entry(
    { durationMicros: 2_345_678 },
    { ...BROWSER, authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` },
  );
  const cases: [string, string][] = [
    ['h', '192.0.2.7'],
    ['l', '-'],
    ['u', 'alice'],
    ['t', `[${STAMP}]`],
    ['r', 'GET /items/7?page=2&sort=asc HTTP/1.1'],
    ['m', 'GET'],
    ['U', '/items/7'],
    ['q', 'page=2&sort=asc'],
    ['H', 'HTTP/1.1'],
    ['s', '200'],
    ['B', '1234'],
    ['b', '1234'],
    ['f', 'https://example.com/start'],
    ['a', 'Mozilla/5.0 (X11)'],
    ['T', '2'],
    ['D', '2345678'],
    ['M', '2345'],
    ['L', '2.345678'],
    ['p', '<4242>'],
  ];
  it.each(cases)('%%(%s)s', (atom, expected) => {
    expect(compileAccessFormat(`%(${atom})s`)(sample)).toBe(expected);
  });

  it('atoms without a value', () => {
    const bare = entry({ status: 0, bytes: 0, query: '', durationMicros: 999 });
    const format = compileAccessFormat('%(u)s|%(s)s|%(B)s|%(b)s|%(f)s|%(a)s|%(q)s|%(T)s|%(M)s|%(D)s|%(L)s');
    expect(format(bare)).toBe('-|-|0|-|-|-||0|0|999|0.000999');
  });

  it('%(u)s: only the user of a well-formed Basic header', () => {
    const u = compileAccessFormat('%(u)s');
    const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`;
    expect(u(entry({}, { authorization: basic('bob:pw:with:colons') }))).toBe('bob');
    expect(u(entry({}, { authorization: `basic ${Buffer.from('carol:x').toString('base64')}` }))).toBe('carol');
    expect(u(entry({}, { authorization: 'Bearer abc.def.ghi' }))).toBe('-');
    expect(u(entry({}, { authorization: basic('no-colon') }))).toBe('-');
    expect(u(entry({}, { authorization: basic(':empty-user') }))).toBe('-');
    expect(u(entry({}, { authorization: 'Basic' }))).toBe('-');
    // A forged user cannot break the line.
    expect(u(entry({}, { authorization: basic('ev"il\nuser:pw') }))).toBe('ev\\"il\\nuser');
  });

  it('a template mixing atoms and text', () => {
    const format = compileAccessFormat('%(h)s:%(p)s "%(m)s %(U)s" -> %(s)s in %(M)sms');
    expect(format(entry())).toBe('192.0.2.7:<4242> "GET /items/7" -> 200 in 1234ms');
  });

  it('%% is a literal percent; a % that starts no atom is text', () => {
    expect(compileAccessFormat('%(s)s 100%% done')(entry())).toBe('200 100% done');
    expect(compileAccessFormat('%%(s)s=%(s)s')(entry())).toBe('%(s)s=200');
    expect(compileAccessFormat('%d %(s)s %')(entry())).toBe('%d 200 %');
    expect(compileAccessFormat('%%%(s)s%%')(entry())).toBe('%200%');
  });

  it('the presets are their templates', () => {
    const samples = [
      entry({}, BROWSER),
      entry({ status: 0, bytes: 0, query: '', remoteAddress: '' }),
      entry({ rawPath: '/"\n', method: 'G"T' }, { referer: '"', 'user-agent': '\\' }),
    ];
    const common = compileAccessFormat('%(h)s - - %(t)s "%(r)s" %(s)s %(B)s');
    const combined = compileAccessFormat('%(h)s - - %(t)s "%(r)s" %(s)s %(B)s "%(f)s" "%(a)s"');
    for (const sample of samples) {
      expect(compileAccessFormat('common')(sample)).toBe(common(sample));
      expect(compileAccessFormat('combined')(sample)).toBe(combined(sample));
    }
  });

  it('is compiled once and gives the same line each time', () => {
    const format = compileAccessFormat('combined');
    const e = entry({}, BROWSER);
    expect(format(e)).toBe(format(e));
  });
});

describe('header atoms', () => {
  it('request and response headers, names case-insensitive', () => {
    const asked: string[] = [];
    const e: AccessEntry = {
      ...entry(),
      requestHeader: (name) => {
        asked.push(name);
        return name === 'x-request-id' ? 'req-1' : undefined;
      },
      responseHeader: (name) => {
        asked.push(name);
        return name === 'content-type' ? 'text/plain; charset=utf-8' : undefined;
      },
    };
    const format = compileAccessFormat('%({X-Request-ID}i)s %({Content-Type}o)s %({x-request-id}i)s');
    expect(format(e)).toBe('req-1 text/plain; charset=utf-8 req-1');
    expect(asked).toEqual(['x-request-id', 'content-type', 'x-request-id']);
  });

  it('absent headers are -', () => {
    const format = compileAccessFormat('[%({X-Missing}i)s] [%({X-Missing}o)s] [%({Host}i)s]');
    expect(format(entry({}, { host: 'example.com' }))).toBe('[-] [-] [example.com]');
  });

  it('a response header is not read from the request, nor the reverse', () => {
    const format = compileAccessFormat('%({X-A}i)s %({X-A}o)s');
    expect(format(entry({}, { 'x-a': 'in' }, {}))).toBe('in -');
    expect(format(entry({}, {}, { 'x-a': 'out' }))).toBe('- out');
  });
});

describe('escaping', () => {
  const hostile = entry(
    { rawPath: '/a"b\\c\nd', query: 'x="1"\r\n', remoteAddress: '1.2.3.4" 6.6.6.6' },
    { referer: 'http://x/"\n127.0.0.1 - - [forged]', 'user-agent': 'ua\u0000\u001b[31m', 'x-id': 'a"b' },
    { 'x-out': 'line1\nline2' },
  );

  it('common: the target and the address', () => {
    const line = compileAccessFormat('common')(hostile);
    expect(line).toBe(
      `1.2.3.4\\" 6.6.6.6 - - [${STAMP}] "GET /a\\"b\\\\c\\nd?x=\\"1\\"\\r\\n HTTP/1.1" 200 1234`,
    );
    expect(line).not.toContain('\n');
  });

  it('combined: referer and user agent', () => {
    const line = compileAccessFormat('combined')(hostile);
    expect(line.endsWith(' "http://x/\\"\\n127.0.0.1 - - [forged]" "ua\\u0000\\u001b[31m"')).toBe(true);
    expect(line).not.toMatch(/[\u0000-\u001f]/);
  });

  it('template atoms: path, query, headers both ways', () => {
    const line = compileAccessFormat('%(U)s|%(q)s|%({X-Id}i)s|%({X-Out}o)s|%(f)s')(hostile);
    expect(line).toBe('/a\\"b\\\\c\\nd|x=\\"1\\"\\r\\n|a\\"b|line1\\nline2|http://x/\\"\\n127.0.0.1 - - [forged]');
  });

  it('json: stays one valid object and keeps the values', () => {
    const line = compileAccessFormat('json')(hostile);
    expect(line).not.toMatch(/[\u0000-\u001f]/);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed['path']).toBe('/a"b\\c\nd');
    expect(parsed['query']).toBe('x="1"\r\n');
    expect(parsed['remote_addr']).toBe('1.2.3.4" 6.6.6.6');
    expect(parsed['referer']).toBe('http://x/"\n127.0.0.1 - - [forged]');
    expect(parsed['user_agent']).toBe('ua\u0000\u001b[31m');
  });

  it('escapes as JSON.stringify does, lone surrogates included', () => {
    const path = '/\ud800x/\u{1f600}/é';
    expect(compileAccessFormat('%(U)s')(entry({ rawPath: path }))).toBe(JSON.stringify(path).slice(1, -1));
    expect(compileAccessFormat('%(U)s')(entry({ rawPath: path }))).toBe('/\\ud800x/\u{1f600}/é');
  });
});

describe('errors', () => {
  it('an unknown atom is named, with the valid ones', () => {
    expect(() => compileAccessFormat('%(h)s %(x)s')).toThrow(/unknown atom "x"/);
    let message = '';
    try {
      compileAccessFormat('%(h)s %(zz)s');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('"zz"');
    for (const atom of ['h', 'l', 'u', 't', 'r', 'm', 'U', 'q', 'H', 's', 'B', 'b', 'f', 'a', 'T', 'D', 'M', 'L', 'p']) {
      expect(message).toContain(`%(${atom})s`);
    }
    expect(message).toContain('%({header}i)s');
    expect(message).toContain('%({header}o)s');
    expect(message).toContain('%%');
  });

  it('malformed references', () => {
    expect(() => compileAccessFormat('%(h')).toThrow(/"%\(h" is not closed/);
    expect(() => compileAccessFormat('%(h)d')).toThrow(/must end in "\)s"/);
    expect(() => compileAccessFormat('%({X-Id}x)s')).toThrow(/not a header atom/);
    expect(() => compileAccessFormat('%({}i)s')).toThrow(/not a header atom/);
    expect(() => compileAccessFormat('%({X-Id')).toThrow(/not a header atom/);
    expect(() => compileAccessFormat('%(toString)s')).toThrow(/unknown atom "toString"/);
  });

  it('a format with no atom is refused (a misspelt preset)', () => {
    expect(() => compileAccessFormat('comon')).toThrow(/neither a preset \(common, combined, json\)/);
    expect(() => compileAccessFormat('')).toThrow(/neither a preset/);
  });
});

describe('clfTimestamp', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('clfTimestamp: today\'s format, right however seconds alternate', () => {
    expect(clfTimestamp(START)).toBe(STAMP);
    expect(clfTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe('02/Jan/2026:03:04:05 +0000');
    expect(clfTimestamp(START + 957)).toBe(STAMP);
    expect(clfTimestamp(START + 1000)).toBe('10/Oct/2000:13:55:37 +0000');
    expect(clfTimestamp(START)).toBe(STAMP);
    expect(clfTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe('02/Jan/2026:03:04:05 +0000');
    expect(clfTimestamp(Date.UTC(1999, 11, 31, 23, 59, 59, 999))).toBe('31/Dec/1999:23:59:59 +0000');
  });

  it('clfTimestamp() defaults to now', () => {
    vi.useFakeTimers();
    vi.setSystemTime(Date.UTC(2026, 10, 21, 7, 21, 39));
    expect(clfTimestamp()).toBe('21/Nov/2026:07:21:39 +0000');
  });
});

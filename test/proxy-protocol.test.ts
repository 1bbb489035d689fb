/**
 * The PROXY protocol parser on its own: no sockets, since it is a pure function of the bytes a
 * connection sent first. v2 headers are built here from the spec's layout, so a test reads as
 * the fields it sets rather than as a hex dump.
 */
import { SocketAddress } from 'node:net';
import { describe, expect, it } from 'vitest';
import { MAX_PROXY_HEADER_BYTES, parseProxyHeader, type ProxyHeaderResult } from '../src/core/proxy-protocol.js';

const SIGNATURE = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1');
const LOCAL = 0x0;
const PROXY = 0x1;
const AF_UNSPEC = 0x0;
const AF_INET = 0x1;
const AF_INET6 = 0x2;
const AF_UNIX = 0x3;
const UNSPEC = 0x0;
const STREAM = 0x1;
const DGRAM = 0x2;

interface V2Options {
  version?: number;
  command: number;
  family: number;
  protocol: number;
  /** The address block, TLVs excluded. */
  block?: Buffer;
  tlvs?: Buffer;
  /** Overrides the length field (which otherwise covers block and TLVs). */
  length?: number;
}

/** A v2 header: signature, version/command, family/protocol, 16-bit length, then the block. */
function v2(options: V2Options): Buffer {
  const body = Buffer.concat([options.block ?? Buffer.alloc(0), options.tlvs ?? Buffer.alloc(0)]);
  const fixed = Buffer.alloc(4);
  fixed.writeUInt8(((options.version ?? 2) << 4) | options.command, 0);
  fixed.writeUInt8((options.family << 4) | options.protocol, 1);
  fixed.writeUInt16BE(options.length ?? body.length, 2);
  return Buffer.concat([SIGNATURE, fixed, body]);
}

function ipv4Block(source: string, destination: string, sourcePort: number, destinationPort: number): Buffer {
  const block = Buffer.alloc(12);
  source.split('.').forEach((octet, i) => block.writeUInt8(Number(octet), i));
  destination.split('.').forEach((octet, i) => block.writeUInt8(Number(octet), 4 + i));
  block.writeUInt16BE(sourcePort, 8);
  block.writeUInt16BE(destinationPort, 10);
  return block;
}

/** IPv6 addresses as their eight 16-bit words, so the test needs no text parser of its own. */
function ipv6Block(source: number[], destination: number[], sourcePort: number, destinationPort: number): Buffer {
  const block = Buffer.alloc(36);
  source.forEach((word, i) => block.writeUInt16BE(word, 2 * i));
  destination.forEach((word, i) => block.writeUInt16BE(word, 16 + 2 * i));
  block.writeUInt16BE(sourcePort, 32);
  block.writeUInt16BE(destinationPort, 34);
  return block;
}

function tlv(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(3);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(value.length, 1);
  return Buffer.concat([head, value]);
}

const PP2_TYPE_ALPN = 0x01;
const PP2_TYPE_AUTHORITY = 0x02;
const PP2_TYPE_NOOP = 0x04;

const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');

/** What Node itself prints for an IPv6 address (the same libuv formatting as remoteAddress). */
const nodeForm = (address: string): string => new SocketAddress({ address, family: 'ipv6' }).address;

function expectInvalid(result: ProxyHeaderResult, reason?: string | RegExp): void {
  expect(result.kind).toBe('invalid');
  if (result.kind === 'invalid' && reason !== undefined) {
    if (typeof reason === 'string') expect(result.reason).toBe(reason);
    else expect(result.reason).toMatch(reason);
  }
}

const HTTP_REQUEST = ascii('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n');

const V1_TCP4 = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n';
const V1_TCP6 = 'PROXY TCP6 2001:db8::1 2001:db8::2 1234 443\r\n';
const V1_UNKNOWN_LONGEST =
  'PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n';

describe('PROXY v1', () => {
  it('reads a TCP4 line', () => {
    expect(parseProxyHeader(ascii(V1_TCP4))).toEqual({
      kind: 'header',
      length: V1_TCP4.length,
      addresses: {
        source: { address: '192.168.0.1', port: 56324 },
        destination: { address: '192.168.0.11', port: 443 },
      },
    });
  });

  it('reads a TCP6 line', () => {
    expect(parseProxyHeader(ascii(V1_TCP6))).toEqual({
      kind: 'header',
      length: V1_TCP6.length,
      addresses: {
        source: { address: '2001:db8::1', port: 1234 },
        destination: { address: '2001:db8::2', port: 443 },
      },
    });
  });

  it('gives TCP6 addresses in the form Node gives remoteAddress, whatever form the line used', () => {
    const forms = [
      '2001:0DB8:0000:0000:0000:0000:0000:0001',
      '0:0:0:0:0:0:0:1',
      '::',
      '1::',
      '::ffff:10.0.0.1',
      '0:0:0:0:0:FFFF:0A00:0001',
      '::0102:0304',
      '1:0:0:2:0:0:0:3',
      '1:0:1:0:1:0:1:0',
      'fe80::aBcD:0:0:1',
      '1:2:3:4:5:6:7::',
      '::2:3:4:5:6:7:8',
      '1:2:3:4:5:6:1.2.3.4',
    ];
    for (const form of forms) {
      const result = parseProxyHeader(ascii(`PROXY TCP6 ${form} ::1 80 443\r\n`));
      expect(result.kind, form).toBe('header');
      if (result.kind === 'header') expect(result.addresses?.source.address, form).toBe(nodeForm(form));
    }
  });

  it('accepts ports 0 and 65535', () => {
    const result = parseProxyHeader(ascii('PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n'));
    expect(result).toMatchObject({
      kind: 'header',
      addresses: { source: { address: '0.0.0.0', port: 0 }, destination: { address: '255.255.255.255', port: 65535 } },
    });
  });

  it('reads UNKNOWN, short or followed by anything, as no addresses', () => {
    for (const line of ['PROXY UNKNOWN\r\n', 'PROXY UNKNOWN whatever \t\0 goes\r\n', V1_UNKNOWN_LONGEST]) {
      expect(parseProxyHeader(ascii(line)), JSON.stringify(line)).toEqual({
        kind: 'header',
        length: line.length,
        addresses: null,
      });
    }
    expect(V1_UNKNOWN_LONGEST.length).toBe(107);
  });

  it('counts only the header in length when HTTP bytes follow in the same buffer', () => {
    const data = Buffer.concat([ascii(V1_TCP4), HTTP_REQUEST]);
    const result = parseProxyHeader(data);
    expect(result.kind).toBe('header');
    if (result.kind === 'header') {
      expect(result.length).toBe(V1_TCP4.length);
      expect(data.subarray(result.length).equals(HTTP_REQUEST)).toBe(true);
    }
  });

  it('refuses bad addresses', () => {
    const lines = [
      'PROXY TCP4 256.1.1.1 10.0.0.1 1 2\r\n',
      'PROXY TCP4 1.2.3 10.0.0.1 1 2\r\n',
      'PROXY TCP4 01.2.3.4 10.0.0.1 1 2\r\n',
      'PROXY TCP4 10.0.0.1 ::1 1 2\r\n',
      'PROXY TCP6 10.0.0.1 ::1 1 2\r\n',
      'PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n',
      'PROXY TCP6 1::2::3 ::1 1 2\r\n',
      'PROXY TCP6 12345::1 ::1 1 2\r\n',
    ];
    for (const line of lines) {
      expectInvalid(parseProxyHeader(ascii(line)), /^the PROXY v1 (source|destination) address is not a valid IPv[46] address$/);
    }
  });

  it('refuses ports out of range, signed, with leading zeros or not decimal', () => {
    for (const port of ['65536', '99999', '+80', '-1', '080', '00', '8a', '0x50', '123456']) {
      expectInvalid(
        parseProxyHeader(ascii(`PROXY TCP4 1.2.3.4 5.6.7.8 ${port} 443\r\n`)),
        'the PROXY v1 source port is not a decimal number from 0 to 65535',
      );
    }
    expectInvalid(
      parseProxyHeader(ascii('PROXY TCP4 1.2.3.4 5.6.7.8 80 65536\r\n')),
      'the PROXY v1 destination port is not a decimal number from 0 to 65535',
    );
  });

  it('refuses a line with no CRLF within 107 bytes, and waits for one before that', () => {
    const unfinished = ascii(`PROXY UNKNOWN ${'x'.repeat(200)}`);
    expect(parseProxyHeader(unfinished.subarray(0, 106))).toEqual({ kind: 'incomplete' });
    expectInvalid(parseProxyHeader(unfinished.subarray(0, 107)), 'the PROXY v1 line has no CRLF within 107 bytes');
    expectInvalid(parseProxyHeader(unfinished), 'the PROXY v1 line has no CRLF within 107 bytes');
    // One byte too long: the CR is the 107th byte, so the LF would be the 108th.
    const tooLong = ascii(`${V1_UNKNOWN_LONGEST.slice(0, -2)}x\r\n`);
    expectInvalid(parseProxyHeader(tooLong), 'the PROXY v1 line has no CRLF within 107 bytes');
    expectInvalid(parseProxyHeader(tooLong.subarray(0, 107)), 'the PROXY v1 line has no CRLF within 107 bytes');
  });

  it('refuses extra spaces', () => {
    const lines = [
      'PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n',
      'PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n',
    ];
    for (const line of lines) {
      expectInvalid(parseProxyHeader(ascii(line)), /^the PROXY v1 line has an empty field/);
    }
  });

  it('counts fields in its reason', () => {
    expectInvalid(parseProxyHeader(ascii('PROXY TCP4 1.2.3.4 5.6.7.8 80\r\n')), 'the PROXY v1 line has 5 fields, not 6');
    expectInvalid(parseProxyHeader(ascii('PROXY TCP4\r\n')), 'the PROXY v1 line has 2 fields, not 6');
    expectInvalid(parseProxyHeader(ascii('PROXY TCP4 1.2.3.4 5.6.7.8 80 443 9\r\n')), 'the PROXY v1 line has 7 fields, not 6');
  });

  it('refuses other spellings of the keywords', () => {
    expectInvalid(parseProxyHeader(ascii('proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n')));
    expectInvalid(parseProxyHeader(ascii('PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n')), 'the PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN');
    expectInvalid(parseProxyHeader(ascii('PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n')), 'the PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN');
    expectInvalid(parseProxyHeader(ascii('PROXY UNKNOWNX\r\n')), 'the PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN');
    expectInvalid(parseProxyHeader(ascii('PROXY UNKNOWN\t1\r\n')), 'the PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN');
    expectInvalid(parseProxyHeader(ascii('PROXY\r\n')));
  });

  it('refuses a line ended by a lone LF or a lone CR', () => {
    expectInvalid(parseProxyHeader(ascii('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n')), 'the PROXY v1 line has an LF without a CR before it');
    expectInvalid(parseProxyHeader(ascii('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX')), 'the PROXY v1 line has a CR without an LF after it');
    expectInvalid(parseProxyHeader(ascii('PROXY UNKNOWN a\nb\r\n')), 'the PROXY v1 line has an LF without a CR before it');
  });

  it('refuses a malformed line before its CRLF arrives', () => {
    const early = [
      'PROXY X',
      'PROXY TCP5',
      'PROXY TCP4 1.2.3.4x',
      'PROXY TCP4 1.2.3.400',
      'PROXY TCP4 1.2.3.4.',
      'PROXY TCP4 01',
      'PROXY TCP6 2001:db8::g',
      'PROXY TCP6 ::1 ::1 01',
      'PROXY TCP6 ::1 ::1 1 65536',
      'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ',
      'PROXY TCP4 1.2.3.4  ',
      // The CR has come: the line before it is judged whole, though the LF has not.
      'PROXY TCP4 1.2.3.4 5.6.7.8 1\r',
    ];
    for (const bytes of early) expectInvalid(parseProxyHeader(ascii(bytes)));
  });
});

describe('PROXY v2', () => {
  it('reads a PROXY command over TCP/IPv4', () => {
    const header = v2({ command: PROXY, family: AF_INET, protocol: STREAM, block: ipv4Block('203.0.113.7', '10.0.0.1', 51234, 443) });
    expect(parseProxyHeader(header)).toEqual({
      kind: 'header',
      length: 28,
      addresses: {
        source: { address: '203.0.113.7', port: 51234 },
        destination: { address: '10.0.0.1', port: 443 },
      },
    });
  });

  it('skips TLVs after IPv4 addresses', () => {
    const tlvs = Buffer.concat([tlv(PP2_TYPE_ALPN, ascii('http/1.1')), tlv(PP2_TYPE_AUTHORITY, ascii('example.com')), tlv(PP2_TYPE_NOOP, Buffer.alloc(5))]);
    const header = v2({ command: PROXY, family: AF_INET, protocol: STREAM, block: ipv4Block('1.2.3.4', '5.6.7.8', 1, 2), tlvs });
    expect(parseProxyHeader(header)).toEqual({
      kind: 'header',
      length: 16 + 12 + tlvs.length,
      addresses: { source: { address: '1.2.3.4', port: 1 }, destination: { address: '5.6.7.8', port: 2 } },
    });
  });

  it('reads a PROXY command over TCP/IPv6, with and without TLVs', () => {
    const block = ipv6Block([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001], 40000, 8080);
    const addresses = {
      source: { address: '2001:db8::1', port: 40000 },
      destination: { address: '::ffff:10.0.0.1', port: 8080 },
    };
    expect(parseProxyHeader(v2({ command: PROXY, family: AF_INET6, protocol: STREAM, block }))).toEqual({
      kind: 'header',
      length: 52,
      addresses,
    });
    const tlvs = tlv(PP2_TYPE_NOOP, Buffer.alloc(100));
    expect(parseProxyHeader(v2({ command: PROXY, family: AF_INET6, protocol: STREAM, block, tlvs }))).toEqual({
      kind: 'header',
      length: 52 + tlvs.length,
      addresses,
    });
  });

  it('gives IPv6 addresses in the form Node gives remoteAddress', () => {
    // A fixed pseudo-random walk over addresses rich in zero words, where the "::" rules bite.
    let seed = 12345;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    for (let round = 0; round < 2000; round++) {
      const words = Array.from({ length: 8 }, () => (next() % 3 === 0 ? next() % 65536 : 0));
      if (round % 7 === 0) words[5] = 0xffff;
      const result = parseProxyHeader(v2({ command: PROXY, family: AF_INET6, protocol: STREAM, block: ipv6Block(words, words, 1, 2) }));
      const expected = nodeForm(words.map((word) => word.toString(16)).join(':'));
      expect(result.kind === 'header' && result.addresses?.source.address, words.join(',')).toBe(expected);
    }
  });

  it('keeps the connection addresses for LOCAL, whatever its block says', () => {
    expect(parseProxyHeader(v2({ command: LOCAL, family: AF_UNSPEC, protocol: UNSPEC }))).toEqual({
      kind: 'header',
      length: 16,
      addresses: null,
    });
    const withBlock = v2({ command: LOCAL, family: AF_INET, protocol: STREAM, block: ipv4Block('1.2.3.4', '5.6.7.8', 1, 2) });
    expect(parseProxyHeader(withBlock)).toEqual({ kind: 'header', length: 28, addresses: null });
  });

  it('keeps the connection addresses for AF_UNSPEC, AF_UNIX and an UNSPEC protocol', () => {
    const headers = [
      v2({ command: PROXY, family: AF_UNSPEC, protocol: UNSPEC }),
      v2({ command: PROXY, family: AF_UNSPEC, protocol: UNSPEC, block: Buffer.alloc(12) }),
      v2({ command: PROXY, family: AF_UNIX, protocol: STREAM, block: Buffer.alloc(216) }),
      v2({ command: PROXY, family: AF_INET, protocol: UNSPEC }),
    ];
    for (const header of headers) {
      expect(parseProxyHeader(header)).toEqual({ kind: 'header', length: header.length, addresses: null });
    }
  });

  it('refuses a version other than 2 as soon as its byte arrives', () => {
    for (const version of [0, 1, 3, 15]) {
      const header = v2({ version, command: PROXY, family: AF_INET, protocol: STREAM, block: ipv4Block('1.2.3.4', '5.6.7.8', 1, 2) });
      expectInvalid(parseProxyHeader(header.subarray(0, 13)), `the PROXY v2 version is ${version}, not 2`);
    }
  });

  it('refuses commands other than LOCAL and PROXY', () => {
    const header = v2({ command: 2, family: AF_INET, protocol: STREAM, block: ipv4Block('1.2.3.4', '5.6.7.8', 1, 2) });
    expectInvalid(parseProxyHeader(header.subarray(0, 13)), 'the PROXY v2 command is 2, neither LOCAL (0) nor PROXY (1)');
  });

  it('refuses DGRAM, which cannot carry HTTP', () => {
    for (const family of [AF_INET, AF_INET6, AF_UNIX]) {
      const header = v2({ command: PROXY, family, protocol: DGRAM, block: Buffer.alloc(216) });
      expectInvalid(parseProxyHeader(header.subarray(0, 14)), 'the PROXY v2 transport is DGRAM, not STREAM');
      expectInvalid(parseProxyHeader(header), 'the PROXY v2 transport is DGRAM, not STREAM');
    }
  });

  it('refuses unassigned families and protocols', () => {
    expectInvalid(parseProxyHeader(v2({ command: PROXY, family: 4, protocol: STREAM })), 'the PROXY v2 address family is 4, not 0 to 3');
    expectInvalid(parseProxyHeader(v2({ command: PROXY, family: AF_INET, protocol: 3 })), 'the PROXY v2 transport protocol is 3, not 0 to 2');
  });

  it('refuses an address block shorter than its family needs, once the length arrives', () => {
    const cases: Array<[number, number, number]> = [
      [AF_INET, 8, 12],
      [AF_INET, 11, 12],
      [AF_INET6, 12, 36],
      [AF_INET6, 35, 36],
      [AF_UNIX, 108, 216],
    ];
    for (const [family, length, needed] of cases) {
      const header = v2({ command: PROXY, family, protocol: STREAM, block: Buffer.alloc(length) });
      const reason = `the PROXY v2 address block is ${length} bytes, short of the ${needed} its family needs`;
      expectInvalid(parseProxyHeader(header.subarray(0, 16)), reason);
      expectInvalid(parseProxyHeader(header), reason);
    }
  });

  it('waits for the whole block that the length announces', () => {
    const header = v2({ command: PROXY, family: AF_INET, protocol: STREAM, block: ipv4Block('1.2.3.4', '5.6.7.8', 1, 2), length: 500 });
    expect(parseProxyHeader(header)).toEqual({ kind: 'incomplete' });
  });

  it('refuses bytes that break the signature', () => {
    expectInvalid(parseProxyHeader(ascii('\r\nGET / HTTP/1.1\r\n')), 'the connection did not start with a PROXY protocol header');
    expectInvalid(parseProxyHeader(ascii('\r\n\r\n\r\n')));
    expectInvalid(parseProxyHeader(ascii('\r\n\r\n\0\r\nQUIT\r')));
  });

  it('counts only the header in length when HTTP bytes follow in the same buffer', () => {
    const header = v2({ command: PROXY, family: AF_INET, protocol: STREAM, block: ipv4Block('1.2.3.4', '5.6.7.8', 1, 2), tlvs: tlv(PP2_TYPE_NOOP, Buffer.alloc(3)) });
    const data = Buffer.concat([header, HTTP_REQUEST]);
    const result = parseProxyHeader(data);
    expect(result.kind).toBe('header');
    if (result.kind === 'header') {
      expect(result.length).toBe(header.length);
      expect(data.subarray(result.length).equals(HTTP_REQUEST)).toBe(true);
    }
  });

  it('takes a header as long as MAX_PROXY_HEADER_BYTES', () => {
    expect(MAX_PROXY_HEADER_BYTES).toBe(16 + 65535);
    const block = ipv4Block('1.2.3.4', '5.6.7.8', 1, 2);
    const header = v2({ command: PROXY, family: AF_INET, protocol: STREAM, block, tlvs: tlv(PP2_TYPE_NOOP, Buffer.alloc(65535 - 12 - 3)) });
    expect(header.length).toBe(MAX_PROXY_HEADER_BYTES);
    expect(parseProxyHeader(header)).toMatchObject({ kind: 'header', length: MAX_PROXY_HEADER_BYTES });
  });
});

describe('partial and foreign bytes', () => {
  const valid: Array<[string, Uint8Array]> = [
    ['v1 TCP4', ascii(V1_TCP4)],
    ['v1 TCP6', ascii(V1_TCP6)],
    ['v1 TCP6 mapped', ascii('PROXY TCP6 ::ffff:192.168.0.1 0:0:0:0:0:0:0:1 65535 0\r\n')],
    ['v1 UNKNOWN', ascii('PROXY UNKNOWN\r\n')],
    ['v1 UNKNOWN longest', ascii(V1_UNKNOWN_LONGEST)],
    ['v2 IPv4', v2({ command: PROXY, family: AF_INET, protocol: STREAM, block: ipv4Block('1.2.3.4', '5.6.7.8', 1, 2) })],
    [
      'v2 IPv6 with TLVs',
      v2({
        command: PROXY,
        family: AF_INET6,
        protocol: STREAM,
        block: ipv6Block([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 1], 1, 2),
        tlvs: tlv(PP2_TYPE_ALPN, ascii('h2')),
      }),
    ],
    ['v2 LOCAL', v2({ command: LOCAL, family: AF_UNSPEC, protocol: UNSPEC })],
    ['v2 AF_UNIX', v2({ command: PROXY, family: AF_UNIX, protocol: STREAM, block: Buffer.alloc(216, 0x61) })],
  ];

  it.each(valid)('every strict prefix of a valid %s header is incomplete', (_name, header) => {
    for (let length = 0; length < header.length; length++) {
      expect(parseProxyHeader(header.subarray(0, length)), `${length} bytes`).toEqual({ kind: 'incomplete' });
    }
    expect(parseProxyHeader(header).kind).toBe('header');
  });

  it('takes a plain Uint8Array as well as a Buffer', () => {
    expect(parseProxyHeader(new Uint8Array(ascii(V1_TCP4))).kind).toBe('header');
  });

  it('says invalid from the first byte of an HTTP request', () => {
    for (let length = 1; length <= HTTP_REQUEST.length; length++) {
      expectInvalid(parseProxyHeader(HTTP_REQUEST.subarray(0, length)), 'the connection did not start with a PROXY protocol header');
    }
    // A TLS ClientHello starts with 0x16.
    expectInvalid(parseProxyHeader(Uint8Array.of(0x16, 0x03, 0x01)));
  });

  it('says invalid at the first byte of methods starting with P that differs from "PROXY "', () => {
    for (const [method, agreeing] of [['POST', 1], ['PUT', 1], ['PATCH', 1], ['PRI', 2]] as const) {
      const request = ascii(`${method} * HTTP/1.1\r\n\r\n`);
      for (let length = 1; length <= agreeing; length++) {
        expect(parseProxyHeader(request.subarray(0, length))).toEqual({ kind: 'incomplete' });
      }
      expectInvalid(parseProxyHeader(request.subarray(0, agreeing + 1)), 'the connection did not start with a PROXY protocol header');
    }
  });

  it('gives an empty buffer as incomplete', () => {
    expect(parseProxyHeader(new Uint8Array(0))).toEqual({ kind: 'incomplete' });
  });
});

/**
 * --proxy-headers and --forwarded-allow-ips, the pure part (src/core/proxy.ts): which peers are
 * trusted, and which client, scheme, host and port a request carrying forwarding headers resolves
 * to. No sockets: the inputs are the peer address and the raw header values.
 */
import { describe, expect, it } from 'vitest';
import { type ForwardingHeaders, type ProxiedView, ProxyTrust, resolveForwarding } from '../src/core/proxy.js';

const NO_HEADERS: ForwardingHeaders = { forwardedFor: '', forwardedProto: '', forwardedHost: '', forwardedPort: '', forwarded: '' };

function headers(values: Partial<ForwardingHeaders>): ForwardingHeaders {
  return { ...NO_HEADERS, ...values };
}

function viewOf(values: Partial<ProxiedView> & { client: string }): ProxiedView {
  return { clientPort: null, scheme: null, host: null, port: null, ...values };
}

/** The proxies of most tests: 10.0.0.0/8 and fd00::/8; the peer is 10.0.0.1. */
const proxies = ProxyTrust.parse(['10.0.0.0/8', 'fd00::/8']);
const PEER = '10.0.0.1';

function resolve(values: Partial<ForwardingHeaders>, trust: ProxyTrust = proxies, peer: string = PEER): ProxiedView | null {
  return resolveForwarding(peer, headers(values), trust);
}

describe('ProxyTrust.parse', () => {
  it('accepts addresses, CIDRs, * and unix:', () => {
    for (const entry of [
      '127.0.0.1',
      '0.0.0.0',
      '255.255.255.255',
      '10.0.0.0/8',
      '0.0.0.0/0',
      '192.168.1.7/32',
      '::1',
      '::',
      'fd00::/8',
      '::/0',
      '2001:DB8::/32',
      '2001:db8::1/128',
      '1:2:3:4:5:6:7:8',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.0/104',
      '64:ff9b::192.0.2.33',
      '*',
      'unix:',
    ]) {
      expect(() => ProxyTrust.parse([entry]), entry).not.toThrow();
    }
  });

  it('trims blanks, splits comma-separated entries and skips empty ones', () => {
    const trust = ProxyTrust.parse([' 127.0.0.1 ', '10.0.0.0/8,  ::1', '', ' , ']);
    expect(trust.trusts('127.0.0.1')).toBe(true);
    expect(trust.trusts('10.200.0.1')).toBe(true);
    expect(trust.trusts('::1')).toBe(true);
    expect(trust.trusts('192.0.2.1')).toBe(false);
    expect(trust.everyone).toBe(false);
  });

  it('refuses anything else, naming the entry and the accepted forms', () => {
    for (const entry of [
      'localhost',
      'example.com',
      '1.2.3',
      '1.2.3.4.5',
      '256.0.0.1',
      '01.2.3.4',
      '1.2.3.4 5',
      '10.0.0.0/33',
      '10.0.0.0/',
      '10.0.0.0/08',
      '10.0.0.0/-1',
      '10.0.0.0/8/8',
      '/8',
      '::/129',
      '::1::',
      ':::',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '12345::1',
      'fe80::1%eth0',
      '[::1]',
      '::ffff:10.0.0.0/129',
      'unix',
      'unix:/run/proxy.sock',
      '**',
      '*.example.com',
    ]) {
      expect(() => ProxyTrust.parse([entry]), entry).toThrow(Error);
    }
    let message = '';
    try {
      ProxyTrust.parse(['127.0.0.1', 'localhost']);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("'localhost'");
    for (const form of ["'127.0.0.1'", "'10.0.0.0/8'", "'::1'", "'fd00::/8'", "'*'", "'unix:'"]) expect(message).toContain(form);
    expect(message).toContain('unix-socket');
  });

  it('sets everyone only for *', () => {
    expect(ProxyTrust.parse(['*']).everyone).toBe(true);
    expect(ProxyTrust.parse(['127.0.0.1', '*']).everyone).toBe(true);
    expect(ProxyTrust.parse(['0.0.0.0/0', '::/0']).everyone).toBe(false);
    expect(ProxyTrust.parse([]).everyone).toBe(false);
  });
});

describe('ProxyTrust.trusts', () => {
  function check(entry: string, inside: readonly string[], outside: readonly string[]): void {
    const trust = ProxyTrust.parse([entry]);
    for (const address of inside) expect(trust.trusts(address), `${entry} trusts ${address}`).toBe(true);
    for (const address of outside) expect(trust.trusts(address), `${entry} does not trust ${address}`).toBe(false);
  }

  it('matches IPv4 CIDR boundaries', () => {
    check('0.0.0.0/0', ['0.0.0.0', '255.255.255.255', '10.1.2.3'], ['::1', '2001:db8::1']);
    check('128.0.0.0/1', ['128.0.0.0', '255.255.255.255'], ['127.255.255.255', '0.0.0.0']);
    check('10.0.0.0/8', ['10.0.0.0', '10.255.255.255'], ['9.255.255.255', '11.0.0.0']);
    check('172.16.0.0/12', ['172.16.0.0', '172.31.255.255'], ['172.15.255.255', '172.32.0.0']);
    check('192.168.1.6/31', ['192.168.1.6', '192.168.1.7'], ['192.168.1.5', '192.168.1.8']);
    check('192.168.1.7/32', ['192.168.1.7'], ['192.168.1.6', '192.168.1.8']);
    check('192.168.1.7', ['192.168.1.7'], ['192.168.1.6', '192.168.1.8']);
  });

  it('reads a CIDR with host bits set as its network', () => {
    check('10.1.2.3/8', ['10.0.0.0', '10.255.255.255', '10.1.2.3'], ['11.0.0.0', '9.255.255.255']);
    check('2001:db8::1/32', ['2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'], ['2001:db9::', '2001:db7::1']);
  });

  it('matches IPv6 CIDR boundaries', () => {
    check('::/0', ['::', '::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], ['10.0.0.1', '0.0.0.0']);
    check('8000::/1', ['8000::', 'ffff::1'], ['7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::1']);
    check('fd00::/8', ['fd00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'FD12:3456::1'], ['fc00::', 'fe00::', 'fcff::1']);
    check('2001:db8:8000::/33', ['2001:db8:8000::', '2001:db8:ffff::1'], ['2001:db8:7fff::1', '2001:db9::']);
    check('2001:db8::/64', ['2001:db8::', '2001:db8:0:0:ffff:ffff:ffff:ffff'], ['2001:db8:0:1::', '2001:db8:0:1::1', '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff']);
    check('2001:db8::/127', ['2001:db8::', '2001:db8::1'], ['2001:db8::2']);
    check('2001:db8::1/128', ['2001:db8::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '2001:DB8::1'], ['2001:db8::', '2001:db8::2']);
    check('::1', ['::1', '0:0:0:0:0:0:0:1'], ['::', '::2', '127.0.0.1']);
  });

  it('matches IPv4-mapped IPv6 against IPv4 entries, and mapped entries as IPv4', () => {
    check('127.0.0.1', ['127.0.0.1', '::ffff:127.0.0.1', '::FFFF:7f00:1', '0:0:0:0:0:ffff:127.0.0.1'], ['::1', '::127.0.0.1']);
    check('10.0.0.0/8', ['::ffff:10.9.9.9'], ['::ffff:11.0.0.1']);
    check('::ffff:127.0.0.1', ['127.0.0.1', '::ffff:127.0.0.1'], ['127.0.0.2']);
    check('::ffff:10.0.0.0/104', ['10.1.1.1', '::ffff:10.2.2.2'], ['11.0.0.1', '::ffff:11.0.0.1']);
    check('::ffff:0:0/96', ['0.0.0.0', '255.255.255.255', '::ffff:1.2.3.4'], ['::1']);
    // '::/0' is IPv6 peers only: a mapped peer is its IPv4 address.
    check('::/0', ['::1'], ['::ffff:1.2.3.4', '1.2.3.4']);
  });

  it('drops a zone from a peer address', () => {
    check('fe80::/10', ['fe80::1%eth0', 'fe80::1%1'], ['fe00::1%eth0']);
  });

  it("trusts a unix-socket peer ('') only with unix: or *", () => {
    expect(ProxyTrust.parse([]).trusts('')).toBe(false);
    expect(ProxyTrust.parse(['127.0.0.1', '::1', '0.0.0.0/0', '::/0']).trusts('')).toBe(false);
    const unix = ProxyTrust.parse(['unix:']);
    expect(unix.trusts('')).toBe(true);
    expect(unix.trusts('127.0.0.1')).toBe(false);
    expect(unix.trusts('::1')).toBe(false);
    expect(ProxyTrust.parse(['*']).trusts('')).toBe(true);
  });

  it('trusts everything with *, and nothing that is not an address otherwise', () => {
    const everyone = ProxyTrust.parse(['*']);
    for (const address of ['1.2.3.4', '::1', '', 'garbage']) expect(everyone.trusts(address)).toBe(true);
    const all = ProxyTrust.parse(['0.0.0.0/0', '::/0']);
    for (const address of ['garbage', '1.2.3', '1.2.3.4.5', '01.2.3.4', '::ffff:999.1.1.1', '[::1]', '1.2.3.4:80', ' 1.2.3.4', 'x'.repeat(10_000)]) {
      expect(all.trusts(address), address).toBe(false);
    }
    expect(ProxyTrust.parse([]).trusts('127.0.0.1')).toBe(false);
  });

  it('stays right while its cache of recent addresses turns over', () => {
    const trust = ProxyTrust.parse(['10.0.0.0/16']);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 1000; i++) {
        const address = `10.0.${i >> 8}.${i & 255}`;
        const outside = `10.1.${i >> 8}.${i & 255}`;
        expect(trust.trusts(address)).toBe(true);
        expect(trust.trusts(outside)).toBe(false);
      }
    }
  });
});

describe('resolveForwarding: when it applies', () => {
  it('is null without forwarding headers', () => {
    expect(resolve({})).toBeNull();
    expect(resolveForwarding(PEER, NO_HEADERS, ProxyTrust.parse(['*']))).toBeNull();
  });

  it('is null when the peer is not trusted', () => {
    const all = { forwardedFor: '203.0.113.7', forwardedProto: 'https', forwardedHost: 'example.com', forwardedPort: '443', forwarded: 'for=203.0.113.7' };
    expect(resolve(all, proxies, '192.0.2.1')).toBeNull();
    expect(resolve(all, proxies, '')).toBeNull();
    expect(resolve(all, proxies, 'garbage')).toBeNull();
    expect(resolve(all, ProxyTrust.parse([]), '127.0.0.1')).toBeNull();
  });

  it('applies for a trusted unix-socket peer', () => {
    const unix = ProxyTrust.parse(['unix:']);
    expect(resolve({ forwardedFor: '203.0.113.7' }, unix, '')).toEqual(viewOf({ client: '203.0.113.7' }));
    // Only the peer is a unix socket: a hop in the chain is an address or nothing.
    expect(resolve({ forwardedFor: '127.0.0.1, 203.0.113.7' }, unix, '')).toEqual(viewOf({ client: '203.0.113.7' }));
  });

  it('applies for an IPv4-mapped peer of a trusted IPv4 proxy', () => {
    expect(resolve({ forwardedFor: '203.0.113.7' }, proxies, '::ffff:10.0.0.1')).toEqual(viewOf({ client: '203.0.113.7' }));
  });
});

describe('resolveForwarding: X-Forwarded-For', () => {
  it('takes a single address', () => {
    expect(resolve({ forwardedFor: '203.0.113.7' })).toEqual(viewOf({ client: '203.0.113.7' }));
  });

  it('takes the rightmost address that is not a trusted proxy', () => {
    expect(resolve({ forwardedFor: '198.51.100.1, 203.0.113.7, 10.0.0.2' })).toEqual(viewOf({ client: '203.0.113.7' }));
    expect(resolve({ forwardedFor: '198.51.100.1,203.0.113.7,10.0.0.2,fd00::5' })).toEqual(viewOf({ client: '203.0.113.7' }));
  });

  it('does not let a client win by prepending addresses, trusted-looking or not', () => {
    // The client sent "X-Forwarded-For: 1.1.1.1, 10.0.0.3"; the proxy appended the real address.
    expect(resolve({ forwardedFor: '1.1.1.1, 10.0.0.3, 203.0.113.7' })).toEqual(viewOf({ client: '203.0.113.7' }));
    expect(resolve({ forwardedFor: '10.0.0.3, 203.0.113.7' })).toEqual(viewOf({ client: '203.0.113.7' }));
    expect(resolve({ forwardedFor: 'unknown, _x, 203.0.113.7' })).toEqual(viewOf({ client: '203.0.113.7' }));
    // A repeated header: the client's own comes first, the proxy's last.
    expect(resolve({ forwardedFor: '6.6.6.6, 203.0.113.7' })).toEqual(viewOf({ client: '203.0.113.7' }));
  });

  it('takes the leftmost address when every hop is trusted', () => {
    expect(resolve({ forwardedFor: '10.0.0.9, 10.0.0.2' })).toEqual(viewOf({ client: '10.0.0.9' }));
    expect(resolve({ forwardedFor: '10.0.0.9' })).toEqual(viewOf({ client: '10.0.0.9' }));
  });

  it("with '*' takes the leftmost address, as '*' trusts every hop", () => {
    expect(resolve({ forwardedFor: '1.1.1.1, 2.2.2.2' }, ProxyTrust.parse(['*']), '192.0.2.1')).toEqual(viewOf({ client: '1.1.1.1' }));
  });

  it('reads IPv6, brackets and ports, and answers canonical addresses without a port', () => {
    expect(resolve({ forwardedFor: '2001:DB8:0:0:0:0:0:1' })).toEqual(viewOf({ client: '2001:db8::1' }));
    expect(resolve({ forwardedFor: '[2001:db8::1]' })).toEqual(viewOf({ client: '2001:db8::1' }));
    expect(resolve({ forwardedFor: '[2001:db8::1]:4711' })).toEqual(viewOf({ client: '2001:db8::1' }));
    expect(resolve({ forwardedFor: '203.0.113.7:5678' })).toEqual(viewOf({ client: '203.0.113.7' }));
    expect(resolve({ forwardedFor: '::ffff:203.0.113.7' })).toEqual(viewOf({ client: '203.0.113.7' }));
    expect(resolve({ forwardedFor: '2001:db8:0:0:1:0:0:1' })).toEqual(viewOf({ client: '2001:db8::1:0:0:1' }));
    expect(resolve({ forwardedFor: '2001:0:0:1:0:0:0:1' })).toEqual(viewOf({ client: '2001:0:0:1::1' }));
    // A trusted hop written in another form is still trusted.
    expect(resolve({ forwardedFor: '203.0.113.7, ::ffff:10.0.0.2, [FD00::2]:80' })).toEqual(viewOf({ client: '203.0.113.7' }));
  });

  it('skips empty list elements', () => {
    expect(resolve({ forwardedFor: ' , 203.0.113.7,, ,10.0.0.2 ,' })).toEqual(viewOf({ client: '203.0.113.7' }));
  });

  it('stops at a hop that is not an address: the client is the trusted hop to its right', () => {
    expect(resolve({ forwardedFor: '203.0.113.7, unknown' })).toEqual(viewOf({ client: PEER }));
    expect(resolve({ forwardedFor: '203.0.113.7, _hidden, 10.0.0.2' })).toEqual(viewOf({ client: '10.0.0.2' }));
    expect(resolve({ forwardedFor: '203.0.113.7, 010.0.0.9, 10.0.0.2' })).toEqual(viewOf({ client: '10.0.0.2' }));
    expect(resolve({ forwardedFor: 'garbage' })).toEqual(viewOf({ client: PEER }));
    // The peer stays as given when it is the client.
    expect(resolve({ forwardedFor: 'garbage' }, proxies, '::ffff:10.0.0.1')).toEqual(viewOf({ client: '::ffff:10.0.0.1' }));
  });
});

describe('resolveForwarding: Forwarded (RFC 7239)', () => {
  it('takes for= as the client', () => {
    expect(resolve({ forwarded: 'for=192.0.2.43' })).toEqual(viewOf({ client: '192.0.2.43' }));
    expect(resolve({ forwarded: 'for="192.0.2.43"' })).toEqual(viewOf({ client: '192.0.2.43' }));
  });

  it('reads quoted IPv6 with a port, and an unquoted address with a port', () => {
    expect(resolve({ forwarded: 'for="[2001:db8:cafe::17]:4711"' })).toEqual(viewOf({ client: '2001:db8:cafe::17', clientPort: 4711 }));
    expect(resolve({ forwarded: 'for="[2001:DB8:cafe:0::17]"' })).toEqual(viewOf({ client: '2001:db8:cafe::17' }));
    expect(resolve({ forwarded: 'for=192.0.2.60:8080' })).toEqual(viewOf({ client: '192.0.2.60', clientPort: 8080 }));
    expect(resolve({ forwarded: 'for="192.0.2.60:8080"' })).toEqual(viewOf({ client: '192.0.2.60', clientPort: 8080 }));
    expect(resolve({ forwarded: 'for=[2001:db8::1]:80' })).toEqual(viewOf({ client: '2001:db8::1', clientPort: 80 }));
    // An obfuscated port: the address, no port.
    expect(resolve({ forwarded: 'for="[2001:db8::1]:_p1"' })).toEqual(viewOf({ client: '2001:db8::1' }));
    // A port that is not one makes the node unknown.
    expect(resolve({ forwarded: 'for="192.0.2.60:99999"' })).toEqual(viewOf({ client: PEER }));
    expect(resolve({ forwarded: 'for="192.0.2.60:"' })).toEqual(viewOf({ client: PEER }));
    expect(resolve({ forwarded: 'for="[1.2.3.4]"' })).toEqual(viewOf({ client: PEER }));
  });

  it('reads keys in any case, and proto and host', () => {
    expect(resolve({ forwarded: 'For=192.0.2.43;PROTO=HTTPS;Host=example.com;BY=10.0.0.1' })).toEqual(
      viewOf({ client: '192.0.2.43', scheme: 'https', host: 'example.com', port: 443 }),
    );
  });

  it('undoes quoted-string escapes, and keeps commas and semicolons inside quotes', () => {
    expect(resolve({ forwarded: 'for="\\[2001:db8::1\\]:\\80";host="exa\\mple.com"' })).toEqual(
      viewOf({ client: '2001:db8::1', clientPort: 80, host: 'example.com' }),
    );
    expect(resolve({ forwarded: 'for=192.0.2.1;ext="a, b; c=d", for=203.0.113.9;proto=http' })).toEqual(
      viewOf({ client: '203.0.113.9', scheme: 'http', port: 80 }),
    );
    expect(resolve({ forwarded: 'for=203.0.113.9;ext="a, for=6.6.6.6"' })).toEqual(viewOf({ client: '203.0.113.9' }));
  });

  it('walks elements from the right, taking proto and host from the chosen element', () => {
    const chain = 'for=192.0.2.43;proto=http;host=evil.example, for=198.51.100.17;proto=https;host=shop.example, for=10.0.0.2;proto=http;host=inner';
    expect(resolve({ forwarded: chain })).toEqual(viewOf({ client: '198.51.100.17', scheme: 'https', host: 'shop.example', port: 443 }));
    // Every hop trusted: the leftmost element.
    const trusted = 'for=10.0.0.7;proto=https;host=a.example:8443, for=10.0.0.2;proto=http';
    expect(resolve({ forwarded: trusted })).toEqual(viewOf({ client: '10.0.0.7', scheme: 'https', host: 'a.example:8443', port: 8443 }));
    // The chosen element without proto: no scheme, even though another element has one.
    expect(resolve({ forwarded: 'for=198.51.100.17, for=10.0.0.2;proto=https' })).toEqual(viewOf({ client: '198.51.100.17' }));
  });

  it('stops at an obfuscated or unknown hop: the client is the nearest address to its right', () => {
    expect(resolve({ forwarded: 'for=192.0.2.43, for=_hidden, for=10.0.0.2' })).toEqual(viewOf({ client: '10.0.0.2' }));
    expect(resolve({ forwarded: 'for=unknown;proto=https;host=example.com' })).toEqual(
      viewOf({ client: PEER, scheme: 'https', host: 'example.com', port: 443 }),
    );
    expect(resolve({ forwarded: 'for="_gazonk"' })).toEqual(viewOf({ client: PEER }));
    expect(resolve({ forwarded: 'for=UNKNOWN' })).toEqual(viewOf({ client: PEER }));
    // The port of the trusted hop that stands in comes along.
    expect(resolve({ forwarded: 'for=_x, for="[fd00::2]:4433"' })).toEqual(viewOf({ client: 'fd00::2', clientPort: 4433 }));
  });

  it('treats an element without for= as an unknown hop', () => {
    expect(resolve({ forwarded: 'proto=https;host=example.com' })).toEqual(viewOf({ client: PEER, scheme: 'https', host: 'example.com', port: 443 }));
    expect(resolve({ forwarded: 'for=203.0.113.9, proto=https' })).toEqual(viewOf({ client: PEER, scheme: 'https', port: 443 }));
  });

  it('is used instead of X-Forwarded-*', () => {
    expect(
      resolve({ forwarded: 'for=203.0.113.9', forwardedFor: '198.51.100.1', forwardedProto: 'https', forwardedHost: 'x.example', forwardedPort: '8443' }),
    ).toEqual(viewOf({ client: '203.0.113.9' }));
  });

  it('allows blanks around separators, empty elements and empty pairs', () => {
    expect(resolve({ forwarded: ' ,for = 203.0.113.9 ; ; proto = https ,, ' })).toEqual(viewOf({ client: '203.0.113.9', scheme: 'https', port: 443 }));
  });

  it('ignores a header that does not parse, so an open quote cannot swallow the proxies\' elements', () => {
    // The client sent `Forwarded: for=6.6.6.6;proto="` and the proxy appended its own element.
    expect(resolve({ forwarded: 'for=6.6.6.6;proto=", for=203.0.113.9' })).toEqual(viewOf({ client: PEER }));
    expect(resolve({ forwarded: 'for=6.6.6.6, for=", for="[2001:db8::9]"' })).toEqual(viewOf({ client: PEER }));
    expect(resolve({ forwarded: 'for=6.6.6.6, for=", for=""' })).toEqual(viewOf({ client: PEER }));
    for (const broken of [
      'for',
      '=192.0.2.1',
      'for="192.0.2.1"x',
      'for=192.0.2.1 for=192.0.2.2',
      'for=192.0.2.1;for=192.0.2.2',
      'for="192.0.2.1',
      'for="192.0.2.1\\',
      'for="a\u0001b"',
      'for=a"b"',
      'f(r=192.0.2.1',
      'for=192.0.2.1\u00e9',
    ]) {
      expect(resolve({ forwarded: broken }), broken).toEqual(viewOf({ client: PEER }));
    }
  });
});

describe('resolveForwarding: scheme, host and port', () => {
  it('maps ws and wss, in any case, and ignores other schemes', () => {
    expect(resolve({ forwardedProto: 'https' })).toEqual(viewOf({ client: PEER, scheme: 'https', port: 443 }));
    expect(resolve({ forwardedProto: 'HTTP' })).toEqual(viewOf({ client: PEER, scheme: 'http', port: 80 }));
    expect(resolve({ forwardedProto: 'WSS' })).toEqual(viewOf({ client: PEER, scheme: 'https', port: 443 }));
    expect(resolve({ forwardedProto: 'ws' })).toEqual(viewOf({ client: PEER, scheme: 'http', port: 80 }));
    for (const scheme of ['ftp', 'https:', 'http s', 'h\u00e9']) expect(resolve({ forwardedProto: scheme }), scheme).toEqual(viewOf({ client: PEER }));
  });

  it('takes the value lined up with the client when the lists have as many values as X-Forwarded-For', () => {
    // The client (index 1) is the untrusted hop 203.0.113.7: the proxy that appended it saw http.
    expect(resolve({ forwardedFor: '1.1.1.1, 203.0.113.7', forwardedProto: 'https, http' })).toEqual(
      viewOf({ client: '203.0.113.7', scheme: 'http', port: 80 }),
    );
    // The client is index 0: the outer proxy (10.0.0.2) saw https from it.
    expect(resolve({ forwardedFor: '203.0.113.7, 10.0.0.2', forwardedProto: 'https, http', forwardedHost: 'shop.example, inner:8000' })).toEqual(
      viewOf({ client: '203.0.113.7', scheme: 'https', host: 'shop.example', port: 443 }),
    );
    expect(
      resolve({ forwardedFor: '203.0.113.7, 10.0.0.2', forwardedProto: 'https, http', forwardedHost: 'shop.example, inner', forwardedPort: '8443, 8000' }),
    ).toEqual(viewOf({ client: '203.0.113.7', scheme: 'https', host: 'shop.example', port: 8443 }));
  });

  it('takes the rightmost value when the lists do not line up', () => {
    expect(resolve({ forwardedFor: '203.0.113.7, 10.0.0.2', forwardedProto: 'http' })).toEqual(viewOf({ client: '203.0.113.7', scheme: 'http', port: 80 }));
    // A client's own extra values cannot line up with the chain.
    expect(resolve({ forwardedFor: '1.1.1.1, 203.0.113.7', forwardedProto: 'https, https, http' })).toEqual(
      viewOf({ client: '203.0.113.7', scheme: 'http', port: 80 }),
    );
    expect(resolve({ forwardedFor: '203.0.113.7', forwardedProto: 'https, http' })).toEqual(viewOf({ client: '203.0.113.7', scheme: 'http', port: 80 }));
    expect(resolve({ forwardedProto: 'http, https', forwardedHost: 'a.example, b.example' })).toEqual(
      viewOf({ client: PEER, scheme: 'https', host: 'b.example', port: 443 }),
    );
  });

  it('ignores an invalid chosen value, without falling back to another one', () => {
    expect(resolve({ forwardedFor: '203.0.113.7, 10.0.0.2', forwardedProto: 'gopher, https' })).toEqual(viewOf({ client: '203.0.113.7' }));
  });

  it('takes the port from X-Forwarded-Port, else the host, else the scheme', () => {
    expect(resolve({ forwardedHost: 'example.com:8443', forwardedProto: 'https', forwardedPort: '9443' })).toEqual(
      viewOf({ client: PEER, scheme: 'https', host: 'example.com:8443', port: 9443 }),
    );
    expect(resolve({ forwardedHost: 'example.com:8443', forwardedProto: 'https' })).toEqual(
      viewOf({ client: PEER, scheme: 'https', host: 'example.com:8443', port: 8443 }),
    );
    expect(resolve({ forwardedHost: 'example.com', forwardedProto: 'https' })).toEqual(viewOf({ client: PEER, scheme: 'https', host: 'example.com', port: 443 }));
    expect(resolve({ forwardedHost: 'example.com' })).toEqual(viewOf({ client: PEER, host: 'example.com' }));
    expect(resolve({ forwardedHost: 'example.com:8080' })).toEqual(viewOf({ client: PEER, host: 'example.com:8080', port: 8080 }));
    expect(resolve({ forwardedPort: '8080' })).toEqual(viewOf({ client: PEER, port: 8080 }));
    // An invalid X-Forwarded-Port is ignored: the next rule decides.
    expect(resolve({ forwardedHost: 'example.com:8443', forwardedPort: 'abc' })).toEqual(viewOf({ client: PEER, host: 'example.com:8443', port: 8443 }));
    for (const port of ['0', '65536', '-1', '80a', '123456', ' ']) {
      expect(resolve({ forwardedPort: port, forwardedProto: 'http' }), port).toEqual(viewOf({ client: PEER, scheme: 'http', port: 80 }));
    }
    expect(resolve({ forwardedPort: '65535' })).toEqual(viewOf({ client: PEER, port: 65535 }));
  });

  it('accepts host[:port] forms and ignores others', () => {
    for (const [host, port] of [
      ['example.com', null],
      ['EXAMPLE.com', null],
      ['localhost:3000', 3000],
      ['192.0.2.1:80', 80],
      ['[2001:db8::1]', null],
      ['[2001:db8::1]:8080', 8080],
      ['xn--bcher-kva.example', null],
      ['my_host.internal', null],
    ] as const) {
      expect(resolve({ forwardedHost: host }), host).toEqual(viewOf({ client: PEER, host, port }));
    }
    for (const host of [
      'exa mple.com',
      'a/b',
      'user@example.com',
      'example.com:',
      'example.com:0',
      'example.com:99999',
      'example.com:80:80',
      '[zz::1]',
      '[2001:db8::1',
      '[fe80::1%25eth0]',
      '2001:db8::1',
      'example.com/path',
      'ex\u00e4mple.com',
      'a'.repeat(256),
    ]) {
      expect(resolve({ forwardedHost: host }), host).toEqual(viewOf({ client: PEER }));
    }
  });
});

describe('resolveForwarding: garbage', () => {
  /** A deterministic generator of hostile header values. */
  function generator(seed: number): () => string {
    let state = seed >>> 0;
    const next = (): number => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state;
    };
    const pieces = ['for', 'proto', 'host', '=', '"', '\\', ',', ';', ' ', '\t', ':', '[', ']', '_', '%', '.', '/', 'unknown', '1.2.3.4', '10.0.0.2', '::1', 'fd00::1', '::ffff:', '255', '999', 'https', 'ws', 'é', '\u0000', '\u007f', '\uffff', 'a'];
    return () => {
      let value = '';
      const count = next() % 24;
      for (let i = 0; i < count; i++) value += pieces[next() % pieces.length];
      return value;
    };
  }

  it('never throws, and only ever answers the peer or a canonical address', () => {
    const random = generator(7239);
    const trusts = [proxies, ProxyTrust.parse(['*']), ProxyTrust.parse(['unix:', '::/0', '0.0.0.0/0'])];
    const canonical = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+)$/;
    for (let i = 0; i < 5000; i++) {
      const values: ForwardingHeaders = {
        forwarded: i % 2 === 0 ? random() : '',
        forwardedFor: random(),
        forwardedProto: random(),
        forwardedHost: random(),
        forwardedPort: random(),
      };
      const peer = i % 3 === 0 ? '' : PEER;
      const trust = trusts[i % trusts.length]!;
      const result = resolveForwarding(peer, values, trust);
      if (result === null) continue;
      if (result.client !== peer) expect(result.client, JSON.stringify(values)).toMatch(canonical);
      expect([null, 'http', 'https']).toContain(result.scheme);
      if (result.port !== null) expect(result.port >= 1 && result.port <= 65535).toBe(true);
      if (result.clientPort !== null) expect(result.clientPort >= 1 && result.clientPort <= 65535).toBe(true);
    }
  });

  it('never throws on garbage peers either', () => {
    const random = generator(42);
    const trust = ProxyTrust.parse(['0.0.0.0/0', '::/0']);
    for (let i = 0; i < 2000; i++) {
      expect(() => resolveForwarding(random(), headers({ forwardedFor: random() }), trust)).not.toThrow();
    }
  });

  it('refuses garbage trust entries with an Error, never anything else', () => {
    const random = generator(1);
    for (let i = 0; i < 2000; i++) {
      const entry = random();
      try {
        ProxyTrust.parse([entry]);
      } catch (error) {
        expect(error).toBeInstanceOf(Error);
      }
    }
  });
});

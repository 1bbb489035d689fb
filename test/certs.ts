/**
 * Certificates made at test time with Debian's openssl: a CA, a server certificate for localhost
 * and 127.0.0.1 signed by it (its key also kept encrypted with a password), a client certificate
 * from the same CA and one from a CA the server does not trust.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestCerts {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** serverKey encrypted with `password`. */
  encryptedKey: string;
  password: string;
  clientCert: string;
  clientKey: string;
  rogueCert: string;
  rogueKey: string;
  /** The CA's PEM, for clients that verify the server. */
  ca: Buffer;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function authority(dir: string, name: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
}

function signed(dir: string, name: string, ca: string, extensions: string): void {
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
}

export function makeCerts(): TestCerts {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-certs-'));
  authority(dir, 'ca');
  authority(dir, 'rogue-ca');
  signed(dir, 'server', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  signed(dir, 'client', 'ca', 'extendedKeyUsage=clientAuth\n');
  signed(dir, 'rogue', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  const password = 'correct horse';
  openssl(dir, ['pkey', '-in', 'server.key', '-aes256', '-passout', `pass:${password}`, '-out', 'server-encrypted.key']);
  const file = (name: string): string => path.join(dir, name);
  return {
    dir,
    caCert: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    encryptedKey: file('server-encrypted.key'),
    password,
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
    rogueCert: file('rogue.pem'),
    rogueKey: file('rogue.key'),
    ca: readFileSync(file('ca.pem')),
  };
}

/**
 * TLS for every backend: the certificate files are read and checked once at start-up (a wrong
 * password or a key that does not match the certificate fails there, naming the file), and each
 * backend gets them in the form it takes (contents for Node's tls, file names for uWS).
 */
import { readFileSync } from 'node:fs';
import tls, { type TLSSocket, type TlsOptions } from 'node:tls';
import type { AcceptorLog } from './types.js';

export const CLIENT_CERT_MODES = ['none', 'optional', 'required'] as const;
export type ClientCertMode = (typeof CLIENT_CERT_MODES)[number];

export interface TlsFiles {
  certfile: string;
  keyfile: string;
  keyfilePassword: string;
  caCerts: string;
  ciphers: string;
  certReqs: ClientCertMode;
}

export interface TlsConfig extends TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | null;
  /** Client certificates are asked for (--ca-certs given and --cert-reqs not none). */
  readonly requestCert: boolean;
}

/** null when no certificate is configured; throws an Error naming the file or setting at fault. */
export function loadTls(files: TlsFiles): TlsConfig | null {
  if (files.certfile === '' && files.keyfile === '') {
    for (const [name, value] of [['--keyfile-password', files.keyfilePassword], ['--ca-certs', files.caCerts], ['--ciphers', files.ciphers]] as const) {
      if (value !== '') throw new Error(`${name} only applies to TLS: give --certfile and --keyfile too`);
    }
    return null;
  }
  if (files.certfile === '') throw new Error('--keyfile needs --certfile (the certificate chain in PEM) to serve TLS');
  if (files.keyfile === '') throw new Error('--certfile needs --keyfile (the private key in PEM) to serve TLS');
  if (files.certReqs === 'required' && files.caCerts === '') {
    throw new Error('--cert-reqs required needs --ca-certs: the CA certificates that client certificates must chain to');
  }
  const cert = readPem(files.certfile, '--certfile');
  const key = readPem(files.keyfile, '--keyfile');
  const ca = files.caCerts === '' ? null : readPem(files.caCerts, '--ca-certs');
  const config: TlsConfig = { ...files, cert, key, ca, requestCert: ca !== null && files.certReqs !== 'none' };
  try {
    tls.createSecureContext(nodeTlsOptions(config));
  } catch (error) {
    throw new Error(`the TLS files do not work together (${files.certfile}, ${files.keyfile}): ${describeTlsError(error as Error, isEncryptedPem(key))}`);
  }
  return config;
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** A PEM private key kept encrypted (PKCS#8 `ENCRYPTED PRIVATE KEY`, or the traditional `Proc-Type: 4,ENCRYPTED`). */
function isEncryptedPem(pem: Buffer): boolean {
  const text = pem.toString('latin1');
  return text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || text.includes('Proc-Type: 4,ENCRYPTED');
}

function describeTlsError(error: Error, keyEncrypted: boolean): string {
  const message = error.message;
  if (/bad decrypt|bad password|interrupted or cancelled/i.test(message)) return 'the key is encrypted and --keyfile-password is missing or wrong';
  // A wrong password passes the cipher's padding check about once in 256 tries; the "key" it
  // decrypts to is noise, which OpenSSL then fails to decode. For an encrypted key that is the
  // same mistake, and says so.
  if (keyEncrypted && /DECODER routines|asn1|wrong tag|unsupported/i.test(message)) {
    return `the key is encrypted and --keyfile-password is missing or wrong (OpenSSL could not decode what it decrypted: ${message})`;
  }
  if (/key values mismatch/i.test(message)) return 'the private key does not belong to the certificate';
  if (/no such cipher|no cipher match/i.test(message)) return `--ciphers names no cipher OpenSSL knows (${message})`;
  return message;
}

/** Options for tls.createServer / https.createServer: HTTP/1.1 offered by ALPN, client certificates as configured. */
export function nodeTlsOptions(config: TlsConfig): TlsOptions {
  const options: TlsOptions = {
    cert: config.cert,
    key: config.key,
    ALPNProtocols: ['http/1.1'],
    requestCert: config.requestCert,
    // 'optional' lets a client without a certificate in; one that presents a bad certificate is
    // dropped after the handshake (acceptClientCertificate).
    rejectUnauthorized: config.requestCert && config.certReqs === 'required',
  };
  if (config.keyfilePassword !== '') options.passphrase = config.keyfilePassword;
  if (config.ca !== null) options.ca = config.ca;
  if (config.ciphers !== '') options.ciphers = config.ciphers;
  return options;
}

/**
 * What every TLS server of tsgi does around its handshakes: a failed one is logged, and a client
 * whose certificate does not verify under --cert-reqs optional is dropped. `accepted` gets every
 * other socket once its handshake is done (https servers parse it on their own).
 */
export function watchHandshakes(server: tls.Server, config: TlsConfig, log: AcceptorLog, accepted?: (socket: TLSSocket) => void): void {
  server.on('secureConnection', (socket: TLSSocket) => {
    if (!acceptClientCertificate(socket, config)) {
      log.info(`${socket.remoteAddress ?? ''}: client certificate refused: ${String(socket.authorizationError)}`);
      socket.destroy();
      return;
    }
    accepted?.(socket);
  });
  server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
    log.info(`${socket.remoteAddress ?? ''}: TLS handshake failed: ${error.message}`);
  });
}

/**
 * With --cert-reqs optional, a client may come without a certificate, but one it presents must
 * verify: Node's tls cannot say that by itself (rejectUnauthorized is all or nothing).
 */
function acceptClientCertificate(socket: TLSSocket, config: TlsConfig): boolean {
  if (!config.requestCert || config.certReqs !== 'optional' || socket.authorized) return true;
  const peer = socket.getPeerCertificate();
  return peer === null || Object.keys(peer).length === 0;
}

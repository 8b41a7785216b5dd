/**
 * Certificates for the links between an instance's nodes (replication, cluster bus, key moves). The
 * service keeps its own CA in `<dataDir>/tls/`; every instance gets a node certificate signed by it, used
 * by all of the instance's nodes as server and client certificate. Nodes require a peer certificate from
 * the CA (`tls-auth-clients yes`), so a process without one can neither join a cluster bus nor sync from
 * a master, and a node never hands its replication secret to a peer it has not verified.
 *
 * Rotation (`jcs-redis tls rotate`) makes a new CA generation; nodes trust a bundle of the current and the
 * previous CA while the engine re-issues every instance's certificate and applies it live. All file names
 * carry the generation, so a node's conf (and CONFIG GET) says which generation it runs with.
 */
import 'reflect-metadata'; // @peculiar/x509 resolves its parts through tsyringe, which needs it
import { webcrypto } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { PeerCertificate } from 'node:tls';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { writeFileOnce } from '../../write-file-once.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** The CA lives long; node certificates are re-issued well before they end (see NODE_RENEW_MS). */
const CA_DAYS = 3650;
const NODE_DAYS = 825;
/** A node certificate this close to its end is re-issued by the next repair. */
export const NODE_RENEW_MS = 30 * DAY_MS;

/** The files a node's conf names. */
export interface TlsFiles {
  generation: number;
  certFile: string;
  keyFile: string;
  /** The CAs a node trusts: the current one and, after a rotation, the previous one. */
  caFile: string;
}

export const tlsDir = (dataDir: string): string => join(dataDir, 'tls');
const caKeyFile = (dataDir: string, gen: number): string => join(tlsDir(dataDir), `ca-${gen}.key`);
const caCertFile = (dataDir: string, gen: number): string => join(tlsDir(dataDir), `ca-${gen}.crt`);
/** Key and certificate of one generation in one file: the one write that decides which CA a generation is. */
const caPairFile = (dataDir: string, gen: number): string => join(tlsDir(dataDir), `ca-${gen}.pair.pem`);
const bundleFile = (dataDir: string, gen: number): string => join(tlsDir(dataDir), `ca-bundle-${gen}.crt`);
const generationFile = (dataDir: string): string => join(tlsDir(dataDir), 'generation');
const instanceTlsDir = (instanceDir: string): string => join(instanceDir, 'tls');

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${b64.join('\n')}\n-----END ${label}-----\n`;
}

function fromPem(text: string): Buffer {
  return Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

async function readGeneration(dataDir: string): Promise<number | null> {
  const text = await readFile(generationFile(dataDir), 'utf8').catch(() => null);
  const n = Number(text?.trim());
  return Number.isInteger(n) && n > 0 ? n : null;
}

/**
 * The current generation, read at most once a second per data directory: every health check asks, and
 * a rotation (an operator command) may take that long to be seen.
 */
const generationSeen = new Map<string, { gen: number | null; atMs: number }>();
async function currentGeneration(dataDir: string): Promise<number | null> {
  const seen = generationSeen.get(dataDir);
  if (seen && seen.gen !== null && Date.now() - seen.atMs < 1_000) return seen.gen;
  const gen = await readGeneration(dataDir);
  generationSeen.set(dataDir, { gen, atMs: Date.now() });
  return gen;
}

async function newCa(dataDir: string, gen: number): Promise<void> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=jcs-redis internal CA ${gen}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + CA_DAYS * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  await mkdir(tlsDir(dataDir), { recursive: true, mode: 0o700 });
  // Processes starting at once on one data directory (or rotating at once) each make a CA: the pair file
  // is created once, whole, so exactly one key and its own certificate win, and every process writes the
  // key, certificate and bundle files from the winner's pair. (Writing the key and the certificate as two
  // races could pair one process's key with another's certificate.)
  await writeFileOnce(caPairFile(dataDir, gen), pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) + cert.toString('pem') + '\n');
  const pair = await readFile(caPairFile(dataDir, gen), 'utf8');
  const cut = pair.indexOf('-----BEGIN CERTIFICATE-----');
  if (cut < 0) throw new Error(`${caPairFile(dataDir, gen)} holds no certificate; remove ${tlsDir(dataDir)} only if no instance uses it yet`);
  // The same bytes whoever writes them: replacing is harmless, and repairs files a crash left out.
  await replaceFile(caKeyFile(dataDir, gen), pair.slice(0, cut));
  await replaceFile(caCertFile(dataDir, gen), pair.slice(cut));
  const previous = gen > 1 ? await readFile(caCertFile(dataDir, gen - 1), 'utf8').catch(() => '') : '';
  await replaceFile(bundleFile(dataDir, gen), pair.slice(cut) + previous);
}

function serial(): string {
  // Positive, 16 random bytes: unique enough that two certificates of one CA never share a serial.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

/** Creates the CA on first use; returns the current generation. */
export async function ensureCa(dataDir: string): Promise<number> {
  const gen = await readGeneration(dataDir);
  if (gen !== null) return gen;
  await newCa(dataDir, 1);
  await writeFileOnce(generationFile(dataDir), '1\n');
  return (await readGeneration(dataDir)) ?? 1;
}

/**
 * Starts a new CA generation (the operator's `jcs-redis tls rotate`). Nodes keep trusting the previous
 * CA through the bundle until their certificates are re-issued; the engine does that on its next pass.
 * Returns the new generation.
 */
export async function rotateCa(dataDir: string): Promise<number> {
  const gen = (await ensureCa(dataDir)) + 1;
  await newCa(dataDir, gen);
  await replaceFile(generationFile(dataDir), `${gen}\n`);
  generationSeen.delete(dataDir);
  return gen;
}

/** The files an instance's nodes should run with now (nothing is created). */
export async function currentTlsFiles(dataDir: string, instanceDir: string): Promise<TlsFiles> {
  const gen = await currentGeneration(dataDir);
  if (gen === null) throw new Error(`no CA in ${tlsDir(dataDir)}: the driver's init creates it`);
  const dir = instanceTlsDir(instanceDir);
  return { generation: gen, certFile: join(dir, `node-${gen}.crt`), keyFile: join(dir, `node-${gen}.key`), caFile: bundleFile(dataDir, gen) };
}

/**
 * Issues the instance's node certificate for the current CA generation when it has none (or one close
 * to its end), and removes certificates of older generations that no node names any more. Returns the
 * files to use.
 */
export async function ensureInstanceCert(dataDir: string, instanceDir: string, instanceId: string): Promise<TlsFiles> {
  const files = await currentTlsFiles(dataDir, instanceDir);
  const existing = await readFile(files.certFile, 'utf8').catch(() => null);
  if (existing !== null && (await readFile(files.keyFile, 'utf8').catch(() => null)) !== null && certEndsAfter(existing, Date.now() + NODE_RENEW_MS)) {
    return files;
  }
  await mkdir(instanceTlsDir(instanceDir), { recursive: true, mode: 0o700 });
  const caKey = await webcrypto.subtle.importKey('pkcs8', fromPem(await readFile(caKeyFile(dataDir, files.generation), 'utf8')), ALG, false, ['sign']);
  const ca = new x509.X509Certificate(await readFile(caCertFile(dataDir, files.generation), 'utf8'));
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${instanceId}`,
    issuer: ca.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + NODE_DAYS * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  // Key first: a cert file is only ever next to its key. A renewal replaces both (same names).
  const keyPem = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  await replaceFile(files.keyFile, keyPem);
  await replaceFile(files.certFile, cert.toString('pem') + '\n');
  return files;
}

async function replaceFile(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${webcrypto.getRandomValues(new Uint32Array(1))[0]}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
}

function certEndsAfter(certPem: string, ms: number): boolean {
  try {
    return new x509.X509Certificate(certPem).notAfter.getTime() > ms;
  } catch {
    return false;
  }
}

/** Removes node certificates of generations other than `keep` (after every node switched to it). */
export async function removeOldInstanceCerts(instanceDir: string, keep: number): Promise<void> {
  const dir = instanceTlsDir(instanceDir);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = /^node-(\d+)\.(crt|key)$/.exec(name);
    if (m && Number(m[1]) !== keep) await rm(join(dir, name), { force: true });
  }
}

/** TLS options for a control-plane client that talks to the instance's internal ports (type change copy). */
export async function clientTlsOptions(
  files: TlsFiles,
  instanceId: string,
): Promise<{ ca: string; cert: string; key: string; checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined }> {
  const [ca, cert, key] = await Promise.all([readFile(files.caFile, 'utf8'), readFile(files.certFile, 'utf8'), readFile(files.keyFile, 'utf8')]);
  return {
    ca,
    cert,
    key,
    // Nodes are reached by address, and certificates name the instance, not a host: the peer must hold
    // this instance's certificate (issued by our CA, which the TLS layer checks).
    checkServerIdentity: (_host, peer) => (peer.subject?.CN === instanceId ? undefined : new Error(`peer certificate is not instance ${instanceId}'s`)),
  };
}

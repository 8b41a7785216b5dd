import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile, link, unlink, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TlsFiles } from './tls-material.ts';

/** Generated secrets of an instance's internal users. Stored in the instance directory, mode 0600. */
export interface InternalSecrets {
  replicationPassword: string;
  adminPassword: string;
}

/**
 * Everything the driver uses to build and reach an instance's nodes: its id, its internal secrets and the
 * TLS files its nodes run with.
 */
export interface InstanceCredentials extends InternalSecrets {
  instanceId: string;
  tls: TlsFiles;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function secretsFile(instanceDir: string): string {
  return join(instanceDir, 'internal-secrets.json');
}

/** Reads the instance's internal secrets, or null when the file does not exist. */
export async function readInternalSecrets(instanceDir: string): Promise<InternalSecrets | null> {
  let text: string;
  try {
    text = await readFile(secretsFile(instanceDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<InternalSecrets>;
  if (typeof parsed.replicationPassword !== 'string' || typeof parsed.adminPassword !== 'string') {
    throw new Error(`${secretsFile(instanceDir)} is malformed`);
  }
  return { replicationPassword: parsed.replicationPassword, adminPassword: parsed.adminPassword };
}

/**
 * Returns the instance's internal secrets, generating them on first use. Written to a temp file and
 * hard-linked into place: a crash never leaves a half-written file, and when two callers race the
 * link fails for the second one, which then reads the winner's secrets (never overwrites them).
 */
export async function loadOrCreateInternalSecrets(instanceDir: string): Promise<InternalSecrets> {
  const existing = await readInternalSecrets(instanceDir);
  if (existing) return existing;
  await mkdir(instanceDir, { recursive: true, mode: 0o700 });
  const secrets: InternalSecrets = {
    replicationPassword: randomBytes(32).toString('hex'),
    adminPassword: randomBytes(32).toString('hex'),
  };
  const tmp = `${secretsFile(instanceDir)}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  try {
    await link(tmp, secretsFile(instanceDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const winner = await readInternalSecrets(instanceDir);
    if (!winner) throw err;
    return winner;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return secrets;
}

import { createHash, randomBytes } from 'node:crypto';
import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TlsFiles } from './tls-material.ts';
import { writeFileOnce } from '../../write-file-once.ts';

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
 * Returns the instance's internal secrets, generating them on first use. Created whole or not at all
 * (writeFileOnce): when two callers race, the second reads the winner's secrets (never overwrites them).
 */
export async function loadOrCreateInternalSecrets(instanceDir: string): Promise<InternalSecrets> {
  const existing = await readInternalSecrets(instanceDir);
  if (existing) return existing;
  await mkdir(instanceDir, { recursive: true, mode: 0o700 });
  const secrets: InternalSecrets = {
    replicationPassword: randomBytes(32).toString('hex'),
    adminPassword: randomBytes(32).toString('hex'),
  };
  if (await writeFileOnce(secretsFile(instanceDir), JSON.stringify(secrets, null, 2) + '\n')) return secrets;
  const winner = await readInternalSecrets(instanceDir);
  if (!winner) throw new Error(`${secretsFile(instanceDir)} was taken but cannot be read`);
  return winner;
}

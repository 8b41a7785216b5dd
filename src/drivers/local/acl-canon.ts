/**
 * Redis does not print ACL rules as they were given: it re-derives them from its command bitmap
 * (`+@all -config …` comes back as `+@all -@admin +replconf …`), and the form depends on the Redis
 * version. To tell whether a node's users are exactly the ones the control plane wrote, the driver asks
 * the same redis-server binary, once at start, how it prints them: a scratch redis-server with no TCP
 * port, on a unix socket in a private temp directory, loads the rules with placeholder password hashes
 * and answers ACL LIST. An instance's expected ACL LIST is that text with its real hashes put in.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ADMIN_USER, aclUserRules, REPLICATION_USER } from './acl-rules.ts';
import { isSocketOpen, POLL_MS, sleep } from './redis-node.ts';

/** Placeholders that no SHA-256 of a real password is: the printed rules carry them back. */
const PLACEHOLDER = { tenant: '0'.repeat(63) + '1', replication: '0'.repeat(63) + '2', admin: '0'.repeat(63) + '3' };
/** Logs in to the scratch server (the real users' passwords are placeholders nobody knows). */
const PROBE_READER = 'jcs-probe-reader';

/**
 * The ACL LIST lines an instance's nodes must print, as user name → the line's tokens. Redis prints the
 * rules of a user in the order of a hash table seeded per process, so lines are compared as token sets.
 */
export type AclCanon = (passwordSha256: string | null, internal: { replicationSha256: string; adminSha256: string }) => Map<string, ReadonlySet<string>>;

/** Starts a scratch redis-server, reads how it prints the rules, stops it. Takes ~20 ms. */
export async function learnAclCanon(redisServer: string, signal: AbortSignal): Promise<AclCanon> {
  const dir = await mkdtemp(join(tmpdir(), 'jcs-acl-'));
  const socket = join(dir, 's.sock');
  const rules = aclUserRules(PLACEHOLDER.tenant, { replicationSha256: PLACEHOLDER.replication, adminSha256: PLACEHOLDER.admin });
  const conf = [
    'port 0',
    `unixsocket ${socket}`,
    'unixsocketperm 700',
    'save ""',
    'appendonly no',
    `dir ${dir}`,
    ...[...rules].map(([name, r]) => `user ${name} ${r}`),
    `user ${PROBE_READER} on nopass +acl|list`,
  ];
  await writeFile(join(dir, 'redis.conf'), conf.join('\n') + '\n', { mode: 0o600 });
  const child = spawn(redisServer, [join(dir, 'redis.conf')], { stdio: 'ignore', cwd: dir });
  let client: Redis | null = null;
  try {
    const deadline = Date.now() + 5_000;
    while (!(await isSocketOpen(socket))) {
      if (child.exitCode !== null) throw new Error(`${redisServer} exited with code ${child.exitCode} when started (scratch server that prints ACL rules)`);
      if (Date.now() > deadline) throw new Error(`${redisServer} did not open its socket within 5 s (scratch server that prints ACL rules)`);
      await sleep(POLL_MS, signal);
    }
    client = new Redis({ path: socket, username: PROBE_READER, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await client.connect();
    const printed = new Map(((await client.call('ACL', 'LIST')) as unknown[]).map(String).map((line) => [aclUserName(line), aclTokens(line)]));
    const canon = (name: string): ReadonlySet<string> => {
      const tokens = printed.get(name);
      if (tokens === undefined) throw new Error(`the scratch redis-server did not print ACL user ${name}`);
      return tokens;
    };
    const swap = (tokens: ReadonlySet<string>, from: string, to: string): ReadonlySet<string> =>
      new Set([...tokens].map((t) => (t === from ? to : t)));
    const tenant = canon('default');
    const replication = canon(REPLICATION_USER);
    const admin = canon(ADMIN_USER);
    return (passwordSha256, internal) =>
      new Map([
        ['default', swap(tenant, `#${PLACEHOLDER.tenant}`, passwordSha256 === null ? 'nopass' : `#${passwordSha256}`)],
        [REPLICATION_USER, swap(replication, `#${PLACEHOLDER.replication}`, `#${internal.replicationSha256}`)],
        [ADMIN_USER, swap(admin, `#${PLACEHOLDER.admin}`, `#${internal.adminSha256}`)],
      ]);
  } finally {
    client?.disconnect();
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

/** The user an ACL LIST line is about. */
export function aclUserName(line: string): string {
  return line.split(' ')[1] ?? '';
}

/** The rule tokens of an ACL LIST line (after `user <name>`). */
export function aclTokens(line: string): ReadonlySet<string> {
  return new Set(line.split(' ').slice(2).filter((t) => t !== ''));
}

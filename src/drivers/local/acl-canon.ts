/**
 * Redis does not print ACL rules as they were given: it re-derives them from its command bitmap
 * (`+@all -config …` comes back as `+@all -@admin +replconf …`), and the form depends on the Redis
 * version. To tell whether a node's users are exactly the ones the control plane wrote, the driver asks
 * the same redis-server binary how it prints them: a scratch redis-server with no TCP port, on a unix
 * socket in a private temp directory, loads the rules with a placeholder password hash and answers
 * ACL LIST. An instance's expected ACL LIST is that text with its real hashes put in.
 *
 * The rules of a user depend on what its tenant set (disabled commands, read-only accounts), so each
 * distinct rule text ("template", the hash replaced by the placeholder) is learnt once, when first
 * needed, and kept: there are few (the choices of disabled commands times three kinds of user).
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { aclUserRules } from './acl-rules.ts';
import { isSocketOpen, POLL_MS, sleep } from './redis-node.ts';
import { makeScratchDir, sweepScratchDirs } from './scratch-dir.ts';
import { spawnScratch } from './spawn-scratch.ts';

/** A hash that no SHA-256 of a real password is: the printed rules carry it back. */
const PLACEHOLDER = '0'.repeat(63) + '1';
/** Logs in to the scratch server (the learnt users' passwords are placeholders nobody knows). */
const PROBE_READER = 'jcs-probe-reader';
/** How long one scratch server may take to start and answer. */
const SCRATCH_TIMEOUT_MS = 5_000;
/** Scratch directories are `<tmp>/jcs-acl-<service pid>-XXXXXX` (scratch-dir.ts). */
const DIR_PREFIX = 'jcs-acl-';

/**
 * The ACL LIST lines a node must print for `rules` (user name → rules after `user <name>`), as user
 * name → the line's tokens. Redis prints the rules of a user in the order of a hash table seeded per
 * process, so lines are compared as token sets.
 */
export type AclCanon = (rules: ReadonlyMap<string, string>) => Promise<Map<string, ReadonlySet<string>>>;

interface Template {
  name: string;
  /** `default` is learnt as the default user (it exists before the conf is read); others as new users. */
  key: string;
  rules: string;
  /** The real `#<sha256>` token, or null for `nopass`. */
  hash: string | null;
}

function templateOf(name: string, rules: string): Template {
  const hash = /#[0-9a-f]{64}/.exec(rules)?.[0] ?? null;
  const generic = hash === null ? rules : rules.replace(hash, `#${PLACEHOLDER}`);
  return { name, key: `${name === 'default' ? 'default' : 'user'}\n${generic}`, rules: generic, hash };
}

/** Starts a scratch redis-server with one user per template, reads how it prints them, stops it. ~20 ms. */
async function learnTemplates(redisServer: string, templates: readonly Template[], signal: AbortSignal): Promise<Map<string, ReadonlySet<string>>> {
  const dir = await makeScratchDir(DIR_PREFIX);
  const socket = join(dir, 's.sock');
  const names = templates.map((t, i) => (t.key.startsWith('default\n') ? 'default' : `t${i}`));
  const conf = [
    'port 0',
    `unixsocket ${socket}`,
    'unixsocketperm 700',
    'save ""',
    'appendonly no',
    `dir ${dir}`,
    ...templates.map((t, i) => `user ${names[i]} ${t.rules}`),
    `user ${PROBE_READER} on nopass +acl|list`,
  ];
  await writeFile(join(dir, 'redis.conf'), conf.join('\n') + '\n', { mode: 0o600 });
  // Dies with the service: a `kill -9` while learning must not leave an unowned redis-server behind.
  const child = spawnScratch(redisServer, [join(dir, 'redis.conf')], { stdio: 'ignore', cwd: dir });
  let client: Redis | null = null;
  try {
    const deadline = Date.now() + SCRATCH_TIMEOUT_MS;
    while (!(await isSocketOpen(socket))) {
      if (child.exitCode !== null) throw new Error(`${redisServer} exited with code ${child.exitCode} when started (scratch server that prints ACL rules)`);
      if (Date.now() > deadline) throw new Error(`${redisServer} did not open its socket within 5 s (scratch server that prints ACL rules)`);
      await sleep(POLL_MS, signal);
    }
    client = new Redis({ path: socket, username: PROBE_READER, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await client.connect();
    const printed = new Map(((await client.call('ACL', 'LIST')) as unknown[]).map(String).map((line) => [aclUserName(line), aclTokens(line)]));
    const learnt = new Map<string, ReadonlySet<string>>();
    templates.forEach((t, i) => {
      const tokens = printed.get(names[i]!);
      if (tokens === undefined) throw new Error(`the scratch redis-server did not print ACL user ${names[i]}`);
      learnt.set(t.key, tokens);
    });
    return learnt;
  } finally {
    client?.disconnect();
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

/** An AclCanon for `redisServer` that learns each template when first asked for it. */
export function createAclCanon(redisServer: string): AclCanon {
  const learnt = new Map<string, Promise<ReadonlySet<string>>>();
  return async (rules) => {
    const templates = [...rules].map(([name, r]) => templateOf(name, r));
    const missing = [...new Map(templates.filter((t) => !learnt.has(t.key)).map((t) => [t.key, t])).values()];
    if (missing.length > 0) {
      const batch = learnTemplates(redisServer, missing, AbortSignal.timeout(SCRATCH_TIMEOUT_MS));
      for (const t of missing) {
        const one = batch.then((m) => m.get(t.key)!);
        // Marked handled here; whoever waits on it still sees the failure. A failed batch is forgotten,
        // so the next check tries again.
        one.catch(() => learnt.delete(t.key));
        learnt.set(t.key, one);
      }
    }
    const out = new Map<string, ReadonlySet<string>>();
    for (const t of templates) {
      const tokens = await learnt.get(t.key)!;
      out.set(t.name, t.hash === null ? tokens : new Set([...tokens].map((x) => (x === `#${PLACEHOLDER}` ? t.hash! : x))));
    }
    return out;
  };
}

/**
 * An AclCanon with the rules every instance has learnt up front: a redis-server that cannot print them
 * fails the driver's init, not the first health check.
 */
export async function learnAclCanon(redisServer: string, signal: AbortSignal): Promise<AclCanon> {
  signal.throwIfAborted();
  // Directories left by services that were killed while learning (their scratch server died with them).
  await sweepScratchDirs(DIR_PREFIX);
  const canon = createAclCanon(redisServer);
  await canon(aclUserRules(PLACEHOLDER.replace(/1$/, '2'), { replicationSha256: PLACEHOLDER.replace(/1$/, '3'), adminSha256: PLACEHOLDER.replace(/1$/, '4') }));
  return canon;
}

/** The user an ACL LIST line is about. */
export function aclUserName(line: string): string {
  return line.split(' ')[1] ?? '';
}

/** The rule tokens of an ACL LIST line (after `user <name>`). */
export function aclTokens(line: string): ReadonlySet<string> {
  return new Set(line.split(' ').slice(2).filter((t) => t !== ''));
}

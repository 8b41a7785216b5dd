import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aclUserLines, customerCommandRules, passwordRule } from '../../src/drivers/local/acl-rules.ts';
import { capMaxClients, readOpenFilesHardLimit } from '../../src/drivers/local/fd-limit.ts';
import { nodePaths, instanceDir } from '../../src/drivers/local/instance-paths.ts';
import { connectHost, renderNodeConf, type NodeConf } from '../../src/drivers/local/node-conf.ts';
import { sha256Hex } from '../../src/drivers/local/internal-secrets.ts';

const dir = await mkdtemp(join(tmpdir(), 'jcs-node-conf-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const base: NodeConf = {
  port: 17990,
  tlsPort: 28990,
  busPort: null,
  tls: { generation: 1, certFile: '/data dir/instances/redis-abc/tls/node-1.crt', keyFile: '/data dir/instances/redis-abc/tls/node-1.key', caFile: '/data dir/tls/ca-bundle-1.crt' },
  bindHost: '127.0.0.1',
  paths: nodePaths('/data dir', 'redis-abc', 17990),
  replicaOf: null,
  databases: 16,
  maxmemoryBytes: 64 * 1024 * 1024,
  maxmemoryPolicy: 'volatile-lru',
  maxClients: 1000,
  passwordSha256: sha256Hex('tenant-password'),
  secrets: { replicationPassword: 'r'.repeat(64), adminPassword: 'a'.repeat(64) },
};

describe('node conf', () => {
  it('carries the class settings, persistence, quoted paths and only hashes of user passwords', () => {
    const text = renderNodeConf(base);
    expect(text).toMatch(/^maxmemory 67108864$/m);
    expect(text).toMatch(/^maxclients 1000$/m);
    expect(text).toMatch(/^appendonly yes$/m);
    expect(text).toMatch(/^repl-diskless-sync-delay 0$/m);
    expect(text).toContain('dir "/data dir/instances/redis-abc/17990"');
    expect(text).not.toMatch(/^replicaof/m);
    expect(text).toContain(`user default on #${sha256Hex('tenant-password')} sanitize-payload ~* &* ${customerCommandRules()}`);
    expect(text).toContain(`user jcs-admin on #${sha256Hex('a'.repeat(64))} sanitize-payload ~* &* +@all`);
    expect(text).not.toContain('tenant-password');
    expect(text).not.toContain('a'.repeat(64)); // the admin secret itself is only in internal-secrets.json
  });

  it('makes a replica of the master on a loopback address, even for a wildcard bind', () => {
    const text = renderNodeConf({ ...base, bindHost: '0.0.0.0', replicaOf: 17991 });
    expect(text).toMatch(/^replicaof 127\.0\.0\.1 17991$/m);
    expect(connectHost('::')).toBe('::1');
    expect(renderNodeConf({ ...base, serveStaleData: false })).toMatch(/^replica-serve-stale-data no$/m);
  });

  it('renders nopass and refuses anything that is not a SHA-256 hex', () => {
    expect(aclUserLines(null, { replicationSha256: 'x', adminSha256: 'y' })[0]).toMatch(/^user default on nopass sanitize-payload ~\* &\* \+@all /);
    expect(() => passwordRule('not-a-hash')).toThrow(/64 lowercase hex/);
    expect(() => passwordRule(`${'a'.repeat(64)} +@all`)).toThrow();
  });

  it('refuses values that would inject conf lines', () => {
    expect(() => renderNodeConf({ ...base, maxmemoryPolicy: 'allkeys-lru\nrename-command CONFIG ""' })).toThrow(/maxmemory-policy/);
    expect(() => renderNodeConf({ ...base, paths: nodePaths('/x\nenable-debug-command yes', 'redis-abc', 1) })).toThrow(/line breaks/);
    expect(() => renderNodeConf({ ...base, maxClients: 1.5 })).toThrow(/maxclients/);
    expect(() => instanceDir('/data', '../../etc')).toThrow(/not a safe directory name/);
  });

  it('denies topology and admin commands to the tenant, and re-allows ACL WHOAMI', () => {
    const rules = customerCommandRules().split(' ');
    for (const denied of ['-config', '-acl', '-replicaof', '-slaveof', '-shutdown', '-debug', '-module', '-failover', '-sync', '-psync']) {
      expect(rules).toContain(denied);
    }
    expect(rules.indexOf('+acl|whoami')).toBeGreaterThan(rules.indexOf('-acl'));
    expect(rules).toContain('-cluster|meet');
    expect(rules).not.toContain('-cluster|info');
  });
});

describe('fd limit', () => {
  it('reads the hard open-files limit and caps maxclients 32 below it', async () => {
    const limits = join(dir, 'limits');
    await writeFile(
      limits,
      'Limit                     Soft Limit           Hard Limit           Units     \n' +
        'Max open files            1024                 4096                 files     \n',
    );
    expect(await readOpenFilesHardLimit(limits)).toBe(4096);
    expect(capMaxClients(10_000, 4096)).toBe(4064);
    expect(capMaxClients(100, 4096)).toBe(100);
    expect(capMaxClients(100, null)).toBe(100);
    await writeFile(limits, 'Max open files            unlimited            unlimited            files\n');
    expect(await readOpenFilesHardLimit(limits)).toBeNull();
    expect(await readOpenFilesHardLimit(join(dir, 'missing'))).toBeNull();
    expect(await readFile(limits, 'utf8')).toContain('unlimited');
  });
});

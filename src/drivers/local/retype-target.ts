/**
 * Where a type change writes the keys it copies: the new master (master-slave), the new cluster through
 * slot routing (native-cluster), or each proxy-cluster shard's master as twemproxy's ring names it (the
 * shards directly, as admin: the tenant's password never goes through here).
 */
import { Cluster, type Redis } from 'ioredis';
import { ADMIN_USER } from './acl-rules.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import { KetamaRing } from './ketama-ring.ts';
import type { LocalContext } from './local-context.ts';
import type { LocalSpec } from './local-spec.ts';
import { tlsPortOf } from './topology-handler.ts';
import { clientTlsOptions } from './tls-material.ts';

export interface RetypeTarget {
  /** RESTORE … REPLACE ABSTTL (`absTtl` 0: no expiry). */
  restore(key: Buffer, absTtl: number, payload: Buffer): Promise<unknown>;
  /** The key is gone at the source: it goes here too. */
  remove(key: Buffer): Promise<unknown>;
  /** Empties the new topology (a copy started over must not keep keys deleted at the source meanwhile). */
  flush(): Promise<void>;
  close(): void;
}

function fromClients(masters: Redis[], ownerOf: (key: Buffer) => number): RetypeTarget {
  return {
    restore: (key, ttl, payload) => masters[ownerOf(key)]!.restore(key, ttl, payload, 'REPLACE', 'ABSTTL'),
    remove: (key) => masters[ownerOf(key)]!.unlink(key),
    flush: async () => void (await Promise.all(masters.map((m) => m.flushall()))),
    close: () => undefined,
  };
}

export async function openRetypeTarget(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials): Promise<RetypeTarget> {
  if (spec.topology === 'master-slave') return fromClients([await ctx.pool.get(spec.shards[0]!.master, secrets)], () => 0);
  if (spec.topology === 'cluster') {
    const ring = new KetamaRing(spec.shards.length);
    const masters = await Promise.all(spec.shards.map((s) => ctx.pool.get(s.master, secrets)));
    return fromClients(masters, (key) => ring.shardOf(key));
  }
  // Through the nodes' TLS ports, with the instance's certificate: over TLS the cluster names its TLS
  // ports in redirections, so the admin secret only ever goes to peers that proved they are this instance.
  const tls = await clientTlsOptions(secrets.tls, spec.id);
  const cluster = new Cluster([{ host: ctx.host, port: tlsPortOf(spec, spec.shards[0]!.master) }], {
    redisOptions: { username: ADMIN_USER, password: secrets.adminPassword, connectionName: 'jcs-control-plane', tls },
    enableAutoPipelining: true,
    slotsRefreshTimeout: 2_000,
  });
  const masters = await Promise.all(spec.shards.map((s) => ctx.pool.get(s.master, secrets)));
  return {
    restore: (key, ttl, payload) => cluster.restore(key, ttl, payload, 'REPLACE', 'ABSTTL'),
    remove: (key) => cluster.unlink(key),
    flush: async () => void (await Promise.all(masters.map((m) => m.flushall()))),
    close: () => cluster.disconnect(),
  };
}

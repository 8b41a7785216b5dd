import { mkdir, readdir, rm, stat, writeFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import {
  PermanentDriverError,
  type AnalysisScanResult,
  type ChangeProgress,
  type DriverCapabilities,
  type InstanceTopology,
  type PurgeFilter,
  type PurgeScanResult,
} from '../driver.ts';
import { type LocalObservation, type LocalSpec } from './local-spec.ts';
import type { ShardSnapshot } from '../driver.ts';
import { snapshotShard } from './rdb-snapshot.ts';
import { openAfterRestore, replaceData } from './rdb-restore.ts';
import type { DriverLogger } from '../driver-logger.ts';
import { learnAclCanon } from './acl-canon.ts';
import { AdminPool } from './admin-pool.ts';
import { deleteOnNode, scanNode } from './key-purge.ts';
import { analyzeBatch, commandStatsOf } from './key-analysis.ts';
import { DEFAULT_HUNG_NODE_MS, HungNodes } from './hung-nodes.ts';
import { instanceDir, instancesRoot, MAX_SOCKET_PATH, nodePaths } from './instance-paths.ts';
import { loadOrCreateInternalSecrets, readInternalSecrets, type InstanceCredentials, type InternalSecrets } from './internal-secrets.ts';
import { readOpenFilesHardLimit } from './fd-limit.ts';
import { nodeCgroup, nodeCgroupRef, nodeSettings, type LocalContext } from './local-context.ts';
import { listNodeCgroups, openMemoryCgroups, readNodeCgroup, removeNodeCgroup, setNodeCgroupLimit } from './memory-cgroup.ts';
import { masterSlave } from './master-slave.ts';
import { nativeCluster } from './native-cluster.ts';
import { withTypeChange } from './cluster-retype.ts';
import { proxyCluster, stopAllProxies } from './proxy-cluster.ts';
import { connectHost, writeNodeConf } from './node-conf.ts';
import { applyNodePassword, applyNodeSettings } from './node-state.ts';
import { readNodeReport, type NodeReport } from './node-diagnostics.ts';
import { TIMED_OUT, within } from './inspect-node.ts';
import { downNode } from './node-observation.ts';
import { isSocketOpen, stopNode } from './redis-node.ts';
import { currentTlsFiles, ensureCa, ensureInstanceCert, removeOldInstanceCerts } from './tls-material.ts';
import { checkRedisBinary } from './redis-binary.ts';
import { plannedNodeConf, type HandlerProgress, type TopologyHandler } from './topology-handler.ts';
import { createNftFirewall } from './firewall/nft-firewall.ts';

export interface LocalNodesOptions {
  /** Root of instance data; instances live under `<dataDir>/instances/<id>/`. */
  dataDir: string;
  /** Path or name (looked up on PATH) of redis-server >= 7.0. Default `redis-server`. */
  redisServer?: string;
  /** Path or name (looked up on PATH) of twemproxy for proxy clusters. Default `nutcracker`. */
  nutcracker?: string;
  /** Address every node binds to. Default `127.0.0.1`. */
  bindHost?: string;
  /** nft binary that enforces IP white lists (firewall/nft-firewall.ts). Default `nft` on PATH. */
  nft?: string;
  /** The nftables table of the white lists; `own: true` removes it on close (NftFirewallOptions.table). Default: the shared `jcs_redis`, kept. */
  firewallTable?: { name: string; own: boolean };
  logger: DriverLogger;
  /** Start each node in its own memory cgroup when the host allows it. Default true (`JCS_MEMORY_CGROUPS`). */
  memoryCgroups?: boolean;
  /**
   * A node that accepts connections but has not answered for this long (ms) is fenced (SIGKILL, only our
   * verified process) and repaired like a node that died; 0: never fenced, only reported. Default 5000
   * (`JCS_HUNG_NODE_MS`). See hung-nodes.ts and docs/local-driver.md.
   */
  hungNodeMs?: number;
  /** How long one call of a type change copies keys before it answers progressing, ms. Default 10000 (`JCS_RETYPE_STEP_MS`). */
  retypeStepMs?: number;
  /** redis-check-rdb, which checks every backup file (Debian's redis-tools). Default `redis-check-rdb` on PATH (`JCS_REDIS_CHECK_RDB`). */
  redisCheckRdb?: string;
}

/** How long one node may take to answer a diagnostics read before it is left out of the report. */
const INSPECT_NODE_MS = 2_000;

/** Topology handlers by topology. */
const HANDLERS: Partial<Record<InstanceTopology, TopologyHandler>> = {
  'master-slave': withTypeChange(masterSlave),
  'native-cluster': withTypeChange(nativeCluster),
  cluster: withTypeChange(proxyCluster),
};

/**
 * The nodes of the local driver: every node is a redis-server process on this host, started detached so
 * it outlives the control plane, on the ports the spec names. local-driver.ts puts the driver seam on
 * top (ports reserved per logical node); tests of the local topology code use this directly.
 */
export interface LocalNodes {
  readonly name: string;
  readonly topologies: readonly InstanceTopology[];
  /** What this host can enforce; filled by `init`. */
  readonly capabilities: DriverCapabilities;
  init(signal: AbortSignal): Promise<void>;
  /** Done, or a step that is under way (a long data move): call again. */
  ensurePresent(spec: LocalSpec, signal: AbortSignal): Promise<void | HandlerProgress>;
  ensureAbsent(instanceId: string, signal: AbortSignal): Promise<void>;
  observe(spec: LocalSpec, signal: AbortSignal): Promise<LocalObservation>;
  applySettings(spec: LocalSpec, signal: AbortSignal): Promise<void>;
  setPassword(spec: LocalSpec, signal: AbortSignal): Promise<void>;
  applyIpWhiteList(spec: LocalSpec, signal: AbortSignal): Promise<void>;
  /** See Driver.purgeScan; `shard` indexes `spec.shards`. */
  purgeScan(spec: LocalSpec, shard: number, cursor: string | null, filter: PurgeFilter, count: number, signal: AbortSignal): Promise<PurgeScanResult>;
  /** See Driver.purgeDelete. */
  purgeDelete(spec: LocalSpec, shard: number, keys: readonly string[], filter: PurgeFilter, signal: AbortSignal): Promise<{ deleted: number; absent: number }>;
  /** See Driver.analysisScan. */
  analysisScan(spec: LocalSpec, shard: number, cursor: string | null, count: number, opts: { frequency: boolean }, signal: AbortSignal): Promise<AnalysisScanResult>;
  /** See Driver.commandStats. */
  commandStats(spec: LocalSpec, signal: AbortSignal): Promise<Array<{ name: string; calls: number; usec: number }>>;
  /** See Driver.changeProgress. */
  changeProgress(instanceId: string): ChangeProgress | null;
  /** See Driver.inspectNodes: each answering node's report, by client port. */
  inspect(spec: LocalSpec, signal: AbortSignal): Promise<Map<number, NodeReport>>;
  /** See Driver.snapshotShard; `shard` indexes `spec.shards`. */
  snapshotShard(spec: LocalSpec, shard: number, dest: string, signal: AbortSignal): Promise<ShardSnapshot>;
  /** See Driver.replaceData. */
  replaceData(spec: LocalSpec, files: readonly string[], signal: AbortSignal): Promise<void>;
  /** See Driver.openAfterRestore. */
  openAfterRestore(spec: LocalSpec, signal: AbortSignal): Promise<void>;
  /** See Driver.watch: a node whose control connection closed by itself. */
  watch(listener: (instanceId: string) => void): () => void;
  close(): Promise<void>;
}

export function createLocalNodes(opts: LocalNodesOptions): LocalNodes {
  const bindHost = opts.bindHost ?? '127.0.0.1';
  const host = connectHost(bindHost);
  const ctx: LocalContext = {
    dataDir: opts.dataDir,
    redisServer: opts.redisServer ?? 'redis-server',
    nutcracker: opts.nutcracker ?? 'nutcracker',
    bindHost,
    host,
    logger: opts.logger,
    pool: new AdminPool(opts.dataDir, opts.logger),
    hung: new HungNodes(opts.hungNodeMs ?? DEFAULT_HUNG_NODE_MS),
    fdHardLimit: null,
    aclCanon: () => {
      throw new Error('the local driver is not initialised');
    },
    cgroups: null,
    progress: new Map(),
    proxyReshards: new Map(),
    retypeStepMs: opts.retypeStepMs ?? 10_000,
    restoreMarkers: new Map(),
  };
  // IP white lists. No source is trusted: the control plane reaches nodes through their unix sockets and
  // nodes reach each other on their TLS ports, so a local process is filtered like anyone else.
  const checkRdbBinary = opts.redisCheckRdb ?? 'redis-check-rdb';
  const firewall = createNftFirewall({ nft: opts.nft ?? 'nft', logger: opts.logger, trustedSources: [], table: opts.firewallTable });

  function handler(spec: LocalSpec): TopologyHandler {
    const h = HANDLERS[spec.topology];
    if (!h) throw new PermanentDriverError(`the local driver cannot build topology ${spec.topology}`);
    return h;
  }

  /**
   * The instance's secrets and current TLS files; null when nothing was ever created here. The secrets
   * never change once written, so they are read from disk once per instance, not at every health check.
   */
  const knownSecrets = new Map<string, InternalSecrets>();
  async function credentialsOf(instanceId: string): Promise<InstanceCredentials | null> {
    const dir = instanceDir(ctx.dataDir, instanceId);
    let secrets = knownSecrets.get(instanceId) ?? null;
    if (!secrets) {
      secrets = await readInternalSecrets(dir);
      if (!secrets) return null;
      knownSecrets.set(instanceId, secrets);
    }
    return { ...secrets, instanceId, tls: await currentTlsFiles(ctx.dataDir, dir) };
  }

  async function secretsFor(spec: LocalSpec): Promise<InstanceCredentials> {
    const creds = await credentialsOf(spec.id);
    if (!creds) throw new Error(`instance ${spec.id} has no internal secrets on this host: run ensurePresent first`);
    return creds;
  }

  /**
   * Rewrites every node's conf, then applies a live change on every node. Conf first: a node that
   * restarts after this point comes back with the new value. Nodes that are down get the conf only
   * and are reported, so the caller knows the change is not live everywhere yet.
   */
  async function applyEverywhere(
    spec: LocalSpec,
    what: string,
    apply: (client: Awaited<ReturnType<AdminPool['get']>>) => Promise<void>,
  ): Promise<void> {
    const h = handler(spec);
    const secrets = await secretsFor(spec);
    const nodes = h.plan(spec);
    await Promise.all(nodes.map((n) => writeNodeConf(plannedNodeConf(ctx, spec, secrets, n))));
    const failures: string[] = [];
    await Promise.all(
      nodes.map(async (n) => {
        try {
          await apply(await ctx.pool.get(n.port, secrets));
        } catch (err) {
          failures.push(`port ${n.port}: ${(err as Error).message}`);
        }
      }),
    );
    if (failures.length > 0) {
      throw new Error(`${what} of ${spec.id} is in the conf files but not live on ${failures.join('; ')}`);
    }
  }

  /** The shard's master as it is now (after a failover, the node planned as its replica), with its admin connection. */
  async function shardMaster(spec: LocalSpec, shard: number): Promise<{ port: number; client: Awaited<ReturnType<AdminPool['get']>> }> {
    const ports = spec.shards[shard];
    if (!ports) throw new PermanentDriverError(`instance ${spec.id} has no shard ${shard}`);
    const secrets = await secretsFor(spec);
    for (const port of [ports.master, ports.replica]) {
      const client = await ctx.pool.get(port, secrets).catch(() => null);
      const role = client ? ((await client.call('ROLE').catch(() => null)) as unknown[] | null) : null;
      if (client && role?.[0] === 'master') return { port, client };
    }
    throw new Error(`shard ${shard} of ${spec.id} has no reachable master`);
  }

  /** The shard's replica when it is linked to its master, else null. */
  async function linkedReplica(spec: LocalSpec, shard: number): Promise<{ port: number; client: Awaited<ReturnType<AdminPool['get']>> } | null> {
    const ports = spec.shards[shard];
    if (!ports) return null;
    const secrets = await secretsFor(spec);
    for (const port of [ports.replica, ports.master]) {
      const client = await ctx.pool.get(port, secrets).catch(() => null);
      const role = client ? ((await client.call('ROLE').catch(() => null)) as unknown[] | null) : null;
      if (client && role?.[0] === 'slave' && role[3] === 'connected') return { port, client };
    }
    return null;
  }

  return {
    name: 'local',
    topologies: Object.keys(HANDLERS) as InstanceTopology[],
    get capabilities() {
      // Nodes are processes of this host, driven through files and sockets in the data directory.
      return { ipWhiteList: firewall.capability, nodesReachableFrom: 'this-host' as const, placement: `${hostname()}:${resolve(ctx.dataDir)}` };
    },

    async init(signal) {
      const version = await checkRedisBinary(ctx.redisServer);
      const root = instancesRoot(ctx.dataDir);
      // instances/<id>/<port>/redis.sock: a 14-character id and a 5-digit port.
      const longestSocket = nodePaths(ctx.dataDir, 'redis-0123456789', 65535).socket;
      if (Buffer.byteLength(longestSocket) > MAX_SOCKET_PATH) {
        throw new PermanentDriverError(
          `data directory ${ctx.dataDir} is too long: node control sockets under it (${longestSocket}) exceed the ${MAX_SOCKET_PATH}-byte limit of unix socket paths; use a shorter JCS_DATA_DIR`,
        );
      }
      const probe = join(root, `.write-probe-${process.pid}`);
      try {
        await mkdir(root, { recursive: true, mode: 0o700 });
        await writeFile(probe, '');
        await unlink(probe);
      } catch (err) {
        throw new PermanentDriverError(`data directory ${root} is not writable: ${(err as Error).message}`);
      }
      ctx.fdHardLimit = await readOpenFilesHardLimit();
      const tlsGeneration = await ensureCa(ctx.dataDir);
      ctx.aclCanon = await learnAclCanon(ctx.redisServer, signal);
      if (opts.memoryCgroups !== false) {
        const found = await openMemoryCgroups();
        ctx.cgroups = found.available ? found.cgroups : null;
        // Groups of nodes that died without being stopped here are empty: removing them loses nothing (a
        // group with a process in it is refused by the kernel), and a node started again makes its own.
        if (ctx.cgroups) for (const name of await listNodeCgroups(ctx.cgroups)) await removeNodeCgroup(ctx.cgroups, name).catch(() => false);
        if (!found.available) opts.logger.warn({ reason: found.reason }, 'nodes run without memory cgroups: only Redis bounds their memory');
      }
      await firewall.probe(signal);
      opts.logger.info(
        { redisServer: ctx.redisServer, version, dataDir: ctx.dataDir, bindHost, fdHardLimit: ctx.fdHardLimit, tlsGeneration, memoryCgroups: ctx.cgroups?.parent ?? null },
        'local driver ready',
      );
    },

    async ensurePresent(spec, signal) {
      const h = handler(spec);
      h.plan(spec); // validates the spec before anything is written
      ctx.progress.delete(spec.id); // a move this call makes reports afresh
      const dir = instanceDir(ctx.dataDir, spec.id);
      const secrets = await loadOrCreateInternalSecrets(dir);
      const tls = await ensureInstanceCert(ctx.dataDir, dir, spec.id);
      await firewall.apply(spec, signal); // rules before nodes, so no node is ever open unfiltered
      const progress = await h.ensurePresent(ctx, spec, { ...secrets, instanceId: spec.id, tls }, signal);
      if (progress) return progress;
      // Every node now runs with this generation's certificate (ensurePresent converged them).
      await removeOldInstanceCerts(dir, tls.generation);
    },

    async ensureAbsent(instanceId, signal) {
      knownSecrets.delete(instanceId);
      ctx.progress.delete(instanceId);
      ctx.proxyReshards.delete(instanceId);
      await ctx.restoreMarkers.get(instanceId)?.close();
      ctx.restoreMarkers.delete(instanceId);
      const dir = instanceDir(ctx.dataDir, instanceId);
      if (!(await stat(dir).catch(() => null))) return firewall.remove(instanceId, signal);
      const secrets = await readInternalSecrets(dir).catch(() => null);
      await stopAllProxies(ctx, instanceId, signal); // clients first, then the shards behind them
      const ports = (await readdir(dir)).filter((name) => /^\d+$/.test(name)).map(Number);
      await Promise.all(
        ports.map(async (port) => {
          const paths = nodePaths(ctx.dataDir, instanceId, port);
          const admin =
            secrets && (await isSocketOpen(paths.socket))
              ? await ctx.pool.get(port, { instanceId, adminPassword: secrets.adminPassword }).catch(() => null)
              : null;
          const cgroup = nodeCgroupRef(ctx, instanceId, port);
          await stopNode({ paths, host: ctx.bindHost, port, admin, logger: ctx.logger, signal, ...(cgroup ? { cgroup } : {}) });
          ctx.pool.drop(port);
        }),
      );
      await rm(dir, { recursive: true, force: true });
      await firewall.remove(instanceId, signal); // after the nodes stopped
      opts.logger.info({ instanceId, ports }, 'instance removed');
    },

    async observe(spec, signal) {
      const h = handler(spec);
      const secrets = await credentialsOf(spec.id);
      if (!secrets) {
        // Nothing was ever created here: every node is down, and observe must not create anything.
        const down = h.plan(spec).map((n) => downNode(n.port));
        const observation: LocalObservation = {
          healthy: false,
          problems: [`instance ${spec.id} does not exist on this host`],
          nodes: down,
          effectiveMaxClients: nodeSettings(ctx, spec).maxClients,
          usedMemoryBytes: 0,
        };
        return observation;
      }
      const observation = await h.observe(ctx, spec, secrets, signal);
      const drift = await firewall.problems(spec, signal); // missing or different rules
      if (drift.length > 0) observation.problems.push(...drift);
      return drift.length > 0 ? { ...observation, healthy: false } : observation;
    },

    async applySettings(spec, _signal) {
      const settings = nodeSettings(ctx, spec);
      // A node's memory cgroup grows before its maxmemory does, and shrinks after.
      const limits = (when: 'grow' | 'shrink'): Promise<unknown> =>
        Promise.all(
          handler(spec).plan(spec).map(async (n) => {
            const cg = nodeCgroup(ctx, spec.id, n.port, settings.maxmemoryBytes);
            const now = cg ? await readNodeCgroup(cg.cg, cg.name) : null;
            if (!cg || !now || (when === 'grow') !== cg.limitBytes > now.limitBytes) return;
            await setNodeCgroupLimit(cg.cg, cg.name, cg.limitBytes).catch((err: unknown) =>
              ctx.logger.warn({ instanceId: spec.id, port: n.port, err: (err as Error).message }, 'memory cgroup limit not changed'),
            );
          }),
        );
      await limits('grow');
      await applyEverywhere(spec, 'settings change', (client) => applyNodeSettings(client, settings));
      await limits('shrink');
    },

    async setPassword(spec, _signal) {
      await applyEverywhere(spec, 'password change', (client) => applyNodePassword(client, spec.passwordSha256));
    },

    applyIpWhiteList: (spec, signal) => firewall.apply(spec, signal),

    async purgeScan(spec, shard, cursor, filter, count) {
      const { port, client } = await shardMaster(spec, shard);
      // A cluster node has database 0 only.
      return scanNode(client, port, spec.topology === 'native-cluster' ? 1 : spec.databases, cursor, filter, count);
    },

    async purgeDelete(spec, shard, keys, filter) {
      return deleteOnNode((await shardMaster(spec, shard)).client, keys, filter);
    },

    async analysisScan(spec, shard, cursor, count, opts) {
      const master = await shardMaster(spec, shard);
      const replica = await linkedReplica(spec, shard);
      const scan = replica ?? master;
      const cluster = spec.topology === 'native-cluster';
      const batch = await analyzeBatch({ scan: { ...scan, cluster }, master: opts.frequency ? master.client : null }, cluster ? 1 : spec.databases, cursor, count);
      return { ...batch, slot: scan.port === spec.shards[shard]!.master ? 'master' : 'replica' };
    },

    async commandStats(spec) {
      const all = await Promise.all(spec.shards.map(async (_, shard) => commandStatsOf((await shardMaster(spec, shard)).client)));
      const sum = new Map<string, { name: string; calls: number; usec: number }>();
      for (const s of all.flat()) {
        const e = sum.get(s.name) ?? { name: s.name, calls: 0, usec: 0 };
        sum.set(s.name, { name: s.name, calls: e.calls + s.calls, usec: e.usec + s.usec });
      }
      return [...sum.values()];
    },

    changeProgress: (instanceId) => ctx.progress.get(instanceId) ?? null,

    async inspect(spec, signal) {
      const secrets = await secretsFor(spec);
      const reports = new Map<number, NodeReport>();
      await Promise.all(
        handler(spec)
          .plan(spec)
          .map(async (n) => {
            signal.throwIfAborted();
            // A node that is down or does not answer (within INSPECT_NODE_MS) is simply not in the
            // report; its health is observe's job.
            const report = await within(ctx.pool.get(n.port, secrets).then(readNodeReport), INSPECT_NODE_MS).catch(() => null);
            if (report !== null && report !== TIMED_OUT) reports.set(n.port, report);
          }),
      );
      return reports;
    },

    snapshotShard: async (spec, shard, dest, signal) => snapshotShard(ctx, checkRdbBinary, spec, shard, await secretsFor(spec), dest, signal),
    replaceData: async (spec, files, signal) => replaceData(ctx, spec, await secretsFor(spec), files, signal),
    openAfterRestore: async (spec, signal) => openAfterRestore(ctx, spec, await secretsFor(spec), signal),
    watch: (listener) => ctx.pool.onNodeLost(listener),

    async close() {
      for (const marker of ctx.restoreMarkers.values()) await marker.close();
      ctx.restoreMarkers.clear();
      ctx.pool.closeAll();
      ctx.hung.closeAll();
      await firewall.close(AbortSignal.timeout(10_000));
    },
  };
}


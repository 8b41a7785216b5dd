import { mkdir, readdir, rm, stat, writeFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  PermanentDriverError,
  type Driver,
  type InstanceSpec,
  type InstanceTopology,
  type Observation,
} from '../driver.ts';
import type { DriverLogger } from '../driver-logger.ts';
import { AdminPool } from './admin-pool.ts';
import { instanceDir, instancesRoot, nodePaths } from './instance-paths.ts';
import { loadOrCreateInternalSecrets, readInternalSecrets, type InternalSecrets } from './internal-secrets.ts';
import { readOpenFilesHardLimit } from './fd-limit.ts';
import { nodeSettings, type LocalContext } from './local-context.ts';
import { masterSlave } from './master-slave.ts';
import { nativeCluster } from './native-cluster.ts';
import { withTypeChange } from './cluster-retype.ts';
import { connectHost, writeNodeConf } from './node-conf.ts';
import { applyNodePassword, applyNodeSettings } from './node-state.ts';
import { downNode } from './node-observation.ts';
import { isPortOpen, stopNode } from './redis-node.ts';
import { checkRedisBinary } from './redis-binary.ts';
import { plannedNodeConf, type TopologyHandler } from './topology-handler.ts';
import { createNftFirewall } from './firewall/nft-firewall.ts'; // sec-firewall

export interface LocalDriverOptions {
  /** Root of instance data; instances live under `<dataDir>/instances/<id>/`. */
  dataDir: string;
  /** Path or name (looked up on PATH) of redis-server >= 7.0. Default `redis-server`. */
  redisServer?: string;
  /** Address every node binds to. Default `127.0.0.1`. */
  bindHost?: string;
  /** nft binary that enforces IP white lists (firewall/nft-firewall.ts). Default `nft` on PATH. */
  nft?: string; // sec-firewall
  logger: DriverLogger;
}

/** Topology handlers by topology; native-cluster joins here when it lands. */
const HANDLERS: Partial<Record<InstanceTopology, TopologyHandler>> = {
  'master-slave': withTypeChange(masterSlave),
  'native-cluster': withTypeChange(nativeCluster),
};

/**
 * The embedded driver: every node is a redis-server process on this host, started detached so it
 * outlives the control plane. Use it through `wrapDriver` (init-once, timeouts, logging).
 */
export function createLocalDriver(opts: LocalDriverOptions): Driver {
  const bindHost = opts.bindHost ?? '127.0.0.1';
  const host = connectHost(bindHost);
  const ctx: LocalContext = {
    dataDir: opts.dataDir,
    redisServer: opts.redisServer ?? 'redis-server',
    bindHost,
    host,
    logger: opts.logger,
    pool: new AdminPool(host, opts.logger),
    fdHardLimit: null,
  };
  // sec-firewall: IP white lists. INTEGRATION: trustedSources admits the address the control plane and
  // replicas connect from while they still use client ports over TCP; make it [] once admin uses the
  // unix socket and replication the TLS ports, so a local process is filtered like anyone else.
  const firewall = createNftFirewall({ nft: opts.nft ?? 'nft', logger: opts.logger, trustedSources: [`${host}/32`] });

  function handler(spec: InstanceSpec): TopologyHandler {
    const h = HANDLERS[spec.topology];
    if (!h) throw new PermanentDriverError(`the local driver cannot build topology ${spec.topology}`);
    return h;
  }

  async function secretsFor(spec: InstanceSpec): Promise<InternalSecrets> {
    const secrets = await readInternalSecrets(instanceDir(ctx.dataDir, spec.id));
    if (!secrets) throw new Error(`instance ${spec.id} has no internal secrets on this host: run ensurePresent first`);
    return secrets;
  }

  /**
   * Rewrites every node's conf, then applies a live change on every node. Conf first: a node that
   * restarts after this point comes back with the new value. Nodes that are down get the conf only
   * and are reported, so the caller knows the change is not live everywhere yet.
   */
  async function applyEverywhere(
    spec: InstanceSpec,
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
          await apply(await ctx.pool.get(n.port, secrets.adminPassword));
        } catch (err) {
          failures.push(`port ${n.port}: ${(err as Error).message}`);
        }
      }),
    );
    if (failures.length > 0) {
      throw new Error(`${what} of ${spec.id} is in the conf files but not live on ${failures.join('; ')}`);
    }
  }

  return {
    name: 'local',
    topologies: Object.keys(HANDLERS) as InstanceTopology[],
    get capabilities() {
      return { ipWhiteList: firewall.capability }; // sec-firewall
    },

    async init(signal) {
      const version = await checkRedisBinary(ctx.redisServer);
      const root = instancesRoot(ctx.dataDir);
      const probe = join(root, `.write-probe-${process.pid}`);
      try {
        await mkdir(root, { recursive: true, mode: 0o700 });
        await writeFile(probe, '');
        await unlink(probe);
      } catch (err) {
        throw new PermanentDriverError(`data directory ${root} is not writable: ${(err as Error).message}`);
      }
      ctx.fdHardLimit = await readOpenFilesHardLimit();
      await firewall.probe(signal); // sec-firewall
      opts.logger.info(
        { redisServer: ctx.redisServer, version, dataDir: ctx.dataDir, bindHost, fdHardLimit: ctx.fdHardLimit },
        'local driver ready',
      );
    },

    async ensurePresent(spec, signal) {
      const h = handler(spec);
      h.plan(spec); // validates the spec before anything is written
      const secrets = await loadOrCreateInternalSecrets(instanceDir(ctx.dataDir, spec.id));
      await firewall.apply(spec, signal); // sec-firewall: rules before nodes, so no node is ever open unfiltered
      await h.ensurePresent(ctx, spec, secrets, signal);
    },

    async ensureAbsent(instanceId, signal) {
      const dir = instanceDir(ctx.dataDir, instanceId);
      if (!(await stat(dir).catch(() => null))) return firewall.remove(instanceId, signal); // sec-firewall
      const secrets = await readInternalSecrets(dir).catch(() => null);
      const ports = (await readdir(dir)).filter((name) => /^\d+$/.test(name)).map(Number);
      await Promise.all(
        ports.map(async (port) => {
          const admin =
            secrets && (await isPortOpen(ctx.host, port))
              ? await ctx.pool.get(port, secrets.adminPassword).catch(() => null)
              : null;
          await stopNode({ paths: nodePaths(ctx.dataDir, instanceId, port), host: ctx.host, port, admin, logger: ctx.logger, signal });
          ctx.pool.drop(port);
        }),
      );
      await rm(dir, { recursive: true, force: true });
      await firewall.remove(instanceId, signal); // sec-firewall: after the nodes stopped
      opts.logger.info({ instanceId, ports }, 'instance removed');
    },

    async observe(spec, signal) {
      const h = handler(spec);
      const secrets = await readInternalSecrets(instanceDir(ctx.dataDir, spec.id));
      if (!secrets) {
        // Nothing was ever created here: every node is down, and observe must not create anything.
        const down = h.plan(spec).map((n) => downNode(n.port));
        const observation: Observation = {
          healthy: false,
          problems: [`instance ${spec.id} does not exist on this host`],
          nodes: down,
          effectiveMaxClients: nodeSettings(ctx, spec).maxClients,
          usedMemoryBytes: 0,
        };
        return observation;
      }
      const observation = await h.observe(ctx, spec, secrets, signal);
      const drift = await firewall.problems(spec, signal); // sec-firewall: missing or different rules
      if (drift.length > 0) observation.problems.push(...drift);
      return drift.length > 0 ? { ...observation, healthy: false } : observation;
    },

    async applySettings(spec, _signal) {
      const settings = nodeSettings(ctx, spec);
      await applyEverywhere(spec, 'settings change', (client) => applyNodeSettings(client, settings));
    },

    async setPassword(spec, _signal) {
      await applyEverywhere(spec, 'password change', (client) => applyNodePassword(client, spec.passwordSha256));
    },

    applyIpWhiteList: (spec, signal) => firewall.apply(spec, signal), // sec-firewall

    async close() {
      ctx.pool.closeAll();
    },
  };
}


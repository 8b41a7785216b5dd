/**
 * The embedded driver: the driver seam (drivers/driver.ts) over local redis-server processes. It owns its
 * nodes' ports: each logical node (shard, master or replica) gets a client port, an internal TLS port and,
 * in a cluster, a bus port, reserved in the PortBook at random, and released (into quarantine) once the
 * node is gone. A port some other process holds is moved when nobody outside the instance knows it; the
 * published endpoint of an instance that has run never moves. Use it through `wrapDriver`.
 */
import { stat } from 'node:fs/promises';
import type { Driver, Endpoint, InstanceSpec, NodeDiagnostics, NodeObservation, Observation, StepResult } from '../driver.ts';
import { nodePaths } from './instance-paths.ts';
import { createLocalNodes, type LocalNodesOptions } from './local-nodes.ts';
import { PortInUseError, type LocalNodeObservation, type LocalSpec, type NodeInternalPorts } from './local-spec.ts';
import { downNode } from './node-observation.ts';
import { connectHost } from './node-conf.ts';
import { isInternalRole, isNoFreePorts, nodeRole, proxyCount, proxyRole, publishedRole, rolesOf, type PortBook } from './port-book.ts';
import { proxyPaths } from './nutcracker.ts';

export interface LocalDriverOptions extends LocalNodesOptions {
  /** Port reservations, shared by every service process (the store's, in main.ts). */
  ports: PortBook;
}

/** A node as the seam reports it: its place in the layout, where it listens, what it is now. */
function seamNode(shard: number, slot: 'master' | 'replica', address: string | null, n: LocalNodeObservation): NodeObservation {
  const { port: _port, ...seen } = n;
  return { shard, slot, address, ...seen };
}

/** How many foreign-held ports one call moves off before it gives up (and the engine tries again later). */
const MAX_MOVES = 8;

export function createLocalDriver(opts: LocalDriverOptions): Driver {
  const nodes = createLocalNodes(opts);
  const host = connectHost(opts.bindHost ?? '127.0.0.1');
  const { ports } = opts;

  /** The spec with its ports; null when a role has no port reserved yet. */
  function localSpec(spec: InstanceSpec, book: ReadonlyMap<string, number>): LocalSpec | null {
    const internalPorts: Record<number, NodeInternalPorts> = {};
    const shards: LocalSpec['shards'] = [];
    for (let s = 0; s < spec.shardCount; s++) {
      const node = (n: 'master' | 'replica'): number | null => {
        const role = nodeRole(spec.topology, s, n);
        const client = book.get(role);
        const tls = book.get(`${role}-tls`);
        const bus = spec.topology === 'native-cluster' ? book.get(`${role}-bus`) : null;
        if (client === undefined || tls === undefined || bus === undefined) return null;
        internalPorts[client] = { tls, bus };
        return client;
      };
      const master = node('master');
      const replica = node('replica');
      if (master === null || replica === null) return null;
      shards.push({ master, replica });
    }
    const proxies: NonNullable<LocalSpec['proxies']> = [];
    for (let k = 0; k < proxyCount(spec); k++) {
      const port = book.get(proxyRole(k));
      const statsPort = book.get(`${proxyRole(k)}-stats`);
      if (port === undefined || statsPort === undefined) return null;
      proxies.push({ port, statsPort });
    }
    const { shardCount: _n, requestedPort: _p, ...rest } = spec;
    return { ...rest, shards, internalPorts, ...(spec.topology === 'cluster' ? { proxies } : {}) };
  }

  function endpointOf(spec: InstanceSpec, book: ReadonlyMap<string, number>): Endpoint | null {
    const port = book.get(publishedRole(spec.topology));
    return port === undefined ? null : { host, port };
  }

  async function reserved(spec: InstanceSpec): Promise<Map<string, number>> {
    const book = await ports.list(spec.id);
    const missing = rolesOf(spec).filter((r) => !book.has(r));
    if (missing.length === 0) return book;
    const published = publishedRole(spec.topology);
    const exact = spec.requestedPort !== undefined && missing.includes(published) ? new Map([[published, spec.requestedPort]]) : undefined;
    try {
      return await ports.reserve(spec.id, missing, exact ? { exact } : {});
    } catch (err) {
      if (!isNoFreePorts(err)) throw err;
      throw new Error(`no free instance ports left in ${ports.range.from}-${ports.range.to} for ${missing.length} more ports of instance ${spec.id}`);
    }
  }

  /**
   * May the node whose port `role` names move to another port? Internal ports are the instance's own
   * business; a client port is known to clients once its node has run (its directory exists), except a
   * master-slave replica's, which nobody but the master uses.
   */
  async function movable(spec: InstanceSpec, role: string, port: number): Promise<boolean> {
    if (isInternalRole(role)) return true;
    if (spec.topology === 'master-slave' && role !== publishedRole(spec.topology)) return true;
    const dir = /^px-proxy\d+$/.test(role) ? proxyPaths(opts.dataDir, spec.id, port).dir : nodePaths(opts.dataDir, spec.id, port).dir;
    return !(await stat(dir).catch(() => null));
  }

  return {
    name: 'local',
    topologies: nodes.topologies,
    get capabilities() {
      return nodes.capabilities;
    },
    init: (signal) => nodes.init(signal),

    async ensurePresent(spec, signal): Promise<StepResult> {
      let book = await reserved(spec);
      const foreign = new Set<number>();
      for (let moves = 0; ; moves++) {
        const local = localSpec(spec, book)!;
        try {
          const progress = await nodes.ensurePresent(local, signal);
          // Nodes leaving (a reshard under way) still hold their ports: nothing is released yet.
          if (progress) return { state: 'progressing', retryAfterMs: 0, reason: progress.progressing, endpoint: endpointOf(spec, book) };
          break;
        } catch (err) {
          if (!(err instanceof PortInUseError)) throw err;
          const role = [...book].find(([, p]) => p === err.port)?.[0];
          if (role === undefined) throw err;
          if (!(await movable(spec, role, err.port))) {
            const what = role === publishedRole(spec.topology) ? 'published port' : 'client port';
            throw new Error(`${what} ${err.port} is held by another process; the instance resumes when it is free`);
          }
          if (moves >= MAX_MOVES) throw new Error(`ports keep being taken by other processes (last ${err.port}); will try again`);
          foreign.add(err.port);
          try {
            const to = await ports.move(spec.id, role, foreign);
            opts.logger.warn({ instanceId: spec.id, role, from: err.port, to }, 'port held by a foreign process; moved the node');
          } catch (moveErr) {
            if (!isNoFreePorts(moveErr)) throw moveErr;
            throw new Error(`port ${err.port} is taken by another process and no other instance port is free`);
          }
          book = await ports.list(spec.id);
        }
      }
      // Nodes of shards or of a topology the spec no longer has are stopped by now: free their ports.
      const wanted = new Set(rolesOf(spec));
      const stale = [...book.keys()].filter((r) => !wanted.has(r));
      if (stale.length > 0) await ports.release(spec.id, stale);
      return { state: 'done', endpoint: endpointOf(spec, book) };
    },

    async ensureAbsent(instanceId, signal): Promise<StepResult> {
      await nodes.ensureAbsent(instanceId, signal);
      await ports.release(instanceId);
      return { state: 'done', endpoint: null };
    },

    async observe(spec, signal): Promise<Observation> {
      const book = await ports.list(spec.id);
      const local = localSpec(spec, book);
      if (!local) {
        // Nothing was ever made here (or it was removed): every node is down, and nothing is created.
        const down = Array.from({ length: spec.shardCount }, (_, shard) =>
          (['master', 'replica'] as const).map((slot) => seamNode(shard, slot, null, downNode(0))),
        ).flat();
        return {
          healthy: false,
          problems: [`instance ${spec.id} does not exist on this host`],
          nodes: down,
          endpoint: null,
          effectiveMaxClients: spec.maxClients,
          usedMemoryBytes: 0,
        };
      }
      const seen = await nodes.observe(local, signal);
      const byPort = new Map(seen.nodes.map((n) => [n.port, n]));
      const mapped = local.shards.flatMap((s, shard) =>
        (['master', 'replica'] as const).map((slot) => seamNode(shard, slot, `${host}:${s[slot]}`, byPort.get(s[slot]) ?? downNode(s[slot]))),
      );
      const proxies = seen.proxies?.map((p) => ({ index: local.proxies!.findIndex((q) => q.port === p.port), address: `${host}:${p.port}`, up: p.up }));
      return {
        healthy: seen.healthy,
        problems: seen.problems,
        ...(seen.drift ? { drift: seen.drift } : {}),
        nodes: mapped,
        ...(proxies ? { proxies } : {}),
        endpoint: endpointOf(spec, book),
        effectiveMaxClients: seen.effectiveMaxClients,
        usedMemoryBytes: seen.usedMemoryBytes,
      };
    },

    applySettings: async (spec, signal) => nodes.applySettings(await mustHaveNodes(spec), signal),
    setPassword: async (spec, signal) => nodes.setPassword(await mustHaveNodes(spec), signal),
    applyIpWhiteList: async (spec, signal) => nodes.applyIpWhiteList(await mustHaveNodes(spec), signal),
    purgeScan: async (spec, shard, cursor, filter, count, signal) => nodes.purgeScan(await mustHaveNodes(spec), shard, cursor, filter, count, signal),
    snapshotShard: async (spec, shard, dest, signal) => nodes.snapshotShard(await mustHaveNodes(spec), shard, dest, signal),
    replaceData: async (spec, files, signal) => nodes.replaceData(await mustHaveNodes(spec), files, signal),
    openAfterRestore: async (spec, signal) => nodes.openAfterRestore(await mustHaveNodes(spec), signal),
    purgeDelete: async (spec, shard, keys, filter, signal) => nodes.purgeDelete(await mustHaveNodes(spec), shard, keys, filter, signal),
    analysisScan: async (spec, shard, cursor, count, opts, signal) => nodes.analysisScan(await mustHaveNodes(spec), shard, cursor, count, opts, signal),
    commandStats: async (spec, signal) => nodes.commandStats(await mustHaveNodes(spec), signal),
    changeProgress: (instanceId) => nodes.changeProgress(instanceId),
    async inspectNodes(spec, signal): Promise<NodeDiagnostics[]> {
      const local = await mustHaveNodes(spec);
      const reports = await nodes.inspect(local, signal);
      return local.shards.flatMap((s, shard) =>
        (['master', 'replica'] as const).flatMap((slot) => {
          const r = reports.get(s[slot]);
          return r ? [{ shard, slot, address: `${host}:${s[slot]}`, ...r }] : [];
        }),
      );
    },
    watch: (listener) => nodes.watch(listener),
    close: () => nodes.close(),
  };

  async function mustHaveNodes(spec: InstanceSpec): Promise<LocalSpec> {
    const local = localSpec(spec, await ports.list(spec.id));
    if (!local) throw new Error(`instance ${spec.id} has no nodes on this host yet: ensurePresent first`);
    return local;
  }
}

/**
 * Master-slave topology: a master on the published port and one replica, both on this host.
 *
 * Repair rules (ensurePresent is also the periodic repair check, so the healthy path only reads):
 * - a node running on its port with our pid and conf is adopted as is, never restarted;
 * - a missing replica is started again (it re-syncs from the master);
 * - a dead master comes back on the same port. If the replica is alive, has replicated data and its
 *   link was up when the master last wrote, it is at least as new as the dead master: promote it, start
 *   the master as its replica, wait for the sync, promote the master and point the replica back.
 *   Otherwise the master starts from its own AOF and the replica resyncs from it;
 * - a hung master (accepts connections, answers nothing) is waited for up to the bound and then fenced
 *   (inspect-node.ts): from then on it is a dead master, repaired as above;
 * - every step reads the world first, so a crash between steps is finished by the next call.
 */
import type { Redis } from 'ioredis';
import { PermanentDriverError } from '../driver.ts';
import { type LocalNodeObservation, type LocalObservation, type LocalSpec } from './local-spec.ts';
import { convergeNode } from './converge-node.ts';
import { ensureNotForeign, inspectNode, readAnswering, type NodeProbe } from './inspect-node.ts';
import { nodePaths, type NodePaths } from './instance-paths.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import { effectiveMaxClients, nodeCgroup, type LocalContext } from './local-context.ts';
import { writeNodeConf } from './node-conf.ts';
import { nodeProblems } from './node-problems.ts';
import { readNodeState, type NodeState } from './node-state.ts';
import { reopenClosedPorts } from './reopen-client-port.ts';
import { downNode, toNodeObservation } from './node-observation.ts';
import { isPortHeld, lastAofWriteMs, POLL_MS, sleep, startNode, waitUntilLoaded } from './redis-node.ts';
import { plannedNodeConf, tlsPortOf, type NodePlan, type TopologyHandler } from './topology-handler.ts';

/** A full sync of a large dataset takes a while; the caller's signal usually ends the wait sooner. */
const SYNC_TIMEOUT_MS = 120_000;

function ports(spec: LocalSpec): { master: number; replica: number } {
  const shard = spec.shards[0];
  if (spec.topology !== 'master-slave' || spec.shards.length !== 1 || !shard) {
    throw new PermanentDriverError(`instance ${spec.id}: master-slave needs exactly one shard`);
  }
  if (shard.master === shard.replica) {
    throw new PermanentDriverError(`instance ${spec.id}: master and replica need distinct ports`);
  }
  return shard;
}

function plan(spec: LocalSpec): NodePlan[] {
  const { master, replica } = ports(spec);
  return [
    { port: master, replicaOf: null },
    { port: replica, replicaOf: master },
  ];
}

type Ours = Extract<NodeProbe, { kind: 'ours' }>;

/** `master_link_down_since_seconds` has 1 s resolution; this much slack avoids a false "newer". */
const LINK_DOWN_SLACK_MS = 2_000;

/**
 * Whether the live replica's data is at least as new as the dead master's files, so the master may be
 * restored from it. True when we already promoted it (an interrupted restore). False when it never
 * synced, or when the master's AOF was written after the replica lost its link: those writes exist only
 * in the master's files, and restoring from the replica would drop them.
 */
async function replicaIsAtLeastAsNew(replica: NodeState, masterPaths: NodePaths): Promise<boolean> {
  if (replica.role === 'master') return true;
  if (replica.replOffset <= 0) return false;
  const lastWrite = await lastAofWriteMs(masterPaths);
  if (lastWrite === null) return true;
  const linkLostAt = replica.linkUp ? Date.now() : Date.now() - Math.max(0, replica.linkDownSinceSeconds) * 1000;
  return lastWrite <= linkLostAt + LINK_DOWN_SLACK_MS;
}

async function start(
  ctx: LocalContext,
  spec: LocalSpec,
  secrets: InstanceCredentials,
  node: NodePlan,
  signal: AbortSignal,
  overrides: Parameters<typeof plannedNodeConf>[4] = {},
): Promise<Ours> {
  const conf = plannedNodeConf(ctx, spec, secrets, node, overrides);
  await writeNodeConf(conf);
  // A node that starts as a replica waits for its first sync and the AOF rewrite after it; Redis sees
  // the rewrite end only in its cron (every 100 ms at the default hz 10). It starts at a faster hz,
  // and waitForLink sets the default back once the node is durable.
  const extraArgs = conf.replicaOf === null ? [] : ['--hz', String(BOOSTED_HZ)];
  const cgroup = nodeCgroup(ctx, spec.id, node.port, conf.maxmemoryBytes);
  await startNode({ redisServer: ctx.redisServer, paths: conf.paths, host: ctx.bindHost, port: node.port, logger: ctx.logger, signal, extraArgs, ...(cgroup ? { cgroup } : {}) });
  const client = await ctx.pool.get(node.port, secrets);
  await waitUntilLoaded(client, node.port, signal);
  return { kind: 'ours', client, state: await readNodeState(client) };
}

async function promote(ctx: LocalContext, client: Redis, port: number, why: string): Promise<void> {
  await client.call('REPLICAOF', 'NO', 'ONE');
  ctx.logger.warn({ port, why }, 'node promoted to master');
}

/**
 * The master is down and the replica holds replicated data: restore the master on its own port from the
 * replica. Leaves the master running as a master; the replica is pointed back by the caller.
 */
async function restoreMasterFromReplica(
  ctx: LocalContext,
  spec: LocalSpec,
  secrets: InstanceCredentials,
  replica: Ours,
  signal: AbortSignal,
): Promise<Ours> {
  const [masterPlan, replicaPlan] = plan(spec) as [NodePlan, NodePlan];
  if (replica.state.role === 'replica') {
    await promote(ctx, replica.client, replicaPlan.port, 'master is down; its replica keeps the newest data');
  }
  // Started as a replica that serves no stale data: clients never see the master's older AOF contents.
  const master = await start(ctx, spec, secrets, masterPlan, signal, {
    replicaOf: tlsPortOf(spec, replicaPlan.port),
    serveStaleData: false,
  });
  return finishMasterResync(ctx, spec, secrets, master, signal);
}

/** The master runs as a replica of the replica (a restore in progress): wait for the sync, promote it. */
async function finishMasterResync(
  ctx: LocalContext,
  spec: LocalSpec,
  secrets: InstanceCredentials,
  master: Ours,
  signal: AbortSignal,
): Promise<Ours> {
  const [masterPlan, replicaPlan] = plan(spec) as [NodePlan, NodePlan];
  await waitForLink(ctx, spec, master.client, masterPlan.port, replicaPlan.port, signal);
  await promote(ctx, master.client, masterPlan.port, 'synced from the replica');
  await writeNodeConf(plannedNodeConf(ctx, spec, secrets, masterPlan));
  return { ...master, state: await readNodeState(master.client) };
}

async function ensurePresent(
  ctx: LocalContext,
  spec: LocalSpec,
  secrets: InstanceCredentials,
  signal: AbortSignal,
): Promise<void> {
  const [masterPlan, replicaPlan] = plan(spec) as [NodePlan, NodePlan];
  const mPaths = nodePaths(ctx.dataDir, spec.id, masterPlan.port);
  const rPaths = nodePaths(ctx.dataDir, spec.id, replicaPlan.port);
  let [m, r] = await Promise.all([
    inspectNode(ctx, mPaths, masterPlan.port, secrets, signal, spec.internalPorts[masterPlan.port]),
    inspectNode(ctx, rPaths, replicaPlan.port, secrets, signal, spec.internalPorts[replicaPlan.port]),
  ]);
  ensureNotForeign(ctx, m, masterPlan.port);
  ensureNotForeign(ctx, r, replicaPlan.port);
  signal.throwIfAborted();
  // A restore that did not finish may have left a node without its client port: it gets it back first.
  await reopenClosedPorts(ctx, spec, [[m, masterPlan.port], [r, replicaPlan.port]]);

  if (m.kind === 'free' && r.kind === 'free') {
    // Fresh create (or both died): start both at once; the replica links as soon as the master listens.
    [m, r] = await Promise.all([
      start(ctx, spec, secrets, masterPlan, signal),
      start(ctx, spec, secrets, replicaPlan, signal),
    ]);
  } else if (m.kind === 'free') {
    // Read now, not at the probe: the master may have been waited for and fenced since (inspect-node.ts).
    // A replica of a master that froze still shows its link up, and that is right: the master wrote
    // nothing after it froze, so a replica linked until then holds everything it sent.
    const replica = { ...(r as Ours), state: await readNodeState((r as Ours).client) };
    if (await replicaIsAtLeastAsNew(replica.state, mPaths)) {
      m = await restoreMasterFromReplica(ctx, spec, secrets, replica, signal);
    } else {
      m = await start(ctx, spec, secrets, masterPlan, signal);
      // The replica retries its lost master only once a second; re-pointing it connects at once. It has
      // no replicated data, so the brief detour through master mode (atomic in MULTI) loses nothing.
      await replica.client.multi().call('REPLICAOF', 'NO', 'ONE').call('REPLICAOF', ctx.host, String(tlsPortOf(spec, masterPlan.port))).exec();
    }
    r = { ...replica, state: await readNodeState(replica.client) };
  } else if (m.kind === 'ours' && m.state.role === 'replica') {
    // A restore was interrupted after the master came back as a replica of the replica.
    if (r.kind === 'ours' && r.state.role === 'master') {
      m = await finishMasterResync(ctx, spec, secrets, m, signal);
    } else {
      await promote(ctx, m.client, masterPlan.port, 'restore interrupted and the replica is gone');
      m = { ...m, state: await readNodeState(m.client) };
    }
    if (r.kind === 'ours') r = { ...r, state: await readNodeState(r.client) };
  }
  const master = m as Ours;

  if (r.kind === 'free') r = await start(ctx, spec, secrets, replicaPlan, signal);
  const replica = r as Ours;
  if (replica.state.role === 'master' || replica.state.masterPort !== tlsPortOf(spec, masterPlan.port)) {
    await replica.client.call('REPLICAOF', ctx.host, String(tlsPortOf(spec, masterPlan.port)));
    ctx.logger.info({ instanceId: spec.id, port: replicaPlan.port }, 'replica pointed at the master');
  }

  await Promise.all([
    convergeNode(ctx, master.client, master.state, spec, masterPlan.port, secrets),
    convergeNode(ctx, replica.client, replica.state, spec, replicaPlan.port, secrets),
    writeNodeConf(plannedNodeConf(ctx, spec, secrets, masterPlan)),
    writeNodeConf(plannedNodeConf(ctx, spec, secrets, replicaPlan)),
  ]);
  // Always: a replica already linked may still be rebuilding its AOF after the sync (not durable yet),
  // and a freshly started one runs a fast cron until waitForLink puts it back. Returns at once otherwise.
  await waitForLink(ctx, spec, replica.client, replicaPlan.port, masterPlan.port, signal);
}

/** How long a replica may sit without trying to connect before we nudge it. */
const NUDGE_AFTER_MS = 20;
/** How often the wait checks that the node it links to is still there. */
const UPSTREAM_CHECK_MS = 50;
/** Redis's default `hz`, which the generated conf leaves in place, and the rate used while waiting on a rewrite. */
const DEFAULT_HZ = 10;
const BOOSTED_HZ = 100;

/**
 * Waits until the node on `replicaPort` is linked to `masterPort`, synced, and its AOF rebuilt after
 * the sync (so what it holds survives its own restart). A replica that has not
 * started a sync yet only retries from its once-a-second cron (a fresh start sometimes misses the first
 * attempt), so after a few ms it is re-pointed: REPLICAOF NO ONE + REPLICAOF in one MULTI connects at
 * once. That is safe because a replica that is not linked is about to be fully resynced anyway.
 * If the master's port closes meanwhile (it was killed), this fails at once instead of waiting out the
 * timeout: the next ensurePresent brings the master back.
 */
async function waitForLink(
  ctx: LocalContext,
  spec: LocalSpec,
  client: Redis,
  replicaPort: number,
  masterPort: number,
  signal: AbortSignal,
): Promise<void> {
  const started = Date.now();
  let nudged = false;
  let nextUpstreamCheck = started + UPSTREAM_CHECK_MS;
  const upstreamTls = tlsPortOf(spec, masterPort);
  const upstream = nodePaths(ctx.dataDir, spec.id, masterPort);
  try {
    for (;;) {
      const s = await readNodeState(client);
      // Linked is not enough: a node that just took a full sync is durable only once its AOF is rebuilt
      // (≤ 100 ms for small data). Returning earlier let a crash right after lose replicated writes.
      if (s.linkUp && s.masterPort === upstreamTls && !s.aofRewriting) return;
      const now = Date.now();
      // Only a replica with no link is nudged: re-pointing a linked one (say, rebuilding its AOF after
      // the sync) would throw its sync away and start another.
      if (!nudged && now - started >= NUDGE_AFTER_MS && !s.syncInProgress && !s.linkUp) {
        nudged = true;
        await client
          .multi()
          .call('REPLICAOF', 'NO', 'ONE')
          .call('REPLICAOF', ctx.host, String(upstreamTls))
          .exec();
      }
      if (now >= nextUpstreamCheck) {
        nextUpstreamCheck = now + UPSTREAM_CHECK_MS;
        if (!(await isPortHeld(ctx.bindHost, masterPort))) {
          throw new Error(`node ${masterPort} went down while ${replicaPort} was syncing from it`);
        }
        // A frozen upstream keeps its port (and the replica's link may even read up): without this the
        // wait would last until the caller's signal. Its silence stays watched, so the next ensurePresent
        // waits out the rest of the bound and fences it.
        if ((await ctx.hung.probe(upstream.dir, upstream.socket)).kind === 'silent') {
          throw new Error(`node ${masterPort} stopped answering while ${replicaPort} was syncing from it`);
        }
      }
      if (now - started > SYNC_TIMEOUT_MS) {
        throw new Error(`timed out after ${SYNC_TIMEOUT_MS} ms waiting for ${replicaPort} to sync from ${masterPort}`);
      }
      await sleep(POLL_MS, signal);
    }
  } finally {
    // A node started as a replica ran its cron fast for this wait (see start); back to the default.
    await client.call('CONFIG', 'SET', 'hz', String(DEFAULT_HZ)).catch(() => undefined);
  }
}

async function observeNode(
  ctx: LocalContext,
  port: number,
  secrets: InstanceCredentials,
): Promise<{ obs: LocalNodeObservation; state: NodeState | null; error: string | null }> {
  try {
    const state = await readAnswering(ctx, nodePaths(ctx.dataDir, secrets.instanceId, port), port, secrets, readNodeState);
    return {
      state,
      error: null,
      obs: toNodeObservation(port, state),
    };
  } catch (err) {
    return { obs: downNode(port), state: null, error: (err as Error).message };
  }
}

async function observe(
  ctx: LocalContext,
  spec: LocalSpec,
  secrets: InstanceCredentials,
  _signal: AbortSignal,
): Promise<LocalObservation> {
  const [masterPlan, replicaPlan] = plan(spec) as [NodePlan, NodePlan];
  const [m, r] = await Promise.all([
    observeNode(ctx, masterPlan.port, secrets),
    observeNode(ctx, replicaPlan.port, secrets),
  ]);
  const problems: string[] = [];
  const drift: string[] = [];
  for (const [label, node] of [['master', m], ['replica', r]] as const) {
    if (!node.state) {
      problems.push(`${label} ${node.obs.port} is down: ${node.error}`);
      continue;
    }
    const found = await nodeProblems(ctx, spec, secrets, label, node.obs.port, node.state);
    problems.push(...found.problems);
    drift.push(...found.drift);
  }
  if (m.state && m.state.role !== 'master') problems.push(`master ${masterPlan.port} has role ${m.state.role}`);
  if (m.state?.role === 'master' && !m.state.replicaPorts.includes(replicaPlan.port)) {
    problems.push(`master ${masterPlan.port} has no replica connected from ${replicaPlan.port}`);
  }
  if (r.state && (r.state.role !== 'replica' || r.state.masterPort !== tlsPortOf(spec, masterPlan.port))) {
    problems.push(`replica ${replicaPlan.port} does not replicate from ${masterPlan.port}`);
  } else if (r.state && !r.state.linkUp) {
    problems.push(`replica ${replicaPlan.port} link to the master is down`);
  }
  return {
    healthy: problems.length === 0,
    problems,
    drift,
    nodes: [m.obs, r.obs],
    effectiveMaxClients: effectiveMaxClients(ctx, spec),
    usedMemoryBytes: m.state?.role === 'master' ? m.state.usedMemoryBytes : 0,
  };
}

/** The master-slave topology handler. */
export const masterSlave: TopologyHandler = { plan, ensurePresent, observe };

/**
 * Native-cluster topology: a Redis Cluster of N shards, each a master and one replica on this host.
 * Formed directly (CLUSTER MEET, ADDSLOTSRANGE, REPLICATE) and polled in milliseconds, not through
 * `redis-cli --cluster create`, which sleeps in whole seconds.
 *
 * ensurePresent is level-based: it reads every node's view and takes the steps still missing, so the
 * same code creates a cluster, re-adopts one after a control-plane restart, repairs it, reshards it
 * (the spec's shard count changed) and finishes a reshard cut short by a crash:
 * 1. start every spec node that is down (a returning node rejoins from its own nodes.conf). A node that
 *    accepts connections but answers nothing is waited for up to the bound, then fenced (inspect-node.ts)
 *    and treated as dead. Redis fails a hung master over by itself after cluster-node-timeout; either way
 *    the old master comes back only as a replica (see docs/cluster.md);
 * 2. make every spec node know every other (MEET), forget nodes that no longer exist;
 * 3. roles: each shard's replica replicates its master. A master that died while its replica was alive is
 *    replaced first (CLUSTER FAILOVER TAKEOVER on the replica: it has the newest data), then comes back as
 *    a replica and is failed back (CLUSTER FAILOVER, coordinated, no write lost), so the spec's master
 *    port is a master again. See docs/cluster.md.
 * 4. slots: finish any slot left migrating/importing, assign unassigned slots, move slots until every
 *    spec master owns its even share and nodes of removed shards own none (cluster-migrate.ts);
 * 5. stop the nodes of removed shards and forget them;
 * 6. settings and password on every node, then wait until every node reports the healthy cluster.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { PermanentDriverError } from '../driver.ts';
import { type LocalObservation, type LocalSpec } from './local-spec.ts';
import { expandSlots, isClusterEnabled, isFailing, isMaster, readClusterView, slotCount, slotOwners, type ClusterView } from './cluster-nodes.ts';
import { observeCluster } from './cluster-observe.ts';
import { closeSlots, migrateSlots, SLOTS_PER_ROUND, type SlotNode } from './cluster-migrate.ts';
import { planSlots, targetSlotCount, toRanges } from './cluster-slot-plan.ts';
import { convergeNode } from './converge-node.ts';
import { ensureNotForeign, inspectNode, type NodeProbe } from './inspect-node.ts';
import { tlsPortOf } from './topology-handler.ts';
import { instanceDir, nodePaths } from './instance-paths.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import { nodeCgroup, nodeCgroupRef, nodeSettings, type LocalContext } from './local-context.ts';
import { writeNodeConf } from './node-conf.ts';
import { readNodeState } from './node-state.ts';
import { announceRealPorts, reopenClosedPorts } from './reopen-client-port.ts';
import { pausedTakeover } from './paused-takeover.ts';
import { POLL_MS, sleep, startNode, stopNode, waitUntilLoaded } from './redis-node.ts';
import { plannedNodeConf, type NodePlan, type TopologyHandler } from './topology-handler.ts';

/** Redis's default: the cluster bus listens on the client port + 10000. */
export const CLUSTER_BUS_OFFSET = 10_000;
/** How long membership, roles and the final "all nodes agree" may take before the step is retried. */
const CONVERGE_TIMEOUT_MS = 20_000;
/**
 * Longer than Redis's CLUSTER_MF_TIMEOUT (5 s), after which a coordinated failover not done is dropped:
 * then the shard is handed back by a paused takeover instead.
 */
const MANUAL_FAILOVER_WAIT_MS = 5_500;
/** A full sync of a large dataset takes a while; the caller's signal usually ends the wait sooner. */
const SYNC_TIMEOUT_MS = 120_000;

/** Conf lines every cluster node carries. */
const CLUSTER_LINES = [
  'cluster-enabled yes',
  // Relative to `dir`: each node keeps its own cluster state next to its AOF.
  'cluster-config-file nodes.conf',
  // Short enough that a dead master is failed over in seconds when the control plane is not there to do it.
  'cluster-node-timeout 5000',
  // A master emptied by a reshard must stay a master until we stop it, not wander off as someone's replica.
  'cluster-allow-replica-migration no',
  // The only replica of a shard must always be allowed to take over, however long its master was gone.
  'cluster-replica-validity-factor 0',
] as const;

interface Shard {
  index: number;
  master: number;
  replica: number;
}

function shardsOf(spec: LocalSpec): Shard[] {
  if (spec.topology !== 'native-cluster') throw new PermanentDriverError(`instance ${spec.id}: not a native-cluster spec`);
  if (spec.shards.length < 1) throw new PermanentDriverError(`instance ${spec.id}: a cluster needs at least one shard`);
  const ports = spec.shards.flatMap((s) => [s.master, s.replica]);
  if (new Set(ports).size !== ports.length) throw new PermanentDriverError(`instance ${spec.id}: every node needs its own port`);
  for (const p of ports) {
    if (p + CLUSTER_BUS_OFFSET > 65_535) throw new PermanentDriverError(`instance ${spec.id}: port ${p} leaves no room for its cluster bus port`);
  }
  return spec.shards.map((s, index) => ({ index, master: s.master, replica: s.replica }));
}

function plan(spec: LocalSpec): NodePlan[] {
  // replicaOf stays null for every node: Redis refuses `replicaof` in a cluster node's conf; who
  // replicates whom lives in each node's nodes.conf and is set with CLUSTER REPLICATE.
  return shardsOf(spec).flatMap((s) => [
    { port: s.master, replicaOf: null, extraLines: CLUSTER_LINES },
    { port: s.replica, replicaOf: null, extraLines: CLUSTER_LINES },
  ]);
}

type Ours = Extract<NodeProbe, { kind: 'ours' }>;

/** A live node of the cluster with its latest view. */
interface Live {
  port: number;
  /** The node's TLS port: MIGRATE to it runs over the TLS link between nodes. */
  tlsPort: number;
  client: Redis;
  view: ClusterView;
}

class Cluster {
  readonly shards: Shard[];
  readonly live = new Map<number, Live>();
  /** Formed by this very call (slots given out to brand-new nodes): its fail-backs go to a paused takeover at once. */
  formedNow = false;

  constructor(
    readonly ctx: LocalContext,
    readonly spec: LocalSpec,
    readonly secrets: InstanceCredentials,
    readonly signal: AbortSignal,
  ) {
    this.shards = shardsOf(spec);
  }

  get specPorts(): number[] {
    return this.shards.flatMap((s) => [s.master, s.replica]);
  }

  id(port: number): string {
    const node = this.live.get(port);
    if (!node) throw new Error(`node ${port} is not running`);
    return node.view.myself.id;
  }

  async refresh(ports: Iterable<number> = this.live.keys()): Promise<void> {
    await Promise.all(
      [...ports].map(async (port) => {
        const node = this.live.get(port);
        if (node) node.view = await readClusterView(node.client);
      }),
    );
  }

  async add(port: number, client: Redis): Promise<void> {
    // Nodes of removed shards are not in the spec any more: the node itself says where its TLS port is.
    const [, tls] = (await client.call('CONFIG', 'GET', 'tls-port')) as [string, string];
    this.live.set(port, { port, tlsPort: Number(tls), client, view: await readClusterView(client) });
  }

  /** Polls `check` over fresh views until it returns null (done) or the deadline passes. */
  async waitFor(what: string, check: () => string | null, timeoutMs = CONVERGE_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.refresh();
      const missing = check();
      if (missing === null) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${missing}`);
      await sleep(POLL_MS, this.signal);
    }
  }

  log(obj: object, msg: string): void {
    this.ctx.logger.info({ instanceId: this.spec.id, ...obj }, msg);
  }
}

async function startPlanned(c: Cluster, node: NodePlan): Promise<Ours> {
  const { ctx, spec, secrets, signal } = c;
  const conf = plannedNodeConf(ctx, spec, secrets, node);
  await writeNodeConf(conf);
  const cgroup = nodeCgroup(ctx, spec.id, node.port, conf.maxmemoryBytes);
  await startNode({ redisServer: ctx.redisServer, paths: conf.paths, host: ctx.bindHost, port: node.port, logger: ctx.logger, signal, ...(cgroup ? { cgroup } : {}) });
  const client = await ctx.pool.get(node.port, secrets);
  await waitUntilLoaded(client, node.port, signal);
  return { kind: 'ours', client, state: await readNodeState(client) };
}

/** Steps 1 and 3a: probe, fail over dead masters to their live replicas, start what is down. */
async function startNodes(c: Cluster): Promise<void> {
  const { ctx, spec, secrets } = c;
  const nodes = plan(spec);
  const probes = await Promise.all(
    nodes.map((n) => inspectNode(ctx, nodePaths(ctx.dataDir, spec.id, n.port), n.port, secrets, c.signal, spec.internalPorts[n.port])),
  );
  const byPort = new Map(nodes.map((n, i) => [n.port, probes[i]!]));
  probes.forEach((probe, i) => ensureNotForeign(ctx, probe, nodes[i]!.port));
  c.signal.throwIfAborted();
  // A restore that did not finish may have left nodes without their client ports: they get them back first.
  await reopenClosedPorts(ctx, spec, probes.map((probe, i) => [probe, nodes[i]!.port] as const));

  for (const shard of c.shards) {
    const m = byPort.get(shard.master)!;
    const r = byPort.get(shard.replica)!;
    if (m.kind !== 'free' || r.kind !== 'ours') continue;
    // Read now, not at the probe: a hung master was waited for and fenced meanwhile (inspect-node.ts), and
    // Redis may have promoted the replica by itself in that time (cluster-node-timeout): then it has the shard.
    const rState = await readNodeState(r.client);
    if (rState.role !== 'replica' || rState.replOffset <= 0) continue;
    // The master is gone and its replica holds replicated data, at least as new as the master's AOF:
    // the replica takes the slots now (no vote needed) and the master returns as its replica.
    // Redis may still promote it by itself between the read and this (an election under way): fine.
    const took = await r.client.call('CLUSTER', 'FAILOVER', 'TAKEOVER').then(
      () => true,
      async (err: unknown) => {
        if ((await readNodeState(r.client)).role !== 'master') throw err;
        return false;
      },
    );
    if (took) ctx.logger.warn({ instanceId: spec.id, shard: shard.index, port: shard.replica }, 'master is down; its replica took over');
  }
  const started = await Promise.all(nodes.map(async (n) => (byPort.get(n.port)!.kind === 'free' ? startPlanned(c, n) : (byPort.get(n.port) as Ours))));
  await Promise.all(started.map((probe, i) => c.add(nodes[i]!.port, probe.client)));
  // A node that announces another client port than its own on the bus (port 0: started without its port
  // by a restore before it announced its real one) is seen by no node at its port, itself included, and
  // membership (step 2) would never settle: it is made to announce its real ports.
  await Promise.all(
    nodes.map(async (n) => {
      const live = c.live.get(n.port)!;
      if (live.view.myself.port === n.port) return;
      ctx.logger.warn({ instanceId: spec.id, port: n.port, announced: live.view.myself.port }, 'cluster node announces the wrong client port; made to announce its own');
      await announceRealPorts(live.client, n.port, tlsPortOf(spec, n.port));
      live.view = await readClusterView(live.client);
    }),
  );
}

/** Step 2: every spec node knows every other; a brand-new cluster gets its slots before the first MEET. */
async function formMembership(c: Cluster): Promise<void> {
  const ports = c.specPorts;
  const fresh = ports.every((p) => c.live.get(p)!.view.knownNodes === 1 && c.live.get(p)!.view.myself.configEpoch === 0);
  if (fresh) {
    // Distinct config epochs up front, as redis-cli does: no epoch collision to resolve after the MEETs.
    // The slots go to each shard's *replica* port first. Redis keeps a master that started less than 2 s
    // ago at cluster_state:fail (CLUSTER_WRITABLE_DELAY); replicas are exempt. So the spec's master
    // starts as the replica, reaches cluster_state:ok as one, and ensureRoles fails the shard over to it
    // (coordinated, the shard is empty): the cluster is ok in a few hundred ms instead of after 2 s.
    const n = c.shards.length;
    await Promise.all(
      c.shards.map(async (s) => {
        await c.live.get(s.master)!.client.call('CLUSTER', 'SET-CONFIG-EPOCH', String(s.index + 1));
        const { client } = c.live.get(s.replica)!;
        await client.call('CLUSTER', 'SET-CONFIG-EPOCH', String(n + s.index + 1));
        const [from, to] = rangeOf(s.index, n);
        await client.call('CLUSTER', 'ADDSLOTSRANGE', String(from), String(to));
      }),
    );
    c.formedNow = true;
    c.log({ shards: c.shards.length }, 'new cluster: slots assigned');
  }
  const ids = new Map(ports.map((p) => [p, c.id(p)]));
  // Every node meets every node it does not know yet (or knows at an old bus port): a direct handshake is
  // faster than waiting for gossip. The bus is TLS, so MEET names the peer's TLS port and its bus port.
  const bus = (q: number): number => c.spec.internalPorts[q]!.bus!;
  await Promise.all(
    ports.map(async (p) => {
      const node = c.live.get(p)!;
      const known = new Map(node.view.nodes.map((e) => [e.id, e]));
      const missing = ports.filter((q) => q !== p && known.get(ids.get(q)!)?.busPort !== bus(q));
      await Promise.all(missing.map((q) => node.client.call('CLUSTER', 'MEET', c.ctx.host, String(tlsPortOf(c.spec, q)), String(bus(q)))));
    }),
  );
  await c.waitFor('every node to know every other node', () => {
    for (const p of ports) {
      const entries = new Map(c.live.get(p)!.view.nodes.map((e) => [e.id, e]));
      for (const q of ports) {
        const e = entries.get(ids.get(q)!);
        if (!e || e.flags.has('handshake') || e.flags.has('noaddr') || e.port !== q || e.busPort !== bus(q)) return `node ${p} does not know ${q} yet`;
      }
    }
    return null;
  });
  await forgetGhosts(c);
}

function rangeOf(index: number, n: number): [number, number] {
  let from = 0;
  for (let i = 0; i < index; i++) from += targetSlotCount(i, n);
  return [from, from + targetSlotCount(index, n) - 1];
}

/**
 * Forgets entries that no process answers for any more: a node that lost its nodes.conf and came back
 * with a new id, or a removed shard's node already stopped. Only those that serve no slots: a ghost that
 * still owns slots holds data we must not silently drop.
 */
async function forgetGhosts(c: Cluster): Promise<void> {
  const liveIds = new Set([...c.live.values()].map((n) => n.view.myself.id));
  const ghosts = new Set<string>();
  for (const node of c.live.values()) {
    for (const e of node.view.nodes) {
      // A handshake entry is a MEET in progress under a temporary id, not a ghost.
      if (e.flags.has('handshake') || liveIds.has(e.id)) continue;
      if ((isFailing(e) || !e.connected) && slotCount(e.slots) === 0) ghosts.add(e.id);
    }
  }
  if (ghosts.size === 0) return;
  await Promise.all(
    [...c.live.values()].map(async (node) => {
      const known = new Set(node.view.nodes.map((e) => e.id));
      for (const id of ghosts) {
        if (known.has(id) && node.view.myself.masterId !== id) {
          await node.client.call('CLUSTER', 'FORGET', id).catch(() => undefined);
        }
      }
    }),
  );
  c.log({ ghosts: [...ghosts] }, 'forgot cluster nodes that no longer exist');
  await c.refresh();
}

/**
 * Step 2b: a cluster left half-made (a create cut short while the slots were handed out: a node frozen
 * and fenced, the control plane killed) has slots nobody claims, so it never reaches cluster_state:ok,
 * which the roles step waits for before failing a shard back. Each shard's missing slots go to the node
 * of the shard that already serves slots, else to whichever of its two nodes is a master (no data can be
 * lost: an unclaimed slot holds no key). A formed cluster has every slot claimed and is left alone.
 */
async function assignUnclaimedSlots(c: Cluster): Promise<void> {
  const claimed = new Set<number>();
  for (const node of c.live.values()) {
    for (const e of node.view.nodes) if (isMaster(e)) for (const slot of expandSlots(e.slots)) claimed.add(slot);
  }
  if (claimed.size === 16_384) return;
  const n = c.shards.length;
  for (const s of c.shards) {
    const [from, to] = rangeOf(s.index, n);
    const missing: number[] = [];
    for (let slot = from; slot <= to; slot++) if (!claimed.has(slot)) missing.push(slot);
    if (missing.length === 0) continue;
    const nodes = [c.live.get(s.replica)!, c.live.get(s.master)!].filter((x) => isMaster(x.view.myself));
    const target = nodes.find((x) => slotCount(x.view.myself.slots) > 0) ?? nodes[0];
    if (!target) continue;
    const args = toRanges(missing).flatMap(([a, b]) => [String(a), String(b)]);
    await target.client.call('CLUSTER', 'ADDSLOTSRANGE', ...args);
    c.log({ shard: s.index, port: target.port, slots: missing.length }, 'half-made cluster: unclaimed slots assigned');
  }
  await c.refresh();
}

/** Step 3: each shard's master port is a master and its replica port replicates it. */
async function ensureRoles(c: Cluster): Promise<void> {
  const deadline = Date.now() + CONVERGE_TIMEOUT_MS;
  // Each command is sent once per second at most: the change it starts takes a few polls to show. A
  // coordinated CLUSTER FAILOVER is not sent again: a new one resets the one under way (on a loaded host,
  // load 10, none ever finished in 1 s). One that did not finish in Redis's manual-failover timeout (5 s)
  // is followed by a paused takeover, which needs no election.
  const asked = new Map<string, number>();
  const once = async (key: string, send: () => Promise<unknown>): Promise<boolean> => {
    if ((asked.get(key) ?? 0) > Date.now() - 1_000) return false;
    asked.set(key, Date.now());
    await send().catch((err: unknown) => c.ctx.logger.debug({ key, err: (err as Error).message }, 'cluster role command refused'));
    return true;
  };
  for (;;) {
    await c.refresh();
    let pending = 0;
    for (const s of c.shards) {
      const m = c.live.get(s.master)!;
      const r = c.live.get(s.replica)!;
      const mId = m.view.myself.id;
      const rId = r.view.myself.id;
      if (!isMaster(m.view.myself)) {
        pending++;
        if (m.view.myself.masterId !== rId) {
          // Replicating some other node: only an empty node can be re-pointed.
          await once(`m${s.index}`, () => m.client.call('CLUSTER', 'REPLICATE', rId));
          continue;
        }
        // Failed over earlier (or a new cluster): once it has caught up and serves as a replica, hand the
        // shard to the spec's master port. Promoted with cluster_state:ok already, it serves at once.
        const state = await readNodeState(m.client);
        // Never a bare TAKEOVER: one lost a write in the chaos:pg run (a create retried after a crash is no
        // longer "fresh" and may already have clients). The coordinated failover pauses the old master's
        // clients until this node has caught up; the paused takeover does the same without an election.
        if (!state.linkUp || !m.view.stateOk) continue;
        const sent = asked.get(`f${s.index}`);
        const takeOver = async (why: string): Promise<void> => {
          asked.set(`f${s.index}`, Date.now());
          const result = await pausedTakeover(r.client, m.client, c.signal).catch((err: unknown) => `failed: ${(err as Error).message}`);
          c.log({ shard: s.index, port: s.master, result }, why);
        };
        // A cluster formed by this call fails every shard back at once: simultaneous elections split the
        // masters' votes and one of them always ran out Redis's 5 s (bench:cluster: creates of 5.9 s instead
        // of 0.5 s). The paused takeover needs no votes and loses no write either.
        if (sent === undefined && c.formedNow) await takeOver('new cluster: shard handed to the spec master by a paused takeover');
        // The coordinated one did not finish in Redis's own 5 s (its election refused: paused-takeover.ts).
        else if (sent !== undefined && Date.now() - sent > MANUAL_FAILOVER_WAIT_MS) await takeOver('coordinated failover did not finish; shard handed back by a paused takeover');
        else if (sent === undefined && (await once(`f${s.index}`, () => m.client.call('CLUSTER', 'FAILOVER')))) {
          c.log({ shard: s.index, port: s.master }, 'failing back to the spec master');
        }
        continue;
      }
      const mSlots = slotCount(m.view.myself.slots);
      const rSlots = isMaster(r.view.myself) ? slotCount(r.view.myself.slots) : 0;
      if (mSlots === 0 && rSlots > 0) {
        // The replica serves the shard and the master came back empty (lost its files): sync from it first.
        pending++;
        await once(`m${s.index}`, () => m.client.call('CLUSTER', 'REPLICATE', rId));
        continue;
      }
      if (r.view.myself.masterId !== mId) {
        pending++;
        // A master with slots of its own cannot be re-pointed; gossip of the newer epoch demotes it first.
        if (rSlots === 0 && (await once(`r${s.index}`, () => r.client.call('CLUSTER', 'REPLICATE', mId)))) {
          c.log({ shard: s.index, port: s.replica }, 'replica attached to its master');
        }
      }
    }
    if (pending === 0) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for the shards' roles (${pending} shards not settled)`);
    await sleep(POLL_MS, c.signal);
  }
}

function slotNode(c: Cluster, id: string): SlotNode | null {
  for (const n of c.live.values()) if (n.view.myself.id === id) return { id, port: n.port, tlsPort: n.tlsPort, client: n.client };
  return null;
}

/** Step 4: open slots finished, every slot assigned, the even split reached. Returns the keys moved. */
async function balanceSlots(c: Cluster): Promise<number> {
  const opts = { host: c.ctx.host, adminPassword: c.secrets.adminPassword, signal: c.signal };
  // MIGRATE runs over the nodes' TLS link (tls-cluster), so it names each destination's TLS port.
  let moved = 0;
  await c.refresh();
  // 4a. Slots a previous run left open: finish the move it started (or close it if the peer is gone).
  const open = new Map<string, { src: SlotNode; dst: SlotNode; slots: number[] }>();
  for (const node of c.live.values()) {
    const me = slotNode(c, node.view.myself.id)!;
    for (const [slot, peerId] of node.view.myself.migrating) {
      const peer = slotNode(c, peerId);
      if (!peer) continue;
      const key = `${me.id}>${peer.id}`;
      const entry = open.get(key) ?? { src: me, dst: peer, slots: [] };
      entry.slots.push(slot);
      open.set(key, entry);
    }
    const stale: number[] = [];
    for (const [slot, peerId] of node.view.myself.importing) {
      const peer = slotNode(c, peerId);
      if (!peer) {
        stale.push(slot);
        continue;
      }
      const key = `${peer.id}>${me.id}`;
      const entry = open.get(key) ?? { src: peer, dst: me, slots: [] };
      if (!entry.slots.includes(slot)) entry.slots.push(slot);
      open.set(key, entry);
    }
    if (stale.length > 0) await closeSlots(me, stale);
  }
  for (const { src, dst, slots } of open.values()) {
    c.log({ from: src.port, to: dst.port, slots: slots.length }, 'finishing slots left open');
    moved += await migrateSlots(src, dst, slots.sort((a, b) => a - b), opts);
  }
  if (open.size > 0) await c.refresh();

  // 4b. Who owns what, by each master's own claim (the higher config epoch where two claim a slot).
  const owners = slotOwners([...c.live.values()].map((node) => [node.view.myself, node.view.myself.id] as const));
  // Slots served by a master that is not running (a removed shard that died) are still owned: the plan
  // would try to move them from a node that cannot answer, and fails loudly instead of dropping data.
  for (const node of c.live.values()) {
    for (const e of node.view.nodes) {
      if (isMaster(e) && !slotNode(c, e.id)) for (const slot of expandSlots(e.slots)) if (!owners.has(slot)) owners.set(slot, e.id);
    }
  }
  const masters = c.shards.map((s) => c.id(s.master));
  const { assign, moves } = planSlots(owners, masters);
  for (const [id, slots] of assign) {
    const node = slotNode(c, id)!;
    const args = toRanges(slots).flatMap(([a, b]) => [String(a), String(b)]);
    await node.client.call('CLUSTER', 'ADDSLOTSRANGE', ...args);
    c.log({ port: node.port, slots: slots.length }, 'unassigned slots added');
  }
  if (moves.length === 0) return moved;
  // A new master keeps cluster_state:fail for its first 2 s (Redis's CLUSTER_WRITABLE_DELAY) and refuses
  // RESTORE-ASKING meanwhile: wait until every destination serves before moving a key to it.
  // A source also refuses to move slots to a node it still sees as a replica ("Target node is not a
  // master"): right after a fail-back the new master knows its role before gossip reached the others.
  const destinations = new Set(moves.map((m) => m.to));
  const sources = new Set(moves.map((m) => m.from));
  await c.waitFor('the destination masters to serve', () => {
    for (const node of c.live.values()) {
      if (destinations.has(node.view.myself.id) && !node.view.stateOk) return `node ${node.port} reports cluster_state:fail`;
      if (!sources.has(node.view.myself.id)) continue;
      const notMaster = node.view.nodes.find((e) => destinations.has(e.id) && !isMaster(e));
      if (notMaster) return `node ${node.port} still sees ${notMaster.id} as a replica`;
    }
    return null;
  });

  // 4c. Moves, grouped by (source, destination); pairs run at once, each pair round by round.
  const pairs = new Map<string, { src: SlotNode; dst: SlotNode; slots: number[] }>();
  for (const m of moves) {
    const key = `${m.from}>${m.to}`;
    const src = slotNode(c, m.from);
    if (!src) throw new Error(`slots ${m.slot}… are owned by node ${m.from}, which is not running: cannot move them`);
    const entry = pairs.get(key) ?? { src, dst: slotNode(c, m.to)!, slots: [] };
    entry.slots.push(m.slot);
    pairs.set(key, entry);
  }
  const started = Date.now();
  // What Driver.changeProgress reports while the slots move: slots handed over, of the slots to move.
  const progress = { done: 0, total: moves.length, unit: 'slots' as const };
  c.ctx.progress.set(c.spec.id, progress);
  const counts = await Promise.all(
    [...pairs.values()].map(async ({ src, dst, slots }) => {
      let keys = 0;
      for (let i = 0; i < slots.length; i += SLOTS_PER_ROUND) {
        const round = slots.slice(i, i + SLOTS_PER_ROUND);
        keys += await migrateSlots(src, dst, round, opts);
        progress.done += round.length;
      }
      return keys;
    }),
  );
  const keys = counts.reduce((a, b) => a + b, 0);
  c.log({ slots: moves.length, keys, ms: Date.now() - started }, 'slots migrated');
  return moved + keys;
}

/** Step 5: nodes in the cluster that the spec no longer has (removed shards) are stopped and forgotten. */
async function removeExtraNodes(c: Cluster): Promise<void> {
  const { ctx, spec, secrets } = c;
  const keep = new Set(c.specPorts);
  const extraPorts = [...c.live.keys()].filter((p) => !keep.has(p));
  const dir = instanceDir(ctx.dataDir, spec.id);
  const onDisk = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n)).map(Number).filter((p) => !keep.has(p));
  if (extraPorts.length === 0 && onDisk.length === 0) return;
  for (const p of extraPorts) {
    const n = c.live.get(p)!;
    if (slotCount(n.view.myself.slots) > 0) throw new Error(`node ${p} of a removed shard still owns slots`);
  }
  await Promise.all(
    [...new Set([...extraPorts, ...onDisk])].map(async (port) => {
      const paths = nodePaths(ctx.dataDir, spec.id, port);
      // A probe that fails (a node that does not answer in time) fails the step: only a port we know is
      // free or held by someone else lets us delete the directory of a node that may still run.
      const probe = await inspectNode(ctx, paths, port, secrets, c.signal);
      // A running node that is not a cluster node is the old master-slave topology of a type change:
      // cluster-retype.ts copies its data first and stops it.
      if (probe.kind === 'ours' && !(await isClusterEnabled(probe.client))) return;
      // A port reused by someone else since: its process is not ours to stop; the directory still is.
      const admin = probe.kind === 'ours' ? probe.client : null;
      if (probe.kind !== 'foreign') {
        const cgroup = nodeCgroupRef(ctx, spec.id, port);
        await stopNode({ paths, host: ctx.bindHost, port, admin, logger: ctx.logger, signal: c.signal, ...(cgroup ? { cgroup } : {}) });
      }
      ctx.pool.drop(port);
      c.live.delete(port);
      if (await stat(paths.dir).catch(() => null)) await rm(paths.dir, { recursive: true, force: true });
    }),
  );
  c.log({ ports: extraPorts }, 'nodes of removed shards stopped');
  await c.refresh();
  await forgetGhosts(c);
}

/** Adds to `c.live` the running nodes of removed shards, so their slots can be moved away. */
async function adoptExtraNodes(c: Cluster): Promise<void> {
  const { ctx, spec, secrets } = c;
  const keep = new Set(c.specPorts);
  const ports = new Set<number>();
  for (const node of c.live.values()) for (const e of node.view.nodes) if (!keep.has(e.port) && e.port > 0) ports.add(e.port);
  for (const port of ports) {
    const paths = nodePaths(ctx.dataDir, spec.id, port);
    if (!(await stat(paths.conf).catch(() => null))) continue;
    let probe = await inspectNode(ctx, paths, port, secrets, c.signal);
    if (probe.kind === 'foreign') continue;
    if (probe.kind === 'free') {
      const entry = [...c.live.values()].flatMap((n) => n.view.nodes).find((e) => e.port === port);
      if (!entry || slotCount(entry.slots) === 0) continue;
      // A removed shard's master died mid-drain: bring it back from its own files to finish the move.
      const cgroup = nodeCgroup(ctx, spec.id, port, nodeSettings(ctx, spec).maxmemoryBytes);
      await startNode({ redisServer: ctx.redisServer, paths, host: ctx.bindHost, port, logger: ctx.logger, signal: c.signal, ...(cgroup ? { cgroup } : {}) });
      const client = await ctx.pool.get(port, secrets);
      await waitUntilLoaded(client, port, c.signal);
      probe = { kind: 'ours', client, state: await readNodeState(client) };
    }
    await c.add(port, probe.client);
  }
}

/** Step 6: every spec node reports the healthy cluster (the same checks as observe). */
async function waitHealthy(c: Cluster): Promise<void> {
  const n = c.shards.length;
  const ids = c.specPorts.map((p) => c.id(p));
  const masterIds = c.shards.map((s) => c.id(s.master));
  await c.waitFor('the cluster to be healthy on every node', () => {
    for (const p of c.specPorts) {
      const v = c.live.get(p)!.view;
      if (!v.stateOk) return `node ${p} reports cluster_state:fail`;
      if (v.knownNodes !== ids.length) return `node ${p} knows ${v.knownNodes} nodes, not ${ids.length}`;
      const byId = new Map(v.nodes.map((e) => [e.id, e]));
      for (let i = 0; i < n; i++) {
        const e = byId.get(masterIds[i]!);
        if (!e || slotCount(e.slots) !== targetSlotCount(i, n)) return `node ${p} does not see shard ${i}'s slots yet`;
      }
      // A replica's role is judged by its own view (and its link, below). Other nodes learn a role change
      // by gossip within cluster-node-timeout / 2; clients route by slots, which every node agrees on.
      const shard = c.shards.find((s) => s.replica === p);
      if (shard && v.myself.masterId !== c.id(shard.master)) return `replica ${p} does not follow master ${shard.master} yet`;
    }
    return null;
  });
  await Promise.all(
    c.shards.map(async (s) => {
      const r = c.live.get(s.replica)!;
      const state = await readNodeState(r.client);
      const upstream = tlsPortOf(c.spec, s.master);
      if (state.linkUp && state.masterPort === upstream) return;
      const deadline = Date.now() + SYNC_TIMEOUT_MS;
      for (;;) {
        const now = await readNodeState(r.client);
        if (now.linkUp && now.masterPort === upstream) return;
        if (Date.now() > deadline) throw new Error(`replica ${s.replica} did not link to master ${s.master}`);
        await sleep(POLL_MS, c.signal);
      }
    }),
  );
}

async function ensurePresent(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, signal: AbortSignal): Promise<void> {
  const c = new Cluster(ctx, spec, secrets, signal);
  await startNodes(c);
  // Settings before data moves in: a new shard gets its maxmemory before it receives a single key.
  await Promise.all(
    plan(spec).map(async (n) => {
      const live = c.live.get(n.port)!;
      await convergeNode(ctx, live.client, await readNodeState(live.client), spec, n.port, secrets);
      await writeNodeConf(plannedNodeConf(ctx, spec, secrets, n));
    }),
  );
  await formMembership(c);
  await assignUnclaimedSlots(c);
  await ensureRoles(c);
  await adoptExtraNodes(c);
  await balanceSlots(c);
  await removeExtraNodes(c);
  await waitHealthy(c);
}

async function observe(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, _signal: AbortSignal): Promise<LocalObservation> {
  return observeCluster(ctx, spec, secrets, shardsOf(spec));
}

/** The native-cluster topology handler. */
export const nativeCluster: TopologyHandler = { plan, ensurePresent, observe };

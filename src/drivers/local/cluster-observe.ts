/**
 * Health of a native-cluster instance, read as the admin user; changes nothing. Healthy means what a
 * cluster client needs: every node up with the class settings and password, `cluster_state:ok`, all
 * 16384 slots served by the spec's masters and by no one else, each master with its replica linked,
 * and no slot left migrating or importing.
 */
import { type LocalNodeObservation, type LocalObservation, type LocalSpec } from './local-spec.ts';
import { readClusterView, SLOT_COUNT, slotCount, type ClusterView } from './cluster-nodes.ts';
import { readAnswering } from './inspect-node.ts';
import { nodePaths } from './instance-paths.ts';
import { nodeProblems } from './node-problems.ts';
import { tlsPortOf } from './topology-handler.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import { effectiveMaxClients, type LocalContext } from './local-context.ts';
import { readNodeState, type NodeState } from './node-state.ts';
import { downNode, toNodeObservation } from './node-observation.ts';

interface Seen {
  obs: LocalNodeObservation;
  state: NodeState | null;
  view: ClusterView | null;
  error: string | null;
}

async function observeNode(ctx: LocalContext, port: number, secrets: InstanceCredentials): Promise<Seen> {
  try {
    const paths = nodePaths(ctx.dataDir, secrets.instanceId, port);
    const [state, view] = await readAnswering(ctx, paths, port, secrets, (client) => Promise.all([readNodeState(client), readClusterView(client)]));
    return {
      state,
      view,
      error: null,
      obs: toNodeObservation(port, state),
    };
  } catch (err) {
    return { obs: downNode(port), state: null, view: null, error: (err as Error).message };
  }
}

export async function observeCluster(
  ctx: LocalContext,
  spec: LocalSpec,
  secrets: InstanceCredentials,
  shards: ReadonlyArray<{ master: number; replica: number }>,
): Promise<LocalObservation> {
  const ports = shards.flatMap((s) => [s.master, s.replica]);
  const seen = await Promise.all(ports.map((p) => observeNode(ctx, p, secrets)));
  const byPort = new Map(ports.map((p, i) => [p, seen[i]!]));
  const problems: string[] = [];
  const drift: string[] = [];
  for (const node of seen) {
    const { port } = node.obs;
    if (!node.state || !node.view) {
      problems.push(`node ${port} is down: ${node.error}`);
      continue;
    }
    const found = await nodeProblems(ctx, spec, secrets, 'node', port, node.state);
    problems.push(...found.problems);
    drift.push(...found.drift);
    if (!node.view.stateOk) problems.push(`node ${port} reports cluster_state:fail`);
    if (node.view.knownNodes !== ports.length) problems.push(`node ${port} knows ${node.view.knownNodes} cluster nodes, the spec has ${ports.length}`);
    const open = [...node.view.myself.migrating.keys(), ...node.view.myself.importing.keys()];
    if (open.length > 0) problems.push(`node ${port} has ${open.length} slots migrating or importing (e.g. ${open[0]})`);
  }
  let served = 0;
  let usedMemoryBytes = 0;
  for (const s of shards) {
    const m = byPort.get(s.master)!;
    const r = byPort.get(s.replica)!;
    if (m.state && m.view) {
      if (m.state.role !== 'master') problems.push(`master ${s.master} has role ${m.state.role}`);
      else {
        usedMemoryBytes += m.state.usedMemoryBytes;
        const owned = slotCount(m.view.myself.slots);
        served += owned;
        if (owned === 0) problems.push(`master ${s.master} serves no slots`);
        if (!m.state.replicaPorts.includes(s.replica)) problems.push(`master ${s.master} has no replica connected from ${s.replica}`);
      }
    }
    if (r.state && m.view) {
      if (r.state.role !== 'replica' || r.state.masterPort !== tlsPortOf(spec, s.master) || r.view?.myself.masterId !== m.view.myself.id) {
        problems.push(`replica ${s.replica} does not replicate from ${s.master}`);
      } else if (!r.state.linkUp) {
        problems.push(`replica ${s.replica} link to the master is down`);
      }
    }
  }
  if (served !== SLOT_COUNT && seen.every((n) => n.state)) problems.push(`the masters serve ${served} of ${SLOT_COUNT} slots`);
  return {
    healthy: problems.length === 0,
    problems,
    drift,
    nodes: seen.map((n) => n.obs),
    effectiveMaxClients: effectiveMaxClients(ctx, spec),
    usedMemoryBytes,
  };
}

/**
 * Split-brain checks for the chaos run, asked as the customer (ROLE and CLUSTER NODES are open to it):
 * how many nodes of an instance claim to be masters, and whether two of them claim the same slots.
 */
import { readFileSync } from 'node:fs';
import { parseClusterNodes, slotCount, SLOT_COUNT } from '../../src/drivers/local/cluster-nodes.ts';
import { connectWithAny } from './chaos-writer.ts';

/** What one node says it is; null when it does not answer (down, starting, frozen). */
interface Claim {
  port: number;
  master: boolean;
  /** For a cluster master: the slot ranges it serves by its own `myself` line. */
  slots: Array<[number, number]>;
}

async function claimOf(host: string, port: number, passwords: readonly (string | null)[], cluster: boolean): Promise<Claim | null> {
  const client = await connectWithAny(host, port, passwords);
  if (!client) return null;
  try {
    const role = (await client.call('ROLE')) as unknown[];
    const master = role[0] === 'master';
    if (!cluster || !master) return { port, master, slots: [] };
    const me = parseClusterNodes(String(await client.call('CLUSTER', 'NODES'))).find((e) => e.flags.has('myself'));
    return { port, master, slots: me?.slots ?? [] };
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

/**
 * Two masters serving the same data, as the nodes themselves claim it: for master-slave, more than one
 * node answering ROLE master; for a cluster, a slot claimed by two masters. Null when there is none.
 * Nodes that do not answer claim nothing.
 */
export async function splitBrain(host: string, ports: readonly number[], passwords: readonly (string | null)[], cluster: boolean): Promise<string | null> {
  const claims = (await Promise.all(ports.map((p) => claimOf(host, p, passwords, cluster)))).filter((c): c is Claim => c !== null && c.master);
  if (!cluster) return claims.length > 1 ? `nodes ${claims.map((c) => c.port).join(' and ')} all answer ROLE master` : null;
  const owner = new Map<number, number>();
  for (const c of claims) {
    for (const [from, to] of c.slots) {
      for (let slot = from; slot <= to; slot++) {
        const other = owner.get(slot);
        if (other !== undefined) return `slot ${slot} is claimed by masters ${other} and ${c.port}`;
        owner.set(slot, c.port);
      }
    }
  }
  return null;
}

/**
 * Polls `splitBrain` until there is none; returns the last finding when one lasts `timeoutMs`. A
 * handover (a failover, a restore from the replica) shows two claims for a moment; a split brain lasts.
 */
export async function lastingSplitBrain(host: string, ports: readonly number[], passwords: readonly (string | null)[], cluster: boolean, timeoutMs = 10_000): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await splitBrain(host, ports, passwords, cluster);
    if (found === null || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The roles of a settled, running instance: master-slave, the published port is the one master and the
 * other node a replica; a cluster, `shards` masters that serve all 16384 slots between them, each once,
 * and as many replicas. Returns one line per problem.
 */
export async function roleProblems(host: string, publishedPort: number, ports: readonly number[], password: string | null, cluster: boolean, shards: number): Promise<string[]> {
  const claims = await Promise.all(ports.map((p) => claimOf(host, p, [password], cluster)));
  const problems: string[] = [];
  claims.forEach((c, i) => {
    if (c === null) problems.push(`node ${ports[i]} does not answer ROLE`);
  });
  const masters = claims.filter((c): c is Claim => c !== null && c.master);
  const wanted = cluster ? shards : 1;
  if (masters.length !== wanted) problems.push(`${masters.length} nodes answer ROLE master (${masters.map((m) => m.port).join(', ')}), expected ${wanted}`);
  if (!cluster && masters.length === 1 && masters[0]!.port !== publishedPort) problems.push(`the master is node ${masters[0]!.port}, not the published port ${publishedPort}`);
  if (cluster) {
    const brain = await splitBrain(host, ports, [password], true);
    if (brain) problems.push(brain);
    const served = masters.reduce((n, m) => n + slotCount(m.slots), 0);
    if (brain === null && served !== SLOT_COUNT) problems.push(`the masters serve ${served} of ${SLOT_COUNT} slots`);
  }
  return problems;
}

/** The kernel's state letter of `pid` (`T`: stopped), or null when it does not exist. */
export function processStateSync(pid: number): string | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.charAt(text.lastIndexOf(')') + 2) || null;
  } catch {
    return null;
  }
}

/**
 * Client ports a restore closed (rdb-restore.ts: `port 0` while the data is replaced), given back by the
 * repair when the restore never got to do it itself (given up, or its openAfterRestore failed: a node that
 * did not answer, the service killed in between), and the port a cluster node announces on its bus.
 */
import type { Redis } from 'ioredis';
import type { NodeProbe } from './inspect-node.ts';
import type { LocalContext } from './local-context.ts';
import type { LocalSpec } from './local-spec.ts';

/**
 * Arguments for starting a cluster node without its client port (`--port 0`) that still announces its
 * real one. Redis 7.0 derives the port a node announces on the bus (and shows for itself in CLUSTER NODES)
 * from `port` at start only; a later `CONFIG SET port` does not change it. Started with plain `--port 0`, a
 * node would announce port 0 until restarted, and the cluster's repair could never see it at its port.
 * With a TLS bus both announce settings are needed: `cluster-announce-port` alone would replace the TLS one.
 */
export function closedClusterPortArgs(port: number, tlsPort: number): string[] {
  return ['--port', '0', '--cluster-announce-tls-port', String(tlsPort), '--cluster-announce-port', String(port)];
}

/**
 * Makes a cluster node announce its real client and TLS ports, and then drops the overrides: Redis 7.0
 * re-derives what it announces when these settings change, from the `port` it now listens on. Safe to
 * repeat; after it the node announces what a node started from its conf would.
 */
export async function announceRealPorts(client: Redis, port: number, tlsPort: number): Promise<void> {
  await client.call('CONFIG', 'SET', 'cluster-announce-tls-port', String(tlsPort), 'cluster-announce-port', String(port));
  await client.call('CONFIG', 'SET', 'cluster-announce-tls-port', '0', 'cluster-announce-port', '0');
}

/**
 * Gives a node whose client port a restore closed its port back. The service's restore marker may still
 * hold that port: it lets go of it first. Only for a node the caller verified is ours (inspect-node.ts).
 * `by`: the restore's own last step, or the repair, for a restore that did not finish (given up in this
 * service process, or its last step failed), which runs only when no restore of the instance runs (the
 * engine runs one task per instance, and the repair runs between tasks) and is logged.
 */
export async function reopenClientPort(ctx: LocalContext, spec: LocalSpec, client: Redis, port: number, by: 'restore' | 'repair' = 'repair'): Promise<void> {
  await ctx.restoreMarkers.get(spec.id)?.release(port);
  await client.call('CONFIG', 'SET', 'port', String(port));
  if (by === 'repair') ctx.logger.warn({ instanceId: spec.id, port }, 'client port left closed by a restore that did not finish: reopened');
}

/** Every node of `probes` (each with its port) that a restore left without its client port gets it back. */
export async function reopenClosedPorts(ctx: LocalContext, spec: LocalSpec, probes: ReadonlyArray<readonly [NodeProbe, number]>): Promise<void> {
  for (const [probe, port] of probes) if (probe.kind === 'ours' && probe.state.tcpPort === 0) await reopenClientPort(ctx, spec, probe.client, port);
}

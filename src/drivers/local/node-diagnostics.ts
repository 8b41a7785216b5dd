import type { Redis } from 'ioredis';
import type { NodeDiagnostics } from '../driver.ts';

/** What one node reports, before the driver adds where it sits in the layout. */
export type NodeReport = Pick<NodeDiagnostics, 'role' | 'slowLog' | 'clients'>;

/** `k=v k=v …` lines of CLIENT LIST. */
function parseClientLine(line: string): Map<string, string> {
  return new Map(
    line
      .split(' ')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
  );
}

/**
 * Whether a connection or slow-log entry is the service's own: the control plane comes in over the
 * node's unix socket (its address is a path) as an internal user, replication links are flagged M/S.
 * Those are not the tenant's clients, and their commands (ACL SETUSER …) are not the tenant's business.
 */
function isInternal(addr: string, user = '', flags = ''): boolean {
  return addr.startsWith('/') || user.startsWith('jcs-') || /[MS]/.test(flags);
}

/** Reads a node's slow log and client list in one round trip, over the admin connection. */
export async function readNodeReport(client: Redis): Promise<NodeReport> {
  const results = await client.pipeline().call('ROLE').call('SLOWLOG', 'GET', '-1').call('CLIENT', 'LIST').exec();
  if (!results) throw new Error('pipeline returned nothing');
  for (const [err] of results) if (err) throw err;
  const role = String((results[0]?.[1] as unknown[])[0]) === 'master' ? 'master' : 'replica';
  const connections = String(results[2]?.[1] ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(parseClientLine);
  // A replica's slow log also holds what its master streamed to it: those entries come from the
  // replication link's address, which CLIENT LIST flags M (S on the master's side).
  const internalAddrs = new Set(connections.filter((c) => isInternal(c.get('addr') ?? '', c.get('user'), c.get('flags'))).map((c) => c.get('addr') ?? ''));
  const slowLog = ((results[1]?.[1] as unknown[][]) ?? [])
    .map((e) => ({
      id: Number(e[0]),
      startUnixS: Number(e[1]),
      durationUs: Number(e[2]),
      args: ((e[3] as unknown[]) ?? []).map(String),
      clientAddr: String(e[4] ?? ''),
      clientName: String(e[5] ?? ''),
    }))
    .filter((e) => !isInternal(e.clientAddr) && !internalAddrs.has(e.clientAddr));
  const clients = connections
    .filter((c) => !isInternal(c.get('addr') ?? '', c.get('user'), c.get('flags')))
    .map((c) => ({
      addr: c.get('addr') ?? '',
      name: c.get('name') ?? '',
      ageS: Number(c.get('age') ?? 0),
      idleS: Number(c.get('idle') ?? 0),
      db: Number(c.get('db') ?? 0),
      lastCmd: c.get('cmd') ?? '',
    }));
  return { role, slowLog, clients };
}

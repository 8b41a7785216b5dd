/**
 * Diagnostics of an instance (issue 16): slow log, client connections and topology, read live from every
 * node and aggregated over shards (`shardId` says where an entry comes from). Read-only; scoped to the
 * caller's account and region like every operation (another account's instance is NOT_FOUND).
 */
import { isIP } from 'node:net';
import type { NodeDiagnostics, NodeObservation, ProxyObservation } from '../../drivers/driver.ts';
import type { Db } from '../../store/open-store.ts';
import { findInstance, type InstanceRecord } from '../../store/instances-repo.ts';
import { DomainError } from '../domain-error.ts';
import type { RequestScope } from '../instances/instance-inputs.ts';
import { formatJdTime, parseJdTime } from '../time-format.ts';

export interface DiagnosticsDeps {
  db: Db;
  /** Every answering node's report for the instance of `row` (the driver's inspectNodes; main.ts wires it). */
  inspect: (row: InstanceRecord) => Promise<NodeDiagnostics[]>;
  /** Every node of the instance of `row`, observed now (down ones included), and its proxies (a proxy cluster's). */
  topology: (row: InstanceRecord) => Promise<{
    nodes: Pick<NodeObservation, 'shard' | 'slot' | 'role' | 'address'>[];
    proxies?: Pick<ProxyObservation, 'index' | 'address' | 'up'>[];
  }>;
}

export interface SlowLogQuery {
  pageNumber?: number;
  pageSize?: number;
  startTime?: string;
  endTime?: string;
  shardId?: string;
  shardAddr?: string;
}

const shardId = (row: InstanceRecord, shard: number): string => `${row.id}-shard-${shard}`;

/** The longest command line a slow-log answer shows: Redis keeps 32 arguments of 128 bytes each anyway. */
const MAX_COMMAND_CHARS = 1024;


export type DiagnosticsService = ReturnType<typeof createDiagnosticsService>;

export function createDiagnosticsService(deps: DiagnosticsDeps) {
  async function mustFindLive(scope: RequestScope, id: string): Promise<InstanceRecord> {
    const row = await findInstance(deps.db, scope.account, scope.region, id);
    if (!row) throw new DomainError('NOT_FOUND', `cacheInstance ${id} not found`);
    if (row.status === 'creating' || row.status === 'deleting') {
      throw new DomainError('FAILED_PRECONDITION', `cacheInstance ${id} is ${row.status}; its nodes are read once it is running`);
    }
    return row;
  }

  /** The driver's answer, or UNAVAILABLE (retryable) when the nodes could not be read at all. */
  async function read<T>(what: string, row: InstanceRecord, fn: (row: InstanceRecord) => Promise<T>): Promise<T> {
    try {
      return await fn(row);
    } catch {
      throw new DomainError('UNAVAILABLE', `the ${what} of cacheInstance ${row.id} could not be read from its nodes just now; try again`);
    }
  }

  async function clients(row: InstanceRecord) {
    return (await read('clients', row, deps.inspect)).flatMap((n) => n.clients.map((c) => ({ ...c, shardId: shardId(row, n.shard) })));
  }

  return {
    /** Newest first over every node; filtered by time window, shard and node address; paged. */
    async slowLog(scope: RequestScope, id: string, q: SlowLogQuery) {
      const pageNumber = q.pageNumber ?? 1;
      const pageSize = q.pageSize ?? 10;
      if (!Number.isSafeInteger(pageNumber) || pageNumber < 1) throw new DomainError('INVALID_ARGUMENT', `pageNumber: must be an integer of at least 1, got ${q.pageNumber}`);
      if (!Number.isSafeInteger(pageSize) || pageSize < 10 || pageSize > 100) throw new DomainError('INVALID_ARGUMENT', `pageSize: must be an integer from 10 to 100, got ${q.pageSize}`);
      const from = parseJdTime(q.startTime, 'startTime');
      const to = parseJdTime(q.endTime, 'endTime');
      if (from !== undefined && to !== undefined && to < from) throw new DomainError('INVALID_ARGUMENT', 'endTime: must not be before startTime');
      const row = await mustFindLive(scope, id);
      const entries = (await read('slow log', row, deps.inspect))
        .filter((n) => (q.shardId ? shardId(row, n.shard) === q.shardId : true) && (q.shardAddr ? n.address === q.shardAddr : true))
        .flatMap((n) => n.slowLog.map((e) => ({ ...e, shardId: shardId(row, n.shard) })))
        .filter((e) => (from === undefined || e.startUnixS * 1000 >= from) && (to === undefined || e.startUnixS * 1000 <= to))
        .sort((a, b) => b.startUnixS - a.startUnixS || b.id - a.id);
      const page = entries.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
      return {
        slowLogs: page.map((e) => ({
          command: e.args.join(' ').slice(0, MAX_COMMAND_CHARS),
          startTime: formatJdTime(new Date(e.startUnixS * 1000)),
          executionTime: `${(e.durationUs / 1000).toFixed(3)}ms`,
          shardId: e.shardId,
          clientAddr: e.clientAddr,
          clientName: e.clientName,
        })),
        totalCount: entries.length,
      };
    },

    /** Client connections per client IP, over every node. */
    async clientList(scope: RequestScope, id: string) {
      const row = await mustFindLive(scope, id);
      const counts = new Map<string, number>();
      for (const c of await clients(row)) {
        const ip = c.addr.slice(0, c.addr.lastIndexOf(':')).replace(/^\[|\]$/g, '');
        counts.set(ip, (counts.get(ip) ?? 0) + 1);
      }
      return { ips: [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([ip, clientCount]) => ({ ip, clientCount })) };
    },

    /** The connections of one client IP, over every node. */
    async clientIpDetail(scope: RequestScope, id: string, ip: string) {
      if (isIP(ip) === 0) throw new DomainError('INVALID_ARGUMENT', `ip: must be an IPv4 or IPv6 address, got "${ip}"`);
      const row = await mustFindLive(scope, id);
      const details = (await clients(row))
        .filter((c) => c.addr.slice(0, c.addr.lastIndexOf(':')).replace(/^\[|\]$/g, '') === ip)
        .map((c) => ({
          name: c.name,
          port: c.addr.slice(c.addr.lastIndexOf(':') + 1),
          age: String(c.ageS),
          idle: String(c.idleS),
          db: String(c.db),
          lastCmd: c.lastCmd,
          shardId: c.shardId,
        }));
      return { details };
    },

    /** Shards and their nodes with roles and addresses, and a proxy cluster's proxies. */
    async clusterInfo(scope: RequestScope, id: string) {
      const row = await mustFindLive(scope, id);
      const { nodes, proxies = [] } = await read('topology', row, deps.topology);
      const shards = [...new Set(nodes.map((n) => n.shard))].sort((a, b) => a - b);
      return {
        info: {
          proxies: proxies.map((p) => ({ id: `${row.id}-proxy-${p.index}`, address: p.address, status: p.up ? 'running' : 'error' })),
          shards: shards.map((s) => ({ id: shardId(row, s) })),
          redis: nodes.map((n) => ({ id: `${shardId(row, n.shard)}-${n.slot}`, shardId: shardId(row, n.shard), role: n.role, address: n.address ?? '' })),
        },
      };
    },
  };
}

import type { Kysely, Transaction } from 'kysely';
import type { Database, PortsTable } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;

/**
 * Reserves `roles.length` free ports from [from, to] for an instance, lowest first, skipping `avoid`.
 * Must run inside the caller's transaction so two creates can never get the same port (the primary
 * key enforces it too). Returns null when the range is exhausted.
 */
export async function reservePorts(
  db: Q,
  instanceId: string,
  roles: string[],
  range: { from: number; to: number },
  avoid: ReadonlySet<number> = new Set(),
): Promise<PortsTable[] | null> {
  const taken = new Set(
    (await db.selectFrom('ports').select('port').where('port', '>=', range.from).where('port', '<=', range.to).execute()).map(
      (r) => r.port,
    ),
  );
  const rows: PortsTable[] = [];
  for (let port = range.from; port <= range.to && rows.length < roles.length; port++) {
    if (taken.has(port) || avoid.has(port)) continue;
    rows.push({ port, instance_id: instanceId, role: roles[rows.length]! });
  }
  if (rows.length < roles.length) return null;
  await db.insertInto('ports').values(rows).execute();
  return rows;
}

export async function portsOf(db: Q, instanceId: string): Promise<PortsTable[]> {
  return db.selectFrom('ports').selectAll().where('instance_id', '=', instanceId).orderBy('port').execute();
}

export async function releasePorts(db: Q, instanceId: string, ports?: number[]): Promise<void> {
  let q = db.deleteFrom('ports').where('instance_id', '=', instanceId);
  if (ports) q = q.where('port', 'in', ports);
  await q.execute();
}

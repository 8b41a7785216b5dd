/**
 * Where a scan of one node's keys (a data purge, a cache analysis) stands, as an opaque token the engine
 * stores: the node (its client port), the database, and SCAN's cursor there. A scan walks every database
 * that holds keys, in order. A token made on another node starts over: SCAN cursors mean nothing on
 * another node.
 */
import type { Redis } from 'ioredis';
import { parseInfo } from './node-state.ts';

interface NodeCursor {
  port: number;
  db: number;
  scan: string;
}

const encode = (c: NodeCursor): string => `${c.port}:${c.db}:${c.scan}`;

function decode(token: string | null): NodeCursor | null {
  const m = token === null ? null : /^(\d+):(\d+):(\d+)$/.exec(token);
  return m ? { port: Number(m[1]), db: Number(m[2]), scan: m[3]! } : null;
}

/** Keys per database (`db3:keys=10,expires=…`), over the node's databases that hold any. */
function keyspace(info: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const [name, value] of parseInfo(info)) {
    const m = /^db(\d+)$/.exec(name);
    const keys = /keys=(\d+)/.exec(value);
    if (m && keys) out.set(Number(m[1]), Number(keys[1]));
  }
  return out;
}

/** A scan's next batch on a node: where it starts, and how to make the token of where the batch ended. */
export interface ScanStep {
  /** Database and SCAN cursor to run the batch at; null when the node holds no key (the scan is over). */
  at: { db: number; scan: string } | null;
  /** Keys the node holds now, over its databases below `databases`. */
  shardKeys: number;
  /** True when `token` was made on another node, so the scan starts over here. */
  restarted: boolean;
  /** The token after a batch whose SCAN answered `next`; null when the node is scanned through. */
  after(next: string): string | null;
}

/** Reads the node's keyspace and places `token` (null: the start) on node `port`. */
export async function nextScanStep(client: Redis, port: number, databases: number, token: string | null): Promise<ScanStep> {
  const dbs = keyspace(String(await client.call('INFO', 'keyspace')));
  const shardKeys = [...dbs.values()].reduce((a, b) => a + b, 0);
  const nextDb = (after: number): number | null => {
    const found = [...dbs.keys()].filter((d) => d > after && d < databases).sort((a, b) => a - b)[0];
    return found === undefined ? null : found;
  };
  const given = decode(token);
  const restarted = given !== null && given.port !== port;
  const first = nextDb(-1);
  const at = given && !restarted ? given : first === null ? null : { port, db: first, scan: '0' };
  return {
    at,
    shardKeys,
    restarted,
    after(next) {
      if (!at) return null;
      if (next !== '0') return encode({ ...at, scan: next });
      const db = nextDb(at.db);
      return db === null ? null : encode({ port, db, scan: '0' });
    },
  };
}

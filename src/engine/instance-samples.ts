/**
 * What each instance's nodes reported at their last health checks, kept in memory for metrics
 * (`/metrics`) and the console's live charts. Fed only by the engine's own observations (the health
 * check and a task's verification): reading a sample never reaches Redis, so a scrape or a page view
 * costs no Redis call. Not persisted: after a restart the history starts again.
 *
 * Who may read: the store of samples has no notion of accounts; whoever hands a sample to a caller
 * (an API route, the console) checks first that the instance is the caller's.
 */
import type { NodeObservation, Observation } from '../drivers/driver.ts';

/** One node at one health check. Counters are null while the node is down or the driver does not read them. */
export interface NodeSample {
  /** Client port the node listens on (0 when the driver has not placed it). */
  port: number;
  role: 'master' | 'replica' | 'down';
  /** The shard it belongs to (null when unknown). */
  shard: number | null;
  /** Its place in the healthy layout (a promoted replica has slot `replica` and role `master`). */
  slot: 'master' | 'replica';
  usedMemoryBytes: number | null;
  maxmemoryBytes: number | null;
  /** As Redis counts them: the control plane's connection and the replication link included. */
  connectedClients: number | null;
  opsPerSec: number | null;
  /** Totals since the node started (they fall back to 0 when it restarts). */
  keyspaceHits: number | null;
  keyspaceMisses: number | null;
  evictedKeys: number | null;
  /** For a replica: bytes of replication stream its shard's master has and it has not (null for masters). */
  replOffsetLag: number | null;
  up: boolean;
}

/** An instance at one health check. */
export interface InstanceSample {
  /** When it was observed, epoch ms. */
  at: number;
  /** Each shard's master, then its replica (the driver's order). */
  nodes: NodeSample[];
}

export interface InstanceSamplesOptions {
  /** The history keeps at most one sample per this many ms (the latest is always kept). Default 10 s. */
  intervalMs?: number;
  /** How far back the history goes. Default one hour. */
  keepMs?: number;
}

interface Kept {
  /** Oldest first, at least `intervalMs` apart, bounded by `capacity`. */
  ring: InstanceSample[];
  latest: InstanceSample;
  /** When a shard's master was last seen lost (see lastFailoverAt). */
  failoverAt: number | undefined;
}

/** Ports serving as master, by shard. */
const mastersOf = (sample: InstanceSample): Map<number | null, number> =>
  new Map(sample.nodes.filter((n) => n.role === 'master').map((n) => [n.shard, n.port]));

/** A bounded ring of samples per instance: one per `intervalMs`, for `keepMs`, plus the latest. */
export class InstanceSamples {
  private readonly intervalMs: number;
  private readonly capacity: number;
  private readonly kept = new Map<string, Kept>();

  constructor(options: InstanceSamplesOptions = {}) {
    this.intervalMs = options.intervalMs ?? 10_000;
    this.capacity = Math.max(1, Math.ceil((options.keepMs ?? 3_600_000) / this.intervalMs));
  }

  /** Keeps `sample` as the instance's latest, and in its history when the last entry there is `intervalMs` old. */
  record(instanceId: string, sample: InstanceSample): void {
    const kept = this.kept.get(instanceId);
    if (!kept) {
      this.kept.set(instanceId, { ring: [sample], latest: sample, failoverAt: undefined });
      return;
    }
    if (sample.at < kept.latest.at) return; // an observation that finished late says less than the one kept
    const now = mastersOf(sample);
    for (const [shard, port] of mastersOf(kept.latest)) if (now.get(shard) !== port) kept.failoverAt = sample.at;
    kept.latest = sample;
    const last = kept.ring[kept.ring.length - 1];
    if (last && sample.at - last.at < this.intervalMs) return;
    kept.ring.push(sample);
    if (kept.ring.length > this.capacity) kept.ring.shift();
  }

  /** The instance's last sample, or undefined when it was never observed (or was forgotten). */
  latest(instanceId: string): InstanceSample | undefined {
    return this.kept.get(instanceId)?.latest;
  }

  /**
   * The instance's history, oldest first: samples taken after `sinceMs` (all when omitted), one per
   * interval, ending with the latest sample.
   */
  history(instanceId: string, sinceMs = -Infinity): InstanceSample[] {
    const kept = this.kept.get(instanceId);
    if (!kept) return [];
    const out = kept.ring.filter((s) => s.at > sinceMs);
    if (kept.latest.at > sinceMs && out[out.length - 1] !== kept.latest) out.push(kept.latest);
    return out;
  }

  /**
   * When a shard of the instance last lost its master (epoch ms): the first sample in which a node that
   * served as a shard's master no longer does (it died, hung, or Redis Cluster promoted its replica).
   * Undefined when that was not seen since the service started.
   */
  lastFailoverAt(instanceId: string): number | undefined {
    return this.kept.get(instanceId)?.failoverAt;
  }

  /** Ids of every instance with a sample (metrics iterate them). */
  instanceIds(): string[] {
    return [...this.kept.keys()];
  }

  /** Drops the instance's samples (it was deleted). */
  forget(instanceId: string): void {
    this.kept.delete(instanceId);
  }
}

const portOf = (address: string | null): number => {
  const port = Number(address?.slice(address.lastIndexOf(':') + 1));
  return Number.isInteger(port) && port > 0 ? port : 0;
};

/** A sample from an observation: what the driver read, nothing more. */
export function sampleOf(obs: Observation, at: number): InstanceSample {
  const masterOffset = new Map<number, number>();
  for (const n of obs.nodes) if (n.role === 'master' && n.replOffset !== null) masterOffset.set(n.shard, n.replOffset);
  const lag = (n: NodeObservation): number | null => {
    const master = masterOffset.get(n.shard);
    return n.role === 'replica' && master !== undefined && n.replOffset !== null ? Math.max(0, master - n.replOffset) : null;
  };
  return {
    at,
    nodes: obs.nodes.map((n) => {
      const up = n.role !== 'down';
      const seen = (v: number | null | undefined): number | null => (up ? (v ?? null) : null);
      return {
        port: portOf(n.address),
        role: n.role,
        shard: n.shard,
        slot: n.slot,
        usedMemoryBytes: seen(n.usedMemoryBytes),
        maxmemoryBytes: seen(n.maxmemoryBytes),
        connectedClients: seen(n.connectedClients),
        opsPerSec: seen(n.opsPerSec),
        keyspaceHits: seen(n.keyspaceHits),
        keyspaceMisses: seen(n.keyspaceMisses),
        evictedKeys: seen(n.evictedKeys),
        replOffsetLag: lag(n),
        up,
      };
    }),
  };
}

/**
 * A sample for an instance that could not be observed at all (the observe failed or timed out): the
 * nodes of its last sample, each down. Undefined when there is no last sample to take the layout from.
 */
export function unreachableSample(last: InstanceSample | undefined, at: number): InstanceSample | undefined {
  if (!last) return undefined;
  return {
    at,
    nodes: last.nodes.map((n) => ({
      ...n,
      role: 'down',
      usedMemoryBytes: null,
      maxmemoryBytes: null,
      connectedClients: null,
      opsPerSec: null,
      keyspaceHits: null,
      keyspaceMisses: null,
      evictedKeys: null,
      replOffsetLag: null,
      up: false,
    })),
  };
}

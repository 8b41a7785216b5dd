import { PermanentDriverError } from '../driver.ts';
import { type LocalObservation, type LocalSpec } from './local-spec.ts';
import { nodePaths } from './instance-paths.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import { nodeSettings, type LocalContext } from './local-context.ts';
import type { NodeConf } from './node-conf.ts';
import type { TenantAcl } from './acl-rules.ts';

/** The part of the spec that shapes the tenant's ACL users. */
export function tenantAclOf(spec: LocalSpec): TenantAcl {
  return { disabledCommands: spec.disabledCommands ?? [], accounts: spec.accounts ?? [] };
}

/** A step under way: nothing is wrong, call ensurePresent again (StepResult `progressing`). */
export interface HandlerProgress {
  progressing: string;
}

/** One node of an instance as it is when healthy; drives its conf file. */
export interface NodePlan {
  /** Client port; it names the node. */
  port: number;
  /** Client port of its master, or null for a master. */
  replicaOf: number | null;
  /** Topology-specific conf lines (e.g. `cluster-enabled yes`). */
  extraLines?: readonly string[];
}

/**
 * Topology-specific half of the local driver: one per topology (master-slave.ts, native-cluster.ts).
 * Password and settings changes are topology-independent and live in local-driver.ts, driven by `plan`.
 */
export interface TopologyHandler {
  /** Every node of the instance in its healthy role. Throws PermanentDriverError on an unusable spec. */
  plan(spec: LocalSpec): NodePlan[];
  /**
   * Creates, adopts or repairs the nodes (see DriverInterface.ensurePresent). Answers a HandlerProgress
   * when a long step (a data move) is under way and must be called again.
   */
  ensurePresent(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, signal: AbortSignal): Promise<void | HandlerProgress>;
  /** Reads the nodes as the admin user and judges health for this topology. Changes nothing. */
  observe(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, signal: AbortSignal): Promise<LocalObservation>;
}

/** The TLS port other nodes reach the node with client port `port` on. */
export function tlsPortOf(spec: LocalSpec, port: number): number {
  const internal = spec.internalPorts[port];
  if (!internal) throw new PermanentDriverError(`instance ${spec.id}: node ${port} has no internal ports`);
  return internal.tls;
}

/**
 * The conf of a planned node, with optional overrides used during repair (e.g. a temporary replicaof:
 * an override names the TLS port to replicate from).
 */
export function plannedNodeConf(
  ctx: LocalContext,
  spec: LocalSpec,
  secrets: InstanceCredentials,
  node: NodePlan,
  overrides: Partial<Pick<NodeConf, 'replicaOf' | 'serveStaleData'>> = {},
): NodeConf {
  const settings = nodeSettings(ctx, spec);
  const internal = spec.internalPorts[node.port];
  if (!internal) throw new PermanentDriverError(`instance ${spec.id}: node ${node.port} has no internal ports`);
  const master = node.replicaOf === null ? null : spec.internalPorts[node.replicaOf];
  if (master === undefined) throw new PermanentDriverError(`instance ${spec.id}: master ${node.replicaOf} of node ${node.port} has no internal ports`);
  return {
    port: node.port,
    tlsPort: internal.tls,
    busPort: internal.bus,
    tls: secrets.tls,
    bindHost: ctx.bindHost,
    paths: nodePaths(ctx.dataDir, spec.id, node.port),
    replicaOf: master === null ? null : master.tls,
    databases: spec.databases,
    maxmemoryBytes: settings.maxmemoryBytes,
    maxmemoryPolicy: settings.maxmemoryPolicy,
    maxClients: settings.maxClients,
    passwordSha256: spec.passwordSha256,
    secrets,
    tenantAcl: tenantAclOf(spec),
    ...(spec.redisConfig ? { redisConfig: spec.redisConfig } : {}),
    ...(node.extraLines ? { extraLines: node.extraLines } : {}),
    ...overrides,
  };
}

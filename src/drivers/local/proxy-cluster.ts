/**
 * Proxy-cluster topology (JD's `cluster` type): N shards, each a master and one replica built and repaired
 * exactly as a master-slave instance (master-slave.ts, one shard at a time), behind twemproxy processes
 * (nutcracker.ts) that spread keys over the shards' masters by ketama. A dead master comes back on its own
 * port and socket (master-slave's repair), so the proxies never need to be pointed elsewhere.
 *
 * ensurePresent, level-based like the rest: every shard's pair first; then each proxy's conf is written
 * and a proxy that is not running, or runs an older conf (a password change), is (re)started, one at a
 * time so at most one proxy's clients reconnect at once; then proxies of ports the spec no longer has stop.
 */
import { rm } from 'node:fs/promises';
import { PermanentDriverError } from '../driver.ts';
import { type LocalNodeObservation, type LocalObservation, type LocalSpec } from './local-spec.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import { sha256Hex } from './internal-secrets.ts';
import { nodePaths } from './instance-paths.ts';
import { KetamaRing } from './ketama-ring.ts';
import { effectiveMaxClients, type LocalContext } from './local-context.ts';
import { masterSlave } from './master-slave.ts';
import { readMarker, reshard, reshardMarkerPath, servedRing, writeMarker, type ReshardMarker } from './proxy-reshard.ts';
import { turnBack } from './reshard-turn-back.ts';
import { PortInUseError } from './local-spec.ts';
import {
  probeProxy,
  proxyDirPorts,
  proxyPaths,
  ProxyPortTaken,
  renderProxyConf,
  runningProxy,
  runsConf,
  startProxy,
  stopProxy,
  writeProxyConf,
  type ProxyConf,
} from './nutcracker.ts';
import type { HandlerProgress, NodePlan, TopologyHandler } from './topology-handler.ts';

/** The spec of shard `i` alone, as master-slave.ts builds it. */
export function shardSpec(spec: LocalSpec, i: number): LocalSpec {
  const { proxies: _p, ...rest } = spec;
  return { ...rest, topology: 'master-slave', shards: [spec.shards[i]!] };
}

function check(spec: LocalSpec): void {
  if (spec.topology !== 'cluster') throw new PermanentDriverError(`instance ${spec.id}: not a proxy-cluster spec`);
  if (spec.shards.length < 1) throw new PermanentDriverError(`instance ${spec.id}: a proxy cluster needs at least one shard`);
  if (!spec.proxies || spec.proxies.length < 1) throw new PermanentDriverError(`instance ${spec.id}: a proxy cluster needs at least one proxy`);
  if (spec.passwordSha256 !== null && (spec.password === undefined || sha256Hex(spec.password) !== spec.passwordSha256)) {
    // twemproxy compares the password in clear: without it (or with one that is not the tenant's) the
    // proxy would lock the tenant out. Never guessed, never defaulted.
    throw new PermanentDriverError(`instance ${spec.id}: the proxy needs the instance's password, and the one given does not match its hash`);
  }
}

function plan(spec: LocalSpec): NodePlan[] {
  check(spec);
  return spec.shards.flatMap((_, i) => masterSlave.plan(shardSpec(spec, i)));
}

function proxyConf(ctx: LocalContext, spec: LocalSpec, port: number): ProxyConf {
  return {
    paths: proxyPaths(ctx.dataDir, spec.id, port),
    bindHost: ctx.bindHost,
    port,
    password: spec.passwordSha256 === null ? null : spec.password!,
    // Each shard's planned master: master-slave's repair keeps the master on its port and socket.
    servers: spec.shards.map((s) => nodePaths(ctx.dataDir, spec.id, s.master).socket),
    // The class's connections per shard, per proxy: as many proxies as shards give the class's total.
    clientConnections: effectiveMaxClients(ctx, spec),
  };
}

/** Starts one twemproxy; a held client or statistics port is reported as the engine's PortInUseError. */
async function startProxyOnPort(ctx: LocalContext, conf: ProxyConf, text: string, statsPort: number, signal: AbortSignal): Promise<void> {
  try {
    await startProxy({ nutcracker: ctx.nutcracker, conf, text, statsPort, logger: ctx.logger, signal });
  } catch (err) {
    if (err instanceof ProxyPortTaken) throw new PortInUseError(err.port);
    throw err;
  }
}

/**
 * Starts, restarts (an older conf) or adopts every proxy of the spec, one at a time (`together`: all at
 * once, for a switch of ring while writes wait); stops the others.
 */
export async function ensureProxies(ctx: LocalContext, spec: LocalSpec, signal: AbortSignal, together = false): Promise<void> {
  const proxies = spec.proxies ?? [];
  const ensureOne = async ({ port, statsPort }: { port: number; statsPort: number }): Promise<void> => {
    const conf = proxyConf(ctx, spec, port);
    const text = await writeProxyConf(conf);
    const pid = await runningProxy(conf.paths);
    if (pid !== null && (await runsConf(conf.paths, text))) return;
    if (pid !== null) {
      await stopProxy(conf.paths, ctx.bindHost, port, signal);
      ctx.logger.info({ instanceId: spec.id, port }, 'twemproxy restarted with a new conf');
    }
    await startProxyOnPort(ctx, conf, text, statsPort, signal);
  };
  if (together) await Promise.all(proxies.map(ensureOne));
  else for (const p of proxies) await ensureOne(p);
  const keep = new Set(proxies.map((p) => p.port));
  for (const port of await proxyDirPorts(ctx.dataDir, spec.id)) {
    if (keep.has(port)) continue;
    const paths = proxyPaths(ctx.dataDir, spec.id, port);
    await stopProxy(paths, ctx.bindHost, port, signal);
    await rm(paths.dir, { recursive: true, force: true });
    ctx.logger.info({ instanceId: spec.id, port }, 'twemproxy of a removed port stopped');
  }
}

/** Stops every proxy of an instance (its delete); their directories go with the instance's. */
export async function stopAllProxies(ctx: LocalContext, instanceId: string, signal: AbortSignal): Promise<void> {
  await Promise.all((await proxyDirPorts(ctx.dataDir, instanceId)).map((port) => stopProxy(proxyPaths(ctx.dataDir, instanceId, port), ctx.bindHost, port, signal)));
}

const sameList = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The reshard to run (or resume) for `spec`, or null when the proxies serve its ring already. */
async function pendingReshard(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, signal: AbortSignal): Promise<ReshardMarker | null> {
  const target = spec.shards.map((s) => s.master);
  let marker = await readMarker(ctx, spec.id);
  if (marker && !sameList(marker.to, target)) {
    // A refused resize going back to the old class. In the copy no proxy serves the new ring yet: the
    // change just gets the new target. Past it, reshard-turn-back.ts finds the ring that holds the data.
    if (marker.phase === 'copy') {
      marker = { ...marker, to: target };
      await writeMarker(ctx, spec.id, marker);
    } else {
      marker = await turnBack(ctx, spec, secrets, marker, signal);
      if (!marker) {
        await rm(reshardMarkerPath(ctx, spec.id), { force: true });
        return null;
      }
    }
  }
  if (!marker) {
    const served = await servedRing(ctx, spec.id);
    if (served === null || sameList(served, target)) return null;
    marker = { from: served, to: target, phase: 'copy' };
    await writeMarker(ctx, spec.id, marker);
  }
  const kept = Math.min(marker.from.length, marker.to.length);
  if (!sameList(marker.from.slice(0, kept), marker.to.slice(0, kept))) {
    throw new PermanentDriverError(`instance ${spec.id}: shards that stay must keep their masters' ports (${marker.from.join(',')} → ${marker.to.join(',')})`);
  }
  return marker;
}

/**
 * During a reshard's copy the proxies still serve the old ring, and the health loop leaves an instance
 * alone while its resize is pending: a proxy killed then stayed down until the reshard ended (~40 s in a
 * chaos:pg run). It is started again on the old ring, as it was; the switch replaces it like the others.
 * Only proxies that ran before (their directory exists): a port new with this change starts at the switch.
 */
export async function restartOldRingProxies(ctx: LocalContext, spec: LocalSpec, marker: ReshardMarker, signal: AbortSignal): Promise<void> {
  if (marker.phase !== 'copy') return;
  const existing = new Set(await proxyDirPorts(ctx.dataDir, spec.id));
  for (const { port, statsPort } of spec.proxies ?? []) {
    if (!existing.has(port)) continue;
    const conf = { ...proxyConf(ctx, spec, port), servers: marker.from.map((m) => nodePaths(ctx.dataDir, spec.id, m).socket) };
    if ((await runningProxy(conf.paths)) !== null) continue;
    const text = await writeProxyConf(conf);
    await startProxyOnPort(ctx, conf, text, statsPort, signal);
    ctx.logger.warn({ instanceId: spec.id, port }, 'twemproxy was down during a reshard\'s copy; started again on the old ring');
  }
}

async function ensurePresent(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, signal: AbortSignal): Promise<void | HandlerProgress> {
  check(spec);
  await Promise.all(spec.shards.map((_, i) => masterSlave.ensurePresent(ctx, shardSpec(spec, i), secrets, signal)));
  const marker = await pendingReshard(ctx, spec, secrets, signal);
  if (marker) {
    await restartOldRingProxies(ctx, spec, marker, signal);
    const ports = new Set((spec.proxies ?? []).map((p) => p.port));
    const result = await reshard(ctx, spec, secrets, marker, {
      async stopOldProxies() {
        let begun = false;
        await Promise.all(
          (await proxyDirPorts(ctx.dataDir, spec.id)).map(async (port) => {
            const paths = proxyPaths(ctx.dataDir, spec.id, port);
            if (ports.has(port) && (await runningProxy(paths)) !== null && (await runsConf(paths, renderProxyConf(proxyConf(ctx, spec, port))))) begun = true;
            else await stopProxy(paths, ctx.bindHost, port, signal);
          }),
        );
        return begun;
      },
      startProxies: () => ensureProxies(ctx, spec, signal, true),
    }, signal);
    if (!result.done) return { progressing: result.progressing };
  }
  await ensureProxies(ctx, spec, signal);
}

async function observe(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, signal: AbortSignal): Promise<LocalObservation> {
  check(spec);
  const shards = await Promise.all(spec.shards.map((_, i) => masterSlave.observe(ctx, shardSpec(spec, i), secrets, signal)));
  const problems = shards.flatMap((o, i) => o.problems.map((p) => `shard ${i}: ${p}`));
  const drift = shards.flatMap((o) => o.drift ?? []);
  const nodes: LocalNodeObservation[] = shards.flatMap((o) => o.nodes);
  const probeKeys = new KetamaRing(spec.shards.length).probeKeys();
  const proxies = await Promise.all(
    (spec.proxies ?? []).map(async ({ port }) => {
      const conf = proxyConf(ctx, spec, port);
      const paths = conf.paths;
      if ((await runningProxy(paths)) === null) return { port, problem: `proxy ${port} is not running` };
      if (!(await runsConf(paths, renderProxyConf(conf)))) return { port, problem: `proxy ${port} runs an older configuration` };
      // Through the proxy's own socket, a key of every shard: the proxy answers and reaches each master.
      const failed = await probeProxy(paths, conf.password, probeKeys);
      return { port, problem: failed === null ? null : `proxy ${port} ${failed}` };
    }),
  );
  for (const p of proxies) if (p.problem) problems.push(p.problem);
  return {
    healthy: problems.length === 0,
    problems,
    drift,
    nodes,
    proxies: proxies.map((p) => ({ port: p.port, up: p.problem === null })),
    effectiveMaxClients: effectiveMaxClients(ctx, spec),
    usedMemoryBytes: shards.reduce((a, o) => a + o.usedMemoryBytes, 0),
  };
}

/** The proxy-cluster topology handler. */
export const proxyCluster: TopologyHandler = { plan, ensurePresent, observe };

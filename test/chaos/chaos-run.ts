/**
 * The chaos run shared by `npm run chaos` (long) and test/chaos/chaos-run.test.ts (short): actors drive
 * a random mix of create, resize, password reset and delete through the official SDK while a fault loop
 * SIGKILLs the service (and restarts it), SIGKILLs redis-server masters and replicas, and freezes
 * masters with SIGSTOP (woken with SIGCONT after 1-3.5 s, before the service's 5 s bound, or after
 * 12-20 s, by when it has usually fenced them; split brain is looked for after each). With
 * `clusterShare`, some creates are 3-shard native clusters (memory-only resizes; a random node of the
 * cluster is the kill target). A writer per instance records acknowledged keys (a cluster-aware one for
 * clusters). At the end every invariant of issue 5 is checked and each breach
 * is reported as a violation; the caller asserts there are none.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeFile } from '../../src/main.ts';
import { checkStoreIntegrity, openStore } from '../../src/store/open-store.ts';
import { sdkClient, type SdkBody, type SdkRedis } from '../helpers/sdk-client.ts';
import { freePort, ServiceProcess } from '../helpers/service-process.ts';
import { killInstanceProcesses, msSpec, removeInstanceCgroups, TEST_AK, TEST_SK } from '../helpers/test-service.ts';
import { checkAckedKeys, checkInstanceData } from './chaos-data-check.ts';
import { lastingSplitBrain, processStateSync, roleProblems } from './chaos-roles.ts';
import { ChaosInstance } from './chaos-instance.ts';
import { ChaosBackups, type ChaosBackupStats } from './chaos-backups.ts';
import type { BackupSdk } from '../backups/backup-helpers.ts';
import { findLeaks, redisProcessesUnder } from './chaos-leaks.ts';
import { portClosedAt } from './chaos-port-closed.ts';
import { sdkCall, type CallOutcome } from './chaos-sdk-call.ts';
import { ChaosWriter, connectClusterWithAny, connectWithAny } from './chaos-writer.ts';
import { checkProxyInstance, killProxy, nutcrackersUnder, proxyLayout, proxyLeaks, proxyResize, proxySpec, PROXY_SHARDS } from './chaos-proxy.ts';

export interface ChaosOptions {
  /** How long operations and faults go on; settling and checks come after. */
  durationMs: number;
  /** `JCS_INSTANCE_PORTS` of the service under test (a range no concurrent test uses). */
  instancePorts: string;
  /** Live instances at most (creates are skipped above it). */
  maxInstances: number;
  /** Concurrent operation loops. */
  actors: number;
  /** Mean time between two faults. */
  faultEveryMs: number;
  /**
   * Faults to inject at least: the fault loop runs past `durationMs` until this many were injected (and
   * every kind at least once), but never past `maxDurationMs`. Default 0: `durationMs` alone decides.
   * A time-only run on a loaded machine injected too few (16 of an expected 20 at load 13).
   */
  minFaults?: number;
  /** The hard end of the fault loop, with `minFaults`; default twice `durationMs`. */
  maxDurationMs?: number;
  /** Pause between two operations of one actor, ms, drawn uniformly from [min, max]. */
  opPauseMs: [number, number];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Where to save the service's own log (all restarts) for a post-mortem; default: not kept. */
  serviceLogFile?: string;
  /**
   * PostgreSQL mode (issue 13): `processes` service processes on the database at `url` and one data
   * directory, clients spread over them, and each service kill SIGKILLs one of them (the others go on).
   * Leases of `leaseMs` (default 3000). Default: one process on SQLite.
   */
  postgres?: { url: string; processes: number; leaseMs?: number };
  /**
   * Share of creates that make a native cluster (3 shards of `redis.o.1g.basic`, resized to
   * `redis.o.2g.basic` and back with the same shard count); default 0: master-slave only.
   */
  clusterShare?: number;
  /**
   * Share of creates that make a proxy cluster (`redis.s.micro.basic`, 2 or 4 shards, resized between the
   * two: an online reshard); its proxies are SIGKILLed as a fault kind of their own. Default 0.
   */
  proxyShare?: number;
  /**
   * Backups and restores in the mix (chaos-backups.ts): at most `max` backups asked for; about one
   * operation in twelve is a backup or a restore in place. Default: none.
   */
  backups?: { max: number };
}

export interface MasterKill {
  /** Kill to the first acknowledged write on the published port, ms (NaN: not recovered in 30 s). */
  recoveryMs: number;
  /** The service was killed too before the instance recovered: the repair waited for the restart. */
  serviceWasDown: boolean;
}

export interface MasterFreeze {
  /** SIGSTOP to the first acknowledged write on the published port, ms (master-slave only). */
  recoveryMs: number;
  /** The process was gone when it was to be woken: the service fenced it. */
  fenced: boolean;
  /** The service was killed too meanwhile. */
  serviceWasDown: boolean;
}

export interface ChaosReport {
  durationMs: number;
  operations: Record<'create' | 'resize' | 'password' | 'delete' | 'backup' | 'restore', Record<CallOutcome['kind'], number>>;
  operationsTotal: number;
  /**
   * masterKills / replicaKills: master-slave nodes; clusterMasterKills / clusterReplicaKills: cluster nodes;
   * masterFreezes / clusterMasterFreezes: SIGSTOP of a master (woken, or fenced by the service).
   */
  faults: {
    serviceKills: number;
    masterKills: number;
    replicaKills: number;
    clusterMasterKills: number;
    clusterReplicaKills: number;
    masterFreezes: number;
    clusterMasterFreezes: number;
    /** Proxy clusters: SIGKILLs of a twemproxy, and of a shard's master or replica. */
    proxyKills: number;
    proxyShardKills: number;
  };
  faultsTotal: number;
  masterKills: MasterKill[];
  masterFreezes: MasterFreeze[];
  /** Frozen masters found gone at wake-up time (fenced), of master-slave and cluster instances. */
  freezesFenced: number;
  instancesCreated: number;
  /** Of the created, native clusters. */
  clustersCreated: number;
  /** Of the created, proxy clusters. */
  proxyClustersCreated: number;
  instancesDeleted: number;
  instancesLiveAtEnd: number;
  keysAcknowledged: number;
  keysChecked: number;
  /** Of the acknowledged and of the checked keys, those written to native clusters. */
  clusterKeysAcknowledged: number;
  clusterKeysChecked: number;
  /** Of the checked keys, those written through proxy clusters. */
  proxyKeysChecked: number;
  /** Changes of a proxy cluster's shard count the API accepted. */
  proxyReshards: number;
  /** Acknowledged keys a kill within the next second, or a restore in place (chaos-backups.ts), excuses. */
  keysExcused: number;
  keysExcusedLost: number;
  /** Keys of instances that could not be read back before their delete (master down for 5 s). */
  keysUncheckedBeforeDelete: number;
  /** With `backups`: what was asked, acknowledged, restored and checked. */
  backups: ChaosBackupStats | null;
  violations: string[];
}

const HOST = '127.0.0.1';
const MiB_BY_CLASS: Record<string, number> = { 'redis.m.micro.basic': 1024, 'redis.m.small.basic': 2048 };
const CLASSES = Object.keys(MiB_BY_CLASS);
const CLUSTER_CLASSES = ['redis.o.1g.basic', 'redis.o.2g.basic'];
/**
 * The options every chaos run reads from the environment: the mix (one create in four a 3-shard native
 * cluster, one in five a proxy cluster; CHAOS_CLUSTER=0 or CHAOS_PROXY=0 leaves a kind out) and, with
 * CHAOS_VERBOSE=1, every fault printed and the service log kept in `serviceLogFile` for a post-mortem.
 */
export function chaosEnvOptions(serviceLogFile: string): Pick<ChaosOptions, 'clusterShare' | 'proxyShare' | 'log' | 'serviceLogFile'> {
  return {
    clusterShare: process.env.CHAOS_CLUSTER === '0' ? 0 : 0.25,
    proxyShare: process.env.CHAOS_PROXY === '0' ? 0 : 0.2,
    ...(process.env.CHAOS_VERBOSE ? { log: (l: string) => console.log(l), serviceLogFile } : {}),
  };
}

const CLUSTER_SHARDS = 3;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const between = (min: number, max: number): number => min + Math.random() * (max - min);
/** 8 to 16 letters and digits, as the API requires; fresh per call so every reset really changes it. */
const newPassword = (): string => `Cx${Math.random().toString(36).slice(2, 10)}7`;

/** Runs the chaos described above in a fresh data directory, and removes everything it started. */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jcs-chaos-'));
  const pg = opts.postgres;
  const env: Record<string, string> = pg ? { JCS_QUOTA: '1000', JCS_DATABASE_URL: pg.url, JCS_LEASE_MS: String(pg.leaseMs ?? 3000) } : { JCS_QUOTA: '1000' };
  const svcs: ServiceProcess[] = [];
  for (let i = 0; i < (pg?.processes ?? 1); i++) svcs.push(new ServiceProcess(dataDir, await freePort(), opts.instancePorts, env));
  try {
    // One after the other: the first creates the data directory's CA, the others find it.
    for (const svc of svcs) await svc.start(60_000);
    return await new ChaosRun(opts, svcs, dataDir).run();
  } finally {
    for (const svc of svcs) await svc.stop('SIGKILL');
    if (opts.serviceLogFile) writeFileSync(opts.serviceLogFile, svcs.map((s) => s.output).join('\n'));
    killInstanceProcesses(dataDir);
    // Pidfiles can be missing (a node killed mid-start): sweep by working directory too.
    for (const p of [...redisProcessesUnder(dataDir), ...nutcrackersUnder(dataDir)]) process.kill(p.pid, 'SIGKILL');
    await removeInstanceCgroups(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

class ChaosRun {
  private readonly sdks: SdkRedis[];
  /** Service processes being restarted after a kill. */
  private readonly restarting = new Set<ServiceProcess>();
  private readonly instances = new Map<string, ChaosInstance>();
  /** Creates sent but not (yet) known to be refused: name → password and kind, to adopt them if they were committed. */
  private readonly pendingCreates = new Map<string, { password: string | null; cluster: boolean; proxy: boolean }>();
  private readonly violations: string[] = [];
  private readonly downs: { from: number; to: number }[] = [];
  private readonly recoveries: Promise<void>[] = [];
  /** Frozen processes waiting for their SIGCONT, by pid. */
  private readonly frozen = new Map<number, Promise<void>>();
  /**
   * Instances with a frozen node: no other node fault is aimed at them meanwhile. A second frozen master
   * takes a cluster's majority away, and a replica killed while its master is hung leaves only the
   * master's AOF (the two-nodes-lost case of the guarantees, not the freeze under test).
   */
  private readonly frozenInstances = new Set<string>();
  private readonly report: ChaosReport;
  private serviceUp = true;
  private createSeq = 0;
  private readonly passwordsUsed = new Set<string>();
  private readonly started = Date.now();
  /** When operations stop. */
  private opsDeadline = 0;
  private readonly backups: ChaosBackups | null = null;

  constructor(
    private readonly o: ChaosOptions,
    private readonly svcs: ServiceProcess[],
    private readonly dataDir: string,
  ) {
    this.sdks = svcs.map((svc) => sdkClient(svc.url, TEST_AK, TEST_SK));
    const zero = (): Record<CallOutcome['kind'], number> => ({ accepted: 0, refused: 0, unavailable: 0, uncertain: 0 });
    this.report = {
      durationMs: 0,
      operations: { create: zero(), resize: zero(), password: zero(), delete: zero(), backup: zero(), restore: zero() },
      operationsTotal: 0,
      faults: { serviceKills: 0, masterKills: 0, replicaKills: 0, clusterMasterKills: 0, clusterReplicaKills: 0, masterFreezes: 0, clusterMasterFreezes: 0, proxyKills: 0, proxyShardKills: 0 },
      faultsTotal: 0,
      masterKills: [],
      masterFreezes: [],
      freezesFenced: 0,
      instancesCreated: 0,
      clustersCreated: 0,
      proxyClustersCreated: 0,
      instancesDeleted: 0,
      instancesLiveAtEnd: 0,
      keysAcknowledged: 0,
      keysChecked: 0,
      clusterKeysAcknowledged: 0,
      clusterKeysChecked: 0,
      proxyKeysChecked: 0,
      proxyReshards: 0,
      keysExcused: 0,
      keysExcusedLost: 0,
      keysUncheckedBeforeDelete: 0,
      backups: null,
      violations: this.violations,
    };
    if (o.backups) {
      this.backups = new ChaosBackups({
        max: o.backups.max,
        dataDir,
        host: HOST,
        sdk: () => this.sdk as BackupSdk,
        candidates: () => this.live().filter((i) => i.deleted === 'no' && !i.proxy && i.writer),
        call: (kind, call, what) => this.op(kind, call, what),
        read: (call, what) => sdkCall(call, (v) => this.violation(v), what),
        violation: (v) => this.violation(v),
        log: (l) => this.log(l),
      });
      this.report.backups = this.backups.stats;
    }
  }

  /** A client of a random live service process (clients spread over all of them). */
  private get sdk(): SdkRedis {
    const up = this.svcs.map((svc, i) => (svc.child && !this.restarting.has(svc) ? i : -1)).filter((i) => i >= 0);
    return this.sdks[up.length > 0 ? pick(up) : 0]!;
  }

  private log(line: string): void {
    this.o.log?.(`[chaos +${((Date.now() - this.started) / 1000).toFixed(1)}s] ${line}`);
  }

  /**
   * No write of `inst` was acknowledged within 30 s of the fault at `t0`: a violation, unless the instance
   * is gone or being retired, or a restore in place was open meanwhile (tenants are refused during a
   * restore by design; its follow-up checks that it ends running with the right data, chaos-backups.ts).
   */
  private noWriteWithin30s(inst: ChaosInstance, t0: number, fault: string): void {
    if (inst.deleted !== 'no' || inst.retiring) return;
    if (inst.restoreOpenWithin(t0, Date.now())) {
      this.log(`${inst.id}: no write within 30 s of the ${fault} at ${new Date(t0).toISOString()}, a restore in place was open meanwhile (excused)`);
      return;
    }
    this.violation(`${inst.id}: no write succeeded within 30 s of the ${fault} at ${new Date(t0).toISOString()}`);
  }

  private violation(what: string): void {
    this.violations.push(what);
    this.log(`VIOLATION ${what}`);
  }

  async run(): Promise<ChaosReport> {
    const deadline = Date.now() + this.o.durationMs;
    this.opsDeadline = deadline;
    await Promise.all([...Array.from({ length: this.o.actors }, () => this.actor(deadline)), this.faults(deadline)]);
    this.log('faults stopped; settling');
    for (const svc of this.svcs) if (!svc.child) await this.restartService(svc, 0);
    await Promise.all(this.frozen.values());
    await Promise.all(this.recoveries);
    await this.reconcile();
    await this.backups?.settle();
    await this.finalChecks();
    this.report.durationMs = Date.now() - this.started;
    return this.report;
  }

  private live(): ChaosInstance[] {
    return [...this.instances.values()].filter((i) => i.deleted !== 'yes');
  }

  private async op(kind: keyof ChaosReport['operations'], call: () => Promise<SdkBody>, what: string): Promise<CallOutcome> {
    const outcome = await sdkCall(call, (v) => this.violation(v), what);
    this.report.operations[kind][outcome.kind]++;
    this.report.operationsTotal++;
    return outcome;
  }

  private async actor(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      // While the service is down every call is refused at once: wait instead of counting those.
      if (!this.serviceUp) {
        await sleep(50);
        continue;
      }
      const live = this.live();
      const r = Math.random();
      if (live.length === 0 || (r < 0.25 && live.length < this.o.maxInstances)) await this.create();
      else {
        const inst = pick(live);
        // Proxy clusters have no restore yet (refused by the API): their backups are not in the mix.
        if (this.backups && !inst.proxy && r < 0.33) await this.backups.step(inst);
        else if (r < 0.55) await this.resize(inst);
        else if (r < 0.85) await this.resetPassword(inst);
        // Instances live a while, so their writers build up keys that the end can check; the last live
        // cluster is spared, so cluster keys are always among them (a short run deleted both of its
        // clusters once, and checked none).
        else if (live.length > this.o.maxInstances / 2 && !(inst.cluster && live.filter((i) => i.cluster).length === 1) && !(inst.proxy && live.filter((i) => i.proxy).length === 1) && !this.backups?.holds(inst)) await this.delete(inst);
      }
      await sleep(between(...this.o.opPauseMs));
    }
  }

  private async create(): Promise<void> {
    const name = `chaos_${this.createSeq++}`;
    const password = Math.random() < 0.1 ? null : newPassword();
    if (password) this.passwordsUsed.add(password);
    // The second create is a cluster whenever clusters are in the mix at all, so a short run never ends
    // without one by chance (0.75^9 of the time with 9 creates); the rest are drawn at `clusterShare`.
    const share = this.o.clusterShare ?? 0;
    const cluster = share > 0 && (this.createSeq === 2 || Math.random() < share);
    // Likewise the third create is a proxy cluster whenever they are in the mix.
    const proxyShare = this.o.proxyShare ?? 0;
    const proxy = !cluster && proxyShare > 0 && (this.createSeq === 3 || Math.random() < proxyShare);
    this.pendingCreates.set(name, { password, cluster, proxy });
    const spec = msSpec({
      cacheInstanceName: name,
      ...(cluster
        ? { cacheInstanceClass: pick(CLUSTER_CLASSES), cacheInstanceType: 'native-cluster', shardNumber: CLUSTER_SHARDS, redisVersion: '7.0' }
        : proxy
          ? proxySpec(pick(PROXY_SHARDS))
          : { cacheInstanceClass: pick(CLASSES) }),
      ...(password ? { password } : {}),
    });
    const res = await this.op('create', () => this.sdk.createCacheInstance({ cacheInstance: spec }), `create ${name}`);
    if (res.kind === 'refused' || res.kind === 'unavailable') {
      this.pendingCreates.delete(name);
      return;
    }
    if (res.kind === 'accepted') {
      const id = res.body.result.cacheInstanceId as string;
      if (!this.instances.has(id)) await this.track(id, name, password, cluster, proxy);
    }
    // uncertain: the next reconcile adopts it if it was committed.
  }

  /** Starts following an instance: its published port (from the API) and a writer on it. */
  private async track(id: string, name: string, password: string | null, cluster: boolean, proxy = false): Promise<void> {
    let port = 0;
    for (let attempt = 0; port === 0 && attempt < 200; attempt++) {
      const res = await sdkCall(() => this.sdk.describeCacheInstance({ cacheInstanceId: id }), (v) => this.violation(v), `describe ${id}`);
      if (res.kind === 'accepted') port = res.body.result.cacheInstance.port as number;
      else if (res.kind === 'refused') return; // deleted meanwhile by another actor: nothing to follow
      else await sleep(100);
    }
    if (this.instances.has(id)) return;
    const inst = new ChaosInstance(id, name, port, password, cluster, proxy);
    this.instances.set(id, inst);
    this.pendingCreates.delete(name);
    this.report.instancesCreated++;
    if (cluster) this.report.clustersCreated++;
    if (proxy) this.report.proxyClustersCreated++;
    if (proxy && this.report.proxyClustersCreated === 1) this.recoveries.push(this.reshardFirstProxy(inst));
    inst.writer = new ChaosWriter(HOST, port, () => inst.history, undefined, undefined, cluster);
    inst.writer.start();
    this.log(`tracking ${cluster ? 'cluster ' : ''}${id} (${name}) on port ${port}`);
  }

  private async resize(inst: ChaosInstance): Promise<void> {
    // A cluster changes memory only (same shard count): applied live on every node.
    // A proxy cluster changes its shard count (an online reshard; the same count is refused).
    const body = inst.cluster
      ? { cacheInstanceId: inst.id, cacheInstanceClass: pick(CLUSTER_CLASSES), shardNumber: CLUSTER_SHARDS }
      : inst.proxy
        ? proxyResize(inst)
        : { cacheInstanceId: inst.id, cacheInstanceClass: pick(CLASSES) };
    const res = await this.op('resize', () => this.sdk.modifyCacheInstanceClass(body), `resize ${inst.id}`);
    if (inst.proxy && res.kind === 'accepted') this.report.proxyReshards++;
  }

  /**
   * The first proxy cluster changes its shard count at least once (chance alone may never pick it in a
   * short run): tried every second until the API accepts it, while operations go on.
   */
  private async reshardFirstProxy(inst: ChaosInstance): Promise<void> {
    while (Date.now() < this.opsDeadline && inst.deleted === 'no') {
      await sleep(1_000);
      if (!this.serviceUp || inst.retiring) continue;
      const res = await this.op('resize', () => this.sdk.modifyCacheInstanceClass(proxyResize(inst)), `reshard ${inst.id}`);
      if (res.kind === 'accepted') this.report.proxyReshards++;
      if (res.kind === 'accepted' || res.kind === 'uncertain') return;
    }
  }

  private async resetPassword(inst: ChaosInstance): Promise<void> {
    const password = Math.random() < 0.1 ? null : newPassword();
    if (password) this.passwordsUsed.add(password);
    const body = password ? { cacheInstanceId: inst.id, password } : { cacheInstanceId: inst.id };
    const res = await this.op('password', () => this.sdk.resetCacheInstancePassword(body), `reset password ${inst.id}`);
    if (res.kind === 'accepted') inst.passwordReset(password, true);
    else if (res.kind === 'uncertain') inst.passwordReset(password, false);
  }

  private async delete(inst: ChaosInstance): Promise<void> {
    if (inst.deleted !== 'no' || inst.retiring) return;
    // Most instances end deleted: read their keys back first, or most acknowledged writes of the run
    // would never be checked. The writer pauses meanwhile (so its list is final) and resumes if the
    // delete is refused.
    inst.retiring = true;
    await inst.writer?.stop();
    await this.checkBeforeDelete(inst);
    const res = await this.op('delete', () => this.sdk.deleteCacheInstance({ cacheInstanceId: inst.id }), `delete ${inst.id}`);
    if (res.kind === 'accepted') await this.markDeleted(inst);
    else if (res.kind === 'uncertain') inst.deleted = 'maybe';
    if (inst.deleted === 'no') inst.writer?.start();
    inst.retiring = false;
  }

  private async checkBeforeDelete(inst: ChaosInstance): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const client = inst.cluster ? await connectClusterWithAny(HOST, inst.port, inst.history) : await connectWithAny(HOST, inst.port, inst.history);
      if (!client) {
        await sleep(100); // mid-repair: the master is coming back
        continue;
      }
      try {
        const keys = await checkAckedKeys(inst, client, inst.keysChecked);
        this.report.keysChecked += keys.checked;
        if (inst.cluster) this.report.clusterKeysChecked += keys.checked;
        if (inst.proxy) this.report.proxyKeysChecked += keys.checked;
        this.report.keysExcused += keys.excused;
        this.report.keysExcusedLost += keys.excusedLost;
        if (keys.missing.length > 0) this.violation(`${inst.id}: before delete, ${keys.missing.length} acknowledged keys are missing: ${keys.missing.slice(0, 5).join(', ')}`);
        inst.keysChecked = inst.writer?.acks.length ?? 0;
        return;
      } catch {
        await sleep(100); // e.g. the node went down between connect and read
      } finally {
        client.disconnect();
      }
    }
    this.report.keysUncheckedBeforeDelete += (inst.writer?.acks.length ?? 0) - inst.keysChecked;
  }

  private async markDeleted(inst: ChaosInstance): Promise<void> {
    if (inst.deleted === 'yes') return;
    inst.deleted = 'yes';
    this.report.instancesDeleted++;
    await inst.writer?.stop();
  }

  /** Until the deadline, and then until `minFaults` (every kind once) were injected or the hard end came. */
  private faultsWanted(deadline: number, hardEnd: number): boolean {
    const now = Date.now();
    if (now >= hardEnd) return false;
    return now < deadline || this.report.faultsTotal < (this.o.minFaults ?? 0) || (this.o.minFaults !== undefined && this.missingFaultKind() !== null);
  }

  /** A kind of fault not injected yet (tried before chance picks one), or null when each was. */
  private missingFaultKind(): 'service' | 'master' | 'freeze' | 'replica' | 'proxy' | null {
    const f = this.report.faults;
    if (f.serviceKills === 0) return 'service';
    if (f.masterKills + f.clusterMasterKills === 0) return 'master';
    if (f.masterFreezes + f.clusterMasterFreezes === 0) return 'freeze';
    if (f.replicaKills + f.clusterReplicaKills === 0) return 'replica';
    if ((this.o.proxyShare ?? 0) > 0 && f.proxyKills === 0) return 'proxy';
    return null;
  }

  private async faults(deadline: number): Promise<void> {
    const restarts: Promise<void>[] = [];
    const hardEnd = this.started + (this.o.maxDurationMs ?? 2 * this.o.durationMs);
    while (this.faultsWanted(deadline, hardEnd)) {
      await sleep(between(0.5, 1.5) * this.o.faultEveryMs);
      if (!this.faultsWanted(deadline, hardEnd)) break;
      const r = Math.random();
      // Each kind once first (a kind whose try found no target is tried again), then chance: a short run
      // must see every kind. A service kill runs on while redis kills go on: a dead master while the
      // control plane is down is the harder case (nothing repairs it until the restart).
      const proxies = (this.o.proxyShare ?? 0) > 0;
      const kind = this.missingFaultKind() ?? (r < 0.3 ? 'service' : r < 0.5 ? 'master' : r < 0.75 ? 'freeze' : proxies && r < 0.85 ? 'proxy' : 'replica');
      if (kind === 'service') restarts.push(this.killService());
      else if (kind === 'master') await this.killRedis('master');
      else if (kind === 'freeze') await this.freezeMaster();
      else if (kind === 'proxy') this.killTwemproxy();
      else await this.killRedis('replica');
    }
    await Promise.all(restarts);
  }

  private async killService(): Promise<void> {
    // One process at a time; with several (PostgreSQL) the others serve meanwhile.
    const up = this.svcs.filter((svc) => svc.child && !this.restarting.has(svc));
    if (up.length === 0 || this.restarting.size > 0) return; // still restarting from the previous kill
    const svc = pick(up);
    const from = Date.now();
    this.restarting.add(svc);
    if (up.length === 1) this.serviceUp = false;
    await svc.stop('SIGKILL');
    this.report.faults.serviceKills++;
    this.report.faultsTotal++;
    this.log(`service${this.svcs.length > 1 ? ` process ${this.svcs.indexOf(svc) + 1} of ${this.svcs.length}` : ''} SIGKILLed`);
    await this.restartService(svc, between(0, 1_000));
    this.downs.push({ from, to: Date.now() });
    await this.reconcile();
  }

  private async restartService(svc: ServiceProcess, afterMs: number): Promise<void> {
    await sleep(afterMs);
    await svc.start(60_000);
    this.restarting.delete(svc);
    this.serviceUp = true;
  }

  /**
   * SIGKILLs one twemproxy of a live proxy cluster. It holds no data: no acknowledged write is excused,
   * and writes must come back within 30 s (the service starts it again on its port).
   */
  private killTwemproxy(): void {
    const candidates = this.live().filter((i) => i.proxy && i.deleted === 'no' && !i.retiring && i.writer);
    if (candidates.length === 0) return;
    const inst = pick(candidates);
    const healthy = (inst.writer?.acks.at(-1)?.ackedAt ?? 0) > Date.now() - 300;
    const t0 = Date.now();
    const port = killProxy(this.dataDir, inst);
    if (port === null) return;
    this.report.faults.proxyKills++;
    this.report.faultsTotal++;
    this.log(`twemproxy of ${inst.id} (port ${port}) SIGKILLed`);
    if (!healthy || !this.serviceUp) return;
    this.recoveries.push(
      inst.writer!.firstAckAfter(t0, 30_000).then((ackedAt) => {
        if (Number.isNaN(ackedAt)) this.noWriteWithin30s(inst, t0, 'twemproxy kill');
      }),
    );
  }

  /**
   * SIGKILLs the redis-server on the instance's published (master) port, or its other node; for a
   * native cluster or a proxy cluster's shards, a random node (its role, master or replica, as it says).
   */
  private async killRedis(role: 'master' | 'replica'): Promise<void> {
    const candidates = this.live().filter((i) => i.deleted === 'no' && !i.retiring && i.writer && !this.frozenInstances.has(i.id));
    if (candidates.length === 0) return;
    // Clusters are fewer but have six nodes each: every other node kill goes to one when there is one.
    const clusters = candidates.filter((i) => i.cluster);
    const inst = clusters.length > 0 && Math.random() < 0.5 ? pick(clusters) : pick(candidates);
    const dir = join(this.dataDir, 'instances', inst.id);
    let port = inst.port;
    if (inst.cluster || inst.proxy) {
      // A node of the wanted role as it reports itself (ROLE, as the customer); any node when none has it.
      const nodes = await Promise.all(
        safeReaddir(dir)
          .filter((n) => /^\d+$/.test(n))
          .map(async (n) => ({ port: Number(n), role: await nodeRole(Number(n), inst.history) })),
      );
      if (nodes.length === 0) return;
      const node = pick(nodes.filter((n) => n.role === role).length > 0 ? nodes.filter((n) => n.role === role) : nodes);
      port = node.port;
      role = node.role;
    } else if (role === 'replica') {
      const others = safeReaddir(dir).filter((n) => /^\d+$/.test(n) && Number(n) !== inst.port);
      if (others.length === 0) return;
      port = Number(pick(others));
    }
    const nodeDir = join(dir, String(port));
    const pid = Number(safeRead(join(nodeDir, 'redis.pid')).trim());
    // Only a live process running in this node's directory: never a stale pidfile's reused pid. A frozen
    // one is left to the service: its fencing is under test.
    if (!(pid > 0) || safeReadlink(`/proc/${pid}/cwd`) !== nodeDir || this.frozen.has(pid)) return;
    const healthy = (inst.writer?.acks.at(-1)?.ackedAt ?? 0) > Date.now() - 300;
    const t0 = Date.now();
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    inst.kills.push(t0);
    this.report.faultsTotal++;
    if (inst.proxy) this.report.faults.proxyShardKills++;
    else if (inst.cluster) {
      if (role === 'master') this.report.faults.clusterMasterKills++;
      else this.report.faults.clusterReplicaKills++;
    } else if (role === 'master') this.report.faults.masterKills++;
    else this.report.faults.replicaKills++;
    this.log(`${inst.cluster ? 'cluster ' : ''}${role} of ${inst.id} (port ${port}, pid ${pid}) SIGKILLed`);
    if (role !== 'master' || !healthy || !this.serviceUp) return;
    if (inst.cluster || inst.proxy) {
      // The writer's keys spread over every shard: any write acknowledged after the kill shows the
      // instance serves again, but says little about the killed shard, so no recovery time is recorded.
      this.recoveries.push(
        inst.writer!.firstAckAfter(t0, 30_000).then((ackedAt) => {
          if (Number.isNaN(ackedAt)) this.noWriteWithin30s(inst, t0, 'cluster master kill');
        }),
      );
      return;
    }
    const serviceDownAtKill = this.downs.length;
    this.recoveries.push(
      portClosedAt(port)
        .then((dead) => inst.writer!.firstAckAfter(Number.isNaN(dead) ? t0 : dead, 30_000))
        .then((ackedAt) => {
          if (Number.isNaN(ackedAt)) {
            this.noWriteWithin30s(inst, t0, 'master kill');
            return;
          }
          const serviceWasDown = this.downs.length > serviceDownAtKill || !this.serviceUp;
          this.report.masterKills.push({ recoveryMs: ackedAt - t0, serviceWasDown });
        }),
    );
  }

  /**
   * SIGSTOPs the master of a random instance (master-slave: its published port; cluster: a node that says
   * it is a master) and SIGCONTs it later: after 1-3.5 s (the service waits for it and must not fence it)
   * or 12-20 s (the service has fenced it by then, unless it was down itself: a restart measures silence
   * again, and a restart on this loaded host takes seconds). Writes must come back within
   * 30 s, none acknowledged may be lost (no excuse, unlike a kill), and once it is woken no two nodes may
   * serve the same data for more than 10 s.
   */
  private async freezeMaster(): Promise<void> {
    // Proxy clusters are not frozen: their shards' masters are master-slave pairs, frozen here already.
    const candidates = this.live().filter((i) => i.deleted === 'no' && !i.retiring && i.writer && !this.frozenInstances.has(i.id) && !i.proxy);
    if (candidates.length === 0) return;
    const clusters = candidates.filter((i) => i.cluster);
    const inst = clusters.length > 0 && Math.random() < 0.5 ? pick(clusters) : pick(candidates);
    const dir = join(this.dataDir, 'instances', inst.id);
    const ports = safeReaddir(dir).filter((n) => /^\d+$/.test(n)).map(Number);
    let port = inst.port;
    if (inst.cluster) {
      const roles = await Promise.all(ports.map(async (p) => ({ port: p, role: await nodeRole(p, inst.history) })));
      const masters = roles.filter((n) => n.role === 'master');
      if (masters.length === 0) return;
      port = pick(masters).port;
    }
    const nodeDir = join(dir, String(port));
    const pid = Number(safeRead(join(nodeDir, 'redis.pid')).trim());
    if (!(pid > 0) || safeReadlink(`/proc/${pid}/cwd`) !== nodeDir || this.frozen.has(pid)) return;
    const healthy = (inst.writer?.acks.at(-1)?.ackedAt ?? 0) > Date.now() - 300;
    if (this.frozenInstances.has(inst.id)) return; // frozen by another fault while we asked the roles
    const serviceDownAtFreeze = this.downs.length;
    const t0 = Date.now();
    try {
      process.kill(pid, 'SIGSTOP');
    } catch {
      return;
    }
    this.frozenInstances.add(inst.id);
    this.report.faultsTotal++;
    if (inst.cluster) this.report.faults.clusterMasterFreezes++;
    else this.report.faults.masterFreezes++;
    // The first freeze is long (a short run sees at least one fence), then long or short at random. A long
    // one outlasts the bound even when the service was killed meanwhile and started measuring again
    // (most of the time: a second service kill can push the fence past the wake-up).
    const long = this.report.faults.masterFreezes + this.report.faults.clusterMasterFreezes <= 1 || Math.random() < 0.5;
    const holdMs = long ? between(12_000, 20_000) : between(1_000, 3_500);
    this.log(`${inst.cluster ? 'cluster ' : ''}master of ${inst.id} (port ${port}, pid ${pid}) SIGSTOPped for ${Math.round(holdMs)} ms`);
    let fenced = false;
    const thawed = (async () => {
        await sleep(holdMs);
        // Only the frozen process itself: gone (fenced) or not stopped any more means there is nothing to wake.
        if (safeReadlink(`/proc/${pid}/cwd`) === nodeDir && processStateSync(pid) === 'T') {
          process.kill(pid, 'SIGCONT');
          this.log(`pid ${pid} (port ${port} of ${inst.id}) SIGCONTed after ${Date.now() - t0} ms`);
        } else if (inst.deleted === 'no') {
          fenced = true;
          this.report.freezesFenced++;
          this.log(`pid ${pid} (port ${port} of ${inst.id}) was gone after ${Date.now() - t0} ms: fenced`);
        }
        this.frozen.delete(pid);
        this.frozenInstances.delete(inst.id);
        if (inst.deleted !== 'no') return;
        const brain = await lastingSplitBrain(HOST, ports, inst.history, inst.cluster);
        if (brain && inst.deleted === 'no') this.violation(`${inst.id}: after the SIGSTOP of ${port} at ${new Date(t0).toISOString()}, for 10 s: ${brain}`);
    })();
    this.frozen.set(pid, thawed);
    if (!healthy) return;
    const what = `${inst.cluster ? 'cluster ' : ''}master freeze`;
    // Judged when the wait ends (a writer stopped for a delete ends it too), recorded once the process was
    // woken or found fenced, so the record says which.
    const acked = inst.writer!.firstAckAfter(t0, 30_000).then((ackedAt) => {
      if (Number.isNaN(ackedAt)) this.noWriteWithin30s(inst, t0, what);
      return ackedAt;
    });
    this.recoveries.push(
      Promise.all([acked, thawed]).then(([ackedAt]) => {
        if (Number.isNaN(ackedAt)) return;
        // The writer's keys of a cluster spread over every shard: no recovery time is recorded for it.
        if (inst.cluster) return;
        const serviceWasDown = this.downs.length > serviceDownAtFreeze || !this.serviceUp;
        this.report.masterFreezes.push({ recoveryMs: ackedAt - t0, fenced, serviceWasDown });
      }),
    );
  }

  /** After a restart (and at the end): settles `maybe` deletes and adopts creates that were committed. */
  private async reconcile(): Promise<void> {
    const listed = new Map<string, { name: string; status: string }>();
    for (let page = 1; ; page++) {
      const res = await sdkCall(() => this.sdk.describeCacheInstances({ pageNumber: page, pageSize: 100 }), (v) => this.violation(v), 'list');
      if (res.kind !== 'accepted') return; // killed again meanwhile: the next restart reconciles
      const items = res.body.result.cacheInstances as { cacheInstanceId: string; cacheInstanceName: string; cacheInstanceStatus: string }[];
      for (const i of items) listed.set(i.cacheInstanceId, { name: i.cacheInstanceName, status: i.cacheInstanceStatus });
      if (items.length < 100) break;
    }
    for (const inst of this.instances.values()) {
      if (inst.deleted !== 'maybe') continue;
      const seen = listed.get(inst.id);
      if (!seen || seen.status === 'deleting') await this.markDeleted(inst);
      else inst.deleted = 'no';
    }
    for (const [id, { name }] of listed) {
      if (this.instances.has(id)) continue;
      const pending = this.pendingCreates.get(name);
      if (pending) await this.track(id, name, pending.password, pending.cluster, pending.proxy);
      else this.violation(`instance ${id} (${name}) is listed but no create of it was sent or it was refused`);
    }
  }

  private async waitSettled(timeoutMs: number): Promise<Map<string, { status: string; reason: string; memoryMb: number }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = new Map<string, { status: string; reason: string; memoryMb: number }>();
      let settled = true;
      for (const inst of this.instances.values()) {
        const res = await sdkCall(() => this.sdk.describeCacheInstance({ cacheInstanceId: inst.id }), (v) => this.violation(v), `describe ${inst.id}`);
        if (res.kind === 'accepted') {
          const ci = res.body.result.cacheInstance as { cacheInstanceStatus: string; cacheInstanceMemoryMB: number; memoryMBPerShard?: number; extension?: { statusReason?: string } };
          // A cluster node's maxmemory is the class's memory per shard.
          const memoryMb = inst.cluster || inst.proxy ? (ci.memoryMBPerShard ?? 0) : ci.cacheInstanceMemoryMB;
          seen.set(inst.id, { status: ci.cacheInstanceStatus, reason: ci.extension?.statusReason ?? '', memoryMb });
          if (ci.cacheInstanceStatus !== (inst.deleted === 'yes' ? 'gone' : 'running')) settled = false;
        } else if (res.kind === 'refused' && res.status === 'NOT_FOUND') {
          seen.set(inst.id, { status: 'gone', reason: '', memoryMb: 0 });
          if (inst.deleted !== 'yes') settled = false;
        } else settled = false;
      }
      if (settled || Date.now() > deadline) return seen;
      await sleep(200);
    }
  }

  private async finalChecks(): Promise<void> {
    const seen = await this.waitSettled(120_000);
    const live = [...this.instances.values()].filter((i) => i.deleted !== 'yes');
    for (const inst of this.instances.values()) {
      const s = seen.get(inst.id);
      const want = inst.deleted === 'yes' ? 'gone' : 'running';
      if (s?.status !== want) this.violation(`${inst.id}: ${s?.status ?? 'unknown'} at the end, expected ${want}${s?.reason ? ` (${s.reason})` : ''}`);
    }
    await Promise.all([...this.instances.values()].map((i) => i.writer?.stop()));
    this.report.instancesLiveAtEnd = live.length;

    // Graceful stop, then read the store as the next start would find it. Instances keep running.
    for (const svc of this.svcs) {
      const code = await svc.stop('SIGTERM');
      if (code !== 0) this.violation(`SIGTERM exit code ${code}`);
    }
    const output = this.svcs.map((svc) => svc.output).join('\n');
    const leakedSecrets = [...this.passwordsUsed].filter((p) => output.includes(p));
    if (leakedSecrets.length > 0) this.violation(`${leakedSecrets.length} instance passwords appear in the service output`);

    const db = await openStore(this.o.postgres?.url ?? storeFile(this.dataDir));
    try {
      for (const problem of await checkStoreIntegrity(db)) this.violation(`store integrity: ${problem}`);
      const rows = await db.selectFrom('instances').select(['id', 'status', 'password_sha256']).execute();
      const ports = await db.selectFrom('ports').select(['port', 'instance_id', 'role']).execute();
      const open = await db.selectFrom('tasks').select(['id', 'instance_id', 'kind']).where('state', '=', 'pending').execute();
      for (const t of open) this.violation(`task ${t.id} (${t.kind} of ${t.instance_id}) still pending after settling`);
      const liveIds = new Set(live.map((i) => i.id));
      for (const r of rows) if (!liveIds.has(r.id)) this.violation(`store keeps instance ${r.id} (${r.status}) that was deleted or never acknowledged`);
      const livePorts = new Map<string, number[]>();
      const liveNodes = new Map<string, number[]>();
      const liveProxies = new Map<string, number[]>();
      for (const inst of live) {
        const row = rows.find((r) => r.id === inst.id);
        if (!row) {
          this.violation(`${inst.id}: missing from the store`);
          continue;
        }
        const mine = ports.filter((p) => p.instance_id === inst.id);
        livePorts.set(inst.id, mine.map((p) => p.port));
        // A node's client port names it; each node also has a TLS port, and a cluster node a bus port.
        liveNodes.set(inst.id, mine.filter((p) => /^(ms|nc|px)-s\d+-(master|replica)$/.test(p.role)).map((p) => p.port));
        const layout = proxyLayout(mine);
        liveProxies.set(inst.id, layout.proxies);
        const password = inst.passwordFor(row.password_sha256);
        if (password === undefined) {
          this.violation(`${inst.id}: the store's password is none of those the API acknowledged or may have applied`);
          continue;
        }
        const nodePorts = liveNodes.get(inst.id) ?? [];
        // A proxy cluster: a master and a replica per shard, and a proxy (client and statistics port) per shard.
        const nodes = inst.cluster ? CLUSTER_SHARDS * 2 : inst.proxy ? layout.shards.length * 2 : 2;
        if (nodePorts.length !== nodes) this.violation(`${inst.id}: ${nodePorts.length} nodes in the store, expected ${nodes}`);
        const perNode = inst.cluster ? 3 : 2;
        const proxyPorts = inst.proxy ? layout.shards.length * 2 : 0;
        if (inst.proxy && layout.proxies.length !== layout.shards.length) this.violation(`${inst.id}: ${layout.proxies.length} proxies for ${layout.shards.length} shards`);
        if (mine.length !== nodes * perNode + proxyPorts) this.violation(`${inst.id}: ${mine.length} ports reserved, expected ${nodes * perNode + proxyPorts} (${perNode} per node${inst.proxy ? ', 2 per proxy' : ''})`);
        const memoryMb = seen.get(inst.id)?.memoryMb ?? 0;
        const check = inst.proxy ? await checkProxyInstance(inst, HOST, password, memoryMb, layout.shards, layout.proxies) : await checkInstanceData(inst, HOST, password, memoryMb, nodePorts);
        check.violations.forEach((v) => this.violation(v));
        // No split brain left behind by a freeze (or anything else): one master per shard, where it belongs
        // (a proxy cluster's shard roles are checked by checkProxyInstance).
        if (!inst.proxy) for (const p of await roleProblems(HOST, inst.port, nodePorts, password, inst.cluster, CLUSTER_SHARDS)) this.violation(`${inst.id}: ${p}`);
        this.report.keysChecked += check.checked;
        if (inst.cluster) this.report.clusterKeysChecked += check.checked;
        if (inst.proxy) this.report.proxyKeysChecked += check.checked;
        this.report.keysExcused += check.excused;
        this.report.keysExcusedLost += check.excusedLost;
      }
      for (const leak of findLeaks(this.dataDir, livePorts, liveNodes, ports)) this.violation(leak);
      for (const leak of proxyLeaks(this.dataDir, liveProxies)) this.violation(leak);
      for (const p of redisProcessesUnder(this.dataDir)) {
        if (processStateSync(p.pid) === 'T') this.violation(`redis-server pid ${p.pid} in ${p.dir} is still stopped (SIGSTOP) at the end`);
      }
      if (!this.o.postgres && !existsSync(storeFile(this.dataDir))) this.violation('the store file is gone');
    } finally {
      await db.destroy();
    }
    this.report.keysAcknowledged = [...this.instances.values()].reduce((n, i) => n + (i.writer?.acks.length ?? 0), 0);
    this.report.clusterKeysAcknowledged = [...this.instances.values()].filter((i) => i.cluster).reduce((n, i) => n + (i.writer?.acks.length ?? 0), 0);
  }
}

/** What the node on `port` says it is (ROLE); a node that does not answer counts as a master. */
async function nodeRole(port: number, passwords: readonly (string | null)[]): Promise<'master' | 'replica'> {
  const client = await connectWithAny(HOST, port, passwords);
  if (!client) return 'master';
  try {
    const role = (await client.call('ROLE')) as unknown[];
    return role[0] === 'slave' ? 'replica' : 'master';
  } catch {
    return 'master';
  } finally {
    client.disconnect();
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

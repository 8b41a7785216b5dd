/**
 * The short form of the chaos run (`npm run chaos` is the long one): a few dozen faults (service
 * SIGKILLs, master and replica SIGKILLs of master-slave, native-cluster and proxy-cluster nodes, twemproxy
 * SIGKILLs, SIGSTOPs of masters that the service must fence, or leave alone when they wake before its
 * bound) under a random mix of create, resize (proxy clusters: between 2 and 4 shards), password reset,
 * delete, backup and restore in place through the official SDK; every invariant of issue 5 is checked at
 * the end.
 */
import { describe, expect, it } from 'vitest';
import { chaosEnvOptions, runChaos } from './chaos-run.ts';
import { formatChaosReport } from './chaos-report.ts';
import { quietPortBlock } from './chaos-port-closed.ts';

describe('chaos (short form)', () => {
  it('loses no acknowledged write, leaks nothing and ends with every instance running', async () => {
    const report = await runChaos({
      durationMs: 45_000,
      // A quiet block of 200 in 21000-21999 (clusters' bus ports are +10000; `npm run chaos` uses 22000-22799).
      instancePorts: await quietPortBlock(21_000, 21_999, 200),
      maxInstances: 4,
      actors: 2,
      faultEveryMs: 1_200,
      // Faults go on past the 45 s until 20 (each kind once) were injected, up to 90 s: on a loaded
      // machine a time-only run once injected 16.
      minFaults: 20,
      opPauseMs: [100, 400],
      // Backups and restores in place under the same faults (chaos-backups.ts).
      backups: { max: 3 },
      // Native and proxy clusters in the mix; CHAOS_VERBOSE=1 keeps the service log.
      ...chaosEnvOptions('chaos-service.log'),
    });
    console.log(formatChaosReport(report));
    expect(report.violations).toEqual([]);
    expect(report.faultsTotal).toBeGreaterThanOrEqual(20);
    expect(report.faults.serviceKills).toBeGreaterThan(0);
    expect(report.faults.masterKills + report.faults.clusterMasterKills).toBeGreaterThan(0);
    expect(report.faults.masterFreezes + report.faults.clusterMasterFreezes).toBeGreaterThan(0);
    expect(report.operations.create.accepted).toBeGreaterThan(0);
    expect(report.keysChecked).toBeGreaterThan(0);
    if (process.env.CHAOS_PROXY !== '0') {
      expect(report.proxyClustersCreated).toBeGreaterThan(0);
      expect(report.faults.proxyKills).toBeGreaterThan(0);
      expect(report.proxyReshards).toBeGreaterThan(0);
      expect(report.proxyKeysChecked).toBeGreaterThan(0);
    }
    expect(report.backups!.acknowledged).toBeGreaterThan(0);
    expect(report.backups!.restoresChecked).toBeGreaterThan(0);
    if (process.env.CHAOS_CLUSTER !== '0') {
      expect(report.clustersCreated).toBeGreaterThan(0);
      expect(report.clusterKeysChecked).toBeGreaterThan(0);
    }
  }, 300_000);
});

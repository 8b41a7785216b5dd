/**
 * The short form of the chaos run (`npm run chaos` is the long one): a few dozen faults (service
 * SIGKILLs, master and replica SIGKILLs) under a random mix of create, resize, password reset and
 * delete through the official SDK; every invariant of issue 5 is checked at the end.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos-run.ts';
import { formatChaosReport } from './chaos-report.ts';

describe('chaos (short form)', () => {
  it('loses no acknowledged write, leaks nothing and ends with every instance running', async () => {
    const report = await runChaos({
      durationMs: 45_000,
      instancePorts: '21000-21199',
      maxInstances: 4,
      actors: 2,
      faultEveryMs: 1_200,
      opPauseMs: [100, 400],
      // CHAOS_VERBOSE=1 prints every fault and keeps the service log for a post-mortem.
      ...(process.env.CHAOS_VERBOSE ? { log: (l: string) => console.log(l), serviceLogFile: 'chaos-service.log' } : {}),
    });
    console.log(formatChaosReport(report));
    expect(report.violations).toEqual([]);
    expect(report.faultsTotal).toBeGreaterThanOrEqual(20);
    expect(report.faults.serviceKills).toBeGreaterThan(0);
    expect(report.faults.masterKills).toBeGreaterThan(0);
    expect(report.operations.create.accepted).toBeGreaterThan(0);
    expect(report.keysChecked).toBeGreaterThan(0);
  }, 150_000);
});

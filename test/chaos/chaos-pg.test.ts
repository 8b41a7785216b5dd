/**
 * The chaos run in PostgreSQL mode (issue 13), short form (`npm run chaos:pg` is the long one): three
 * service processes on one throwaway PostgreSQL database and one data directory, clients spread over all
 * three, SIGKILLs of any of them (a killed task's lease runs out and another process resumes it) among the
 * node, twemproxy and freeze faults of chaos-run.test.ts; every invariant is checked at the end.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chaosEnvOptions, runChaos } from './chaos-run.ts';
import { formatChaosReport } from './chaos-report.ts';
import { quietPortBlock } from './chaos-port-closed.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.ts';

let pg: PostgresServer | null = null;
afterAll(async () => {
  await pg?.remove();
});

describe('chaos in PostgreSQL mode (3 service processes, short form)', () => {
  it('loses no acknowledged write, leaks nothing and ends with every instance running', async () => {
    pg = await startPostgres();
    const report = await runChaos({
      durationMs: 40_000,
      // A quiet block of 200 in 23500-23999 (bus ports +10000; `npm run chaos:pg` runs use 23000-23499 by CHAOS_PORTS).
      instancePorts: await quietPortBlock(23_500, 23_999, 200),
      maxInstances: 4,
      actors: 3,
      faultEveryMs: 1_200,
      // As in chaos-run.test.ts: faults go on past the 40 s until 16 were injected, at most 70 s.
      minFaults: 16,
      maxDurationMs: 70_000,
      opPauseMs: [100, 400],
      backups: { max: 2 },
      postgres: { url: await pg.createDatabase(), processes: 3 },
      ...chaosEnvOptions('chaos-pg-service.log'),
    });
    console.log(formatChaosReport(report));
    expect(report.violations).toEqual([]);
    expect(report.faults.serviceKills).toBeGreaterThan(0);
    expect(report.operations.create.accepted).toBeGreaterThan(0);
    expect(report.keysChecked).toBeGreaterThan(0);
  }, 300_000);
});

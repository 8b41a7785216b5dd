/**
 * `npm run chaos`: the long chaos run (the short one is test/chaos/chaos-run.test.ts). Thousands of
 * SDK operations over several minutes while the service and redis-server masters and replicas are
 * SIGKILLed at random and masters are frozen (SIGSTOP, woken or fenced); one create in four is a 3-shard
 * native cluster (CHAOS_CLUSTER=0: none) and one in five a proxy cluster of 2 or 4 shards, resized
 * between the two, whose twemproxies are SIGKILLed too (CHAOS_PROXY=0: none); backups and restores in place
 * are in the mix (up to 12 backups, each one checked and restored; test/chaos/chaos-backups.ts). Prints the counts, master-kill and master-freeze
 * recovery times and every violation, and exits 1 when there is
 * any. CHAOS_SECONDS (default 360) sets the length; CHAOS_VERBOSE=1 prints each fault and keeps the
 * service log in chaos-service.log; CHAOS_PORTS (default 22000-22799) the instance port range. CHAOS_PG=N (`npm run chaos:pg`: 3) runs N service processes on one
 * throwaway PostgreSQL database instead (clients spread over them, service kills hit any one of them).
 */
import { chaosEnvOptions, runChaos } from '../test/chaos/chaos-run.ts';
import { formatChaosReport } from '../test/chaos/chaos-report.ts';
import { startPostgres } from '../test/helpers/postgres-server.ts';

const seconds = Number(process.env.CHAOS_SECONDS ?? 360);

const pgProcesses = Number(process.env.CHAOS_PG ?? 0);
const pg = pgProcesses > 0 ? await startPostgres() : null;
let report;
try {
  report = await runChaos({
  durationMs: seconds * 1000,
  // CHAOS_PORTS moves the run off 22000-22799 (bus ports +10000) when another run uses them.
  instancePorts: process.env.CHAOS_PORTS ?? '22000-22799',
  maxInstances: 8,
  actors: 4,
  faultEveryMs: 1_200,
  opPauseMs: [20, 150],
  backups: { max: 12 },
  ...(pg ? { postgres: { url: await pg.createDatabase(), processes: pgProcesses } } : {}),
  ...chaosEnvOptions('chaos-service.log'),
  });
} finally {
  await pg?.remove();
}
console.log(formatChaosReport(report));
process.exit(report.violations.length === 0 ? 0 : 1);

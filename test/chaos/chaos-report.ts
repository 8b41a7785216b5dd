import type { ChaosReport } from './chaos-run.ts';
import { summarizeMs } from './chaos-stats.ts';

/** The chaos run's result as a few readable lines (printed by `npm run chaos` and the short test). */
export function formatChaosReport(r: ChaosReport): string {
  const ops = Object.entries(r.operations)
    .map(([kind, o]) => `${kind} ${o.accepted}/${o.refused}/${o.unavailable}/${o.uncertain}`)
    .join(', ');
  const clean = r.masterKills.filter((k) => !k.serviceWasDown).map((k) => k.recoveryMs);
  const all = r.masterKills.map((k) => k.recoveryMs);
  const freezes = (fenced: boolean, anyService = false): number[] =>
    r.masterFreezes.filter((f) => f.fenced === fenced && (anyService || !f.serviceWasDown)).map((f) => f.recoveryMs);
  return [
    `chaos run: ${(r.durationMs / 1000).toFixed(0)} s`,
    `  operations: ${r.operationsTotal} (accepted/refused/unavailable/uncertain: ${ops})`,
    `  faults injected: ${r.faultsTotal} (service SIGKILL ${r.faults.serviceKills}, master SIGKILL ${r.faults.masterKills}, replica SIGKILL ${r.faults.replicaKills}, cluster master SIGKILL ${r.faults.clusterMasterKills}, cluster replica SIGKILL ${r.faults.clusterReplicaKills}, master SIGSTOP ${r.faults.masterFreezes}, cluster master SIGSTOP ${r.faults.clusterMasterFreezes}, twemproxy SIGKILL ${r.faults.proxyKills}, proxy-cluster shard node SIGKILL ${r.faults.proxyShardKills}; ${r.freezesFenced} frozen masters fenced by the service)`,
    `  instances: ${r.instancesCreated} created (${r.clustersCreated} native clusters, ${r.proxyClustersCreated} proxy clusters), ${r.instancesDeleted} deleted, ${r.instancesLiveAtEnd} live at the end`,
    `  keys: ${r.keysAcknowledged} acknowledged, ${r.keysChecked} required and checked, ${r.keysExcused} excused by a kill within 1 s or a restore in place (${r.keysExcusedLost} of those lost), ${r.keysUncheckedBeforeDelete} unreadable before a delete`,
    `  native-cluster keys: ${r.clusterKeysAcknowledged} acknowledged, ${r.clusterKeysChecked} required and checked; proxy-cluster keys checked: ${r.proxyKeysChecked}, shard-count changes accepted: ${r.proxyReshards}`,
    `  master kill → first write: ${summarizeMs(clean)} with the service up; all ${summarizeMs(all)}`,
    `  master SIGSTOP → first write, with the service up: fenced ${summarizeMs(freezes(true))}, woken ${summarizeMs(freezes(false))}; also with service kills: fenced ${summarizeMs(freezes(true, true))}, woken ${summarizeMs(freezes(false, true))}`,
    ...(r.backups
      ? [`  backups: ${r.backups.asked} asked, ${r.backups.acknowledged} acknowledged, ${r.backups.failed} failed (never acknowledged), ${r.backups.filesChecked} files checked; restores in place: ${r.backups.restoresAccepted} accepted, ${r.backups.restoresChecked} read back and compared`]
      : []),
    `  violations: ${r.violations.length}`,
    ...r.violations.slice(0, 30).map((v) => `    - ${v}`),
  ].join('\n');
}

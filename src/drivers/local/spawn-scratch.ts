/**
 * Spawns a short-lived helper process (a scratch redis-server that prints ACL rules or holds a backup
 * while keys are copied) that must not outlive the control plane. Nodes of instances are spawned
 * detached on purpose (they survive a restart); a scratch process left behind by a `kill -9` of the
 * service would instead run forever, unowned. `setpriv --pdeathsig KILL` (util-linux, Essential on
 * Debian) makes the kernel kill it when the process that spawned it dies, however it dies.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;

/** `command args…` as a child that dies with this process (plain spawn where setpriv is missing). */
export function spawnScratch(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  if (SETPRIV === null) return spawn(command, args, options);
  return spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args], options);
}

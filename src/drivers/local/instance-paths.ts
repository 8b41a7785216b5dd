import { join } from 'node:path';

/**
 * Where an instance lives on disk:
 * `<dataDir>/instances/<id>/internal-secrets.json` and one `<dataDir>/instances/<id>/<port>/` per node
 * holding `redis.conf`, `redis.pid`, `redis.log` and the AOF directory.
 */
export function instancesRoot(dataDir: string): string {
  return join(dataDir, 'instances');
}

export function instanceDir(dataDir: string, instanceId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(instanceId)) {
    // The id names a directory we later delete recursively: never let it climb out of the data dir.
    throw new Error(`instance id "${instanceId}" is not a safe directory name`);
  }
  return join(instancesRoot(dataDir), instanceId);
}

/** Files of one node. */
export interface NodePaths {
  dir: string;
  conf: string;
  pidfile: string;
  log: string;
}

export function nodePaths(dataDir: string, instanceId: string, port: number): NodePaths {
  const dir = join(instanceDir(dataDir, instanceId), String(port));
  return { dir, conf: join(dir, 'redis.conf'), pidfile: join(dir, 'redis.pid'), log: join(dir, 'redis.log') };
}

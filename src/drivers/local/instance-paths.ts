import { join } from 'node:path';

/**
 * Where an instance lives on disk:
 * `<dataDir>/instances/<id>/internal-secrets.json`, `<dataDir>/instances/<id>/tls/` (the instance's node
 * certificate) and one `<dataDir>/instances/<id>/<client port>/` per node holding `redis.conf`,
 * `redis.pid`, `redis.log`, `redis.sock` and the AOF directory.
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
  /** The control plane's unix socket to the node (mode 0700, in the 0700 node directory). */
  socket: string;
}

/**
 * sun_path holds 108 bytes; redis-server refuses a longer socket path. The data directory's path must
 * leave room for `instances/<id>/<port>/redis.sock` (the driver's init checks).
 */
export const MAX_SOCKET_PATH = 107;

export function nodePaths(dataDir: string, instanceId: string, port: number): NodePaths {
  const dir = join(instanceDir(dataDir, instanceId), String(port));
  return { dir, conf: join(dir, 'redis.conf'), pidfile: join(dir, 'redis.pid'), log: join(dir, 'redis.log'), socket: join(dir, 'redis.sock') };
}

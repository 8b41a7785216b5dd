/**
 * ACL users of every node. The customer's `default` user gets everything except what would let a tenant
 * break the class (memory, clients, persistence) or the topology (replication links, cluster slots).
 * Rules are written into the conf file so a restart keeps them; passwords appear only as SHA-256 hashes.
 */

/** Internal user that replicas authenticate as (`masteruser`); never shown to tenants. */
export const REPLICATION_USER = 'jcs-replication';
/** Internal user the control plane connects as for observe / apply / password changes. */
export const ADMIN_USER = 'jcs-admin';

/** Commands the customer's default user may not run. `+acl|whoami` is re-allowed after `-acl`. */
export const CUSTOMER_DENIED_COMMANDS = [
  'config',
  'acl',
  'replicaof',
  'slaveof',
  'shutdown',
  'debug',
  'module',
  'failover',
  'sync',
  'psync',
] as const;

/** CLUSTER subcommands that change topology; INFO, NODES, SLOTS, SHARDS, MYID, KEYSLOT, … stay allowed. */
export const CUSTOMER_DENIED_CLUSTER_SUBCOMMANDS = [
  'meet',
  'addslots',
  'addslotsrange',
  'delslots',
  'delslotsrange',
  'setslot',
  'replicate',
  'failover',
  'reset',
  'forget',
  'flushslots',
  'saveconfig',
  'set-config-epoch',
  'bumpepoch',
] as const;

/** The command part of the default user's rules (no password, no on/off). */
export function customerCommandRules(): string {
  return [
    '+@all',
    ...CUSTOMER_DENIED_COMMANDS.map((c) => `-${c}`),
    '+acl|whoami',
    ...CUSTOMER_DENIED_CLUSTER_SUBCOMMANDS.map((c) => `-cluster|${c}`),
  ].join(' ');
}

/** `#<sha256>` or `nopass`: the password part of the default user's rules. */
export function passwordRule(passwordSha256: string | null): string {
  if (passwordSha256 === null) return 'nopass';
  if (!/^[0-9a-f]{64}$/.test(passwordSha256)) throw new Error('passwordSha256 must be 64 lowercase hex digits');
  return `#${passwordSha256}`;
}

/** The three `user` lines of a node's conf file. */
export function aclUserLines(
  passwordSha256: string | null,
  internal: { replicationSha256: string; adminSha256: string },
): string[] {
  return [
    `user default on ${passwordRule(passwordSha256)} ~* &* ${customerCommandRules()}`,
    // A replica only needs to handshake and stream; nothing else, so a leaked masterauth reads no data.
    `user ${REPLICATION_USER} on #${internal.replicationSha256} -@all +psync +replconf +ping`,
    `user ${ADMIN_USER} on #${internal.adminSha256} ~* &* +@all`,
  ];
}

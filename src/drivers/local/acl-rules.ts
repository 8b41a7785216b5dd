/**
 * ACL users of every node. The customer's `default` user gets everything except what would let a tenant
 * break the class (memory, clients, persistence) or the topology (replication links, cluster slots).
 * Rules are written into the conf file so a restart keeps them; passwords appear only as SHA-256 hashes.
 */

/** Internal user that replicas authenticate as (`masteruser`); never shown to tenants. */
export const REPLICATION_USER = 'jcs-replication';
/** Internal user the control plane connects as for observe / apply / password changes. */
export const ADMIN_USER = 'jcs-admin';

/**
 * Commands the customer's default user may not run (see docs/security.md for where each comes from).
 * What Amazon ElastiCache restricts (bgrewriteaof, bgsave, config, debug, migrate, replicaof, save,
 * slaveof, shutdown, sync), plus what would let a tenant break the class or the topology, or reach past
 * the instance: MIGRATE opens TCP connections from this host to any address (port scans, SSRF); ACL and
 * MODULE change what the node enforces; FAILOVER/PSYNC take part in replication. `+acl|whoami` is
 * re-allowed after `-acl`.
 */
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
  'migrate',
  'bgsave',
  'save',
  'bgrewriteaof',
] as const;

/**
 * CLIENT subcommands a tenant may not run: PAUSE would stall every connection of the node, the control
 * plane's own included, and NO-EVICT would exempt a connection from the client-memory bound.
 */
export const CUSTOMER_DENIED_CLIENT_SUBCOMMANDS = ['pause', 'unpause', 'no-evict'] as const;

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

/**
 * The command part of a tenant user's rules (no password, no on/off): everything but the fixed deny list
 * and the commands the tenant disabled. A read-only account loses `@write` too; it comes after `+@all`,
 * so nothing re-allows a write (scripts run with their caller's ACL, so EVAL cannot write either).
 */
export function customerCommandRules(disabledCommands: readonly string[] = [], readOnly = false): string {
  return [
    '+@all',
    ...(readOnly ? ['-@write'] : []),
    ...CUSTOMER_DENIED_COMMANDS.map((c) => `-${c}`),
    '+acl|whoami',
    ...CUSTOMER_DENIED_CLUSTER_SUBCOMMANDS.map((c) => `-cluster|${c}`),
    ...CUSTOMER_DENIED_CLIENT_SUBCOMMANDS.map((c) => `-client|${c}`),
    ...disabledCommands.map((c) => `-${checkCommandName(c)}`),
  ].join(' ');
}

/** A command name as an ACL rule takes it; anything else would change the rule's meaning. */
function checkCommandName(command: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(command)) throw new Error(`"${command}" is not a command name`);
  return command;
}

/** What the tenant set that shapes its ACL users: extra disabled commands and accounts. */
export interface TenantAcl {
  disabledCommands?: readonly string[];
  accounts?: readonly { name: string; passwordSha256: string; readOnly: boolean }[];
}

/** An account name that cannot collide with `default`, the internal users or ACL syntax. */
function checkAccountName(name: string): string {
  if (!/^[a-z][a-z0-9_]*$/.test(name) || name === 'default') throw new Error(`"${name}" is not a tenant account name`);
  return name;
}

/** `#<sha256>` or `nopass`: the password part of the default user's rules. */
export function passwordRule(passwordSha256: string | null): string {
  if (passwordSha256 === null) return 'nopass';
  if (!/^[0-9a-f]{64}$/.test(passwordSha256)) throw new Error('passwordSha256 must be 64 lowercase hex digits');
  return `#${passwordSha256}`;
}

/**
 * Each user's rules (everything after `user <name>`), by name: the tenant's `default`, the internal users,
 * then the tenant's accounts. The tenant's users all carry the deny list and its disabled commands, so an
 * account is never a way around them.
 */
export function aclUserRules(
  passwordSha256: string | null,
  internal: { replicationSha256: string; adminSha256: string },
  tenant: TenantAcl = {},
): Map<string, string> {
  const disabled = tenant.disabledCommands ?? [];
  const rules = new Map([
    // sanitize-payload written out: Redis gives it to some users by default and not to others, and ACL
    // repairs (`reset`) add it, so naming it keeps every path printing the same rules. It also makes RESTORE
    // check a payload fully, so a crafted one cannot corrupt the node.
    ['default', `on ${passwordRule(passwordSha256)} sanitize-payload ~* &* ${customerCommandRules(disabled)}`],
    // A replica only needs to handshake and stream; nothing else, so a leaked masterauth reads no data.
    [REPLICATION_USER, `on #${internal.replicationSha256} sanitize-payload -@all +psync +replconf +ping`],
    [ADMIN_USER, `on #${internal.adminSha256} sanitize-payload ~* &* +@all`],
  ]);
  for (const a of tenant.accounts ?? []) {
    rules.set(checkAccountName(a.name), `on ${passwordRule(a.passwordSha256)} sanitize-payload ~* &* ${customerCommandRules(disabled, a.readOnly)}`);
  }
  return rules;
}

/** The `user` lines of a node's conf file. */
export function aclUserLines(passwordSha256: string | null, internal: { replicationSha256: string; adminSha256: string }, tenant: TenantAcl = {}): string[] {
  return [...aclUserRules(passwordSha256, internal, tenant)].map(([name, rules]) => `user ${name} ${rules}`);
}

/**
 * Compares a node's `ACL LIST` with what it must print (acl-canon.ts: Redis prints rules in its own form
 * and order); returns what differs, or null. Any extra user (a backdoor) or changed rule is a difference.
 */
export function aclDifference(aclList: readonly string[], expected: ReadonlyMap<string, ReadonlySet<string>>): string | null {
  const seen = new Map(aclList.map((line) => [line.split(' ')[1] ?? '', new Set(line.split(' ').slice(2).filter((t) => t !== ''))]));
  const extra = [...seen.keys()].filter((n) => !expected.has(n));
  if (extra.length > 0) return `unexpected ACL user(s) ${extra.join(', ')}`;
  for (const [n, want] of expected) {
    const actual = seen.get(n);
    if (actual === undefined) return `ACL user ${n} is missing`;
    if (actual.size !== want.size || [...want].some((t) => !actual.has(t))) return `ACL user ${n} has rules other than the control plane wrote`;
  }
  return null;
}

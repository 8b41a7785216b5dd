import { createHash } from 'node:crypto';

/**
 * The nftables rules of one instance, as text for `nft -f -` and as what a listing must show. Pure: no
 * process is run here (nft-firewall.ts runs nft). Layout, in the service's table (`inet jcs_redis`, or one
 * of its own):
 *
 *   set   a_<id>  ipv4_addr, interval   the white list (covering CIDRs, loopback left out)
 *   set   p_<id>  inet_service          the instance's client ports (every node's port)
 *   chain i_<id>  filter hook input     tcp to a port of p_<id> from a source outside a_<id> → tcp reset
 *
 * One base chain per instance, so an instance's rules are replaced or removed in one transaction
 * without touching another's. The chain only ever rejects (it returns otherwise), so it can never
 * admit what another table of the host drops.
 */

/** The table every service of the host shares by default (an ephemeral service uses one of its own). */
export const TABLE = 'jcs_redis';
export const FAMILY = 'inet';
const OPEN = '0.0.0.0/0';
/** JD documents `127.0.0.1` as "no one may connect"; on a shared host loopback cannot tell tenants apart either. */
const LOOPBACK = { net: 0x7f000000, len: 8 };

export interface InstanceFirewallInput {
  instanceId: string;
  /** Client ports of every node of the instance. */
  ports: number[];
  /** The spec's white list (normalized CIDRs). */
  ipWhiteList: readonly string[];
  /**
   * Sources always admitted, as CIDRs: the addresses the control plane and replicas connect from while
   * they still use client ports. Empty once they no longer do.
   */
  trustedSources: readonly string[];
  /** The table (family inet) the rules go in. Default TABLE. */
  table?: string;
}

/** What the table must hold for one instance; `open` means: nothing at all (anyone may connect). */
export type InstanceRules =
  | { open: true; names: RuleNames }
  | { open: false; names: RuleNames; allowed: string[]; ports: number[]; ruleCount: number; fingerprint: string; script: string };

export interface RuleNames {
  table: string;
  chain: string;
  allowSet: string;
  portSet: string;
}

interface Cidr {
  net: number;
  len: number;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
const TABLE_NAME = /^[a-z][a-z0-9_]{0,31}$/;

/** Checks a table name before it is written into an nft script (anything else would be script injection). */
export function tableName(name: string): string {
  if (!TABLE_NAME.test(name)) throw new Error(`"${name}" cannot name an nftables table (lower-case letters, digits, "_")`);
  return name;
}

export function ruleNames(instanceId: string, table: string = TABLE): RuleNames {
  // The id is written into an nft script: anything but the id alphabet would be script injection.
  if (!ID.test(instanceId)) throw new Error(`instance id "${instanceId}" cannot name firewall objects`);
  return { table: tableName(table), chain: `i_${instanceId}`, allowSet: `a_${instanceId}`, portSet: `p_${instanceId}` };
}

const mask = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/** Parses `a.b.c.d/n` (or a bare address, /32). Strict: the text goes into an nft script. */
export function parseCidr(text: string): Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const len = m?.[5] === undefined ? 32 : Number(m[5]);
  if (!m || octets.some((o) => o > 255) || len > 32) throw new Error(`"${text}" is not an IPv4 CIDR`);
  const addr = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  return { net: (addr & mask(len)) >>> 0, len };
}

export function formatCidr(c: Cidr): string {
  return `${c.net >>> 24}.${(c.net >>> 16) & 255}.${(c.net >>> 8) & 255}.${c.net & 255}/${c.len}`;
}

const contains = (outer: Cidr, inner: Cidr): boolean => outer.len <= inner.len && ((inner.net & mask(outer.len)) >>> 0) === outer.net;

/**
 * The CIDRs an interval set must hold to admit `list`: loopback entries dropped, entries inside
 * another dropped (nft refuses overlapping intervals), sorted. Two CIDRs either nest or are disjoint,
 * so what is left never overlaps.
 */
export function coveringCidrs(list: readonly string[]): string[] {
  const cidrs = list.map(parseCidr).filter((c) => !contains(LOOPBACK, c));
  const kept = cidrs.filter((c, i) => !cidrs.some((o, j) => j !== i && contains(o, c) && (o.len < c.len || j < i)));
  return kept.sort((a, b) => a.net - b.net || a.len - b.len).map(formatCidr);
}

export function instanceRules(input: InstanceFirewallInput): InstanceRules {
  const names = ruleNames(input.instanceId, input.table);
  if (input.ipWhiteList.includes(OPEN)) return { open: true, names };
  const ports = [...new Set(input.ports)].sort((a, b) => a - b);
  for (const p of ports) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`port ${p} is not a TCP port`);
  if (ports.length === 0) throw new Error(`instance ${input.instanceId} has no ports to filter`);
  const allowed = coveringCidrs(input.ipWhiteList);
  const trusted = input.trustedSources.map((t) => formatCidr(parseCidr(t)));
  const { chain, allowSet, portSet } = names;
  const at = `${FAMILY} ${names.table}`;
  const rules = [
    `tcp dport != @${portSet} return`,
    ...(trusted.length > 0 ? [`ip saddr { ${trusted.join(', ')} } return`] : []),
    `meta l4proto tcp ip saddr 127.0.0.0/8 reject with tcp reset`,
    `ip saddr @${allowSet} return`,
    // IPv6 and every other source ends here: white lists are IPv4 only.
    `meta l4proto tcp reject with tcp reset`,
  ];
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ rules, allowed, ports }))
    .digest('hex')
    .slice(0, 16);
  const last = rules.length - 1;
  const script = [
    `add table ${at}`,
    `add set ${at} ${allowSet} { type ipv4_addr; flags interval; }`,
    `flush set ${at} ${allowSet}`,
    ...(allowed.length > 0 ? [`add element ${at} ${allowSet} { ${allowed.join(', ')} }`] : []),
    `add set ${at} ${portSet} { type inet_service; }`,
    `flush set ${at} ${portSet}`,
    `add element ${at} ${portSet} { ${ports.join(', ')} }`,
    `add chain ${at} ${chain} { type filter hook input priority filter; policy accept; }`,
    `flush chain ${at} ${chain}`,
    ...rules.map((r, i) => `add rule ${at} ${chain} ${r}${i === last ? ` comment "jcs-redis ${fingerprint}"` : ''}`),
  ];
  return { open: false, names, allowed, ports, ruleCount: rules.length, fingerprint, script: script.join('\n') + '\n' };
}

/** What a listing of the table shows of one instance's objects. */
export interface InstanceObjects {
  chain?: { hook: string | undefined; type: string | undefined; policy: string | undefined; ruleCount: number; lastComment: string | undefined };
  allowSet?: string[];
  portSet?: number[];
}

/** Script removing what `present` shows of an instance; empty when nothing is there. */
export function removalScript(names: RuleNames, present: InstanceObjects): string {
  const at = `${FAMILY} ${names.table}`;
  const lines: string[] = [];
  // The chain first: its rules reference the sets.
  if (present.chain) lines.push(`flush chain ${at} ${names.chain}`, `delete chain ${at} ${names.chain}`);
  if (present.allowSet) lines.push(`delete set ${at} ${names.allowSet}`);
  if (present.portSet) lines.push(`delete set ${at} ${names.portSet}`);
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

/** Differences between what the table holds and what `rules` need, in words; empty when they agree. */
export function ruleProblems(instanceId: string, rules: InstanceRules, present: InstanceObjects): string[] {
  if (rules.open) {
    return present.chain || present.allowSet || present.portSet
      ? [`firewall: stale rules for ${instanceId} remain although its IP white list admits anyone`]
      : [];
  }
  const problems: string[] = [];
  const c = present.chain;
  if (!c) problems.push(`firewall: chain ${rules.names.chain} of the IP white list is missing`);
  else if (c.hook !== 'input' || c.type !== 'filter' || c.policy !== 'accept') problems.push(`firewall: chain ${rules.names.chain} is not the input filter chain it should be`);
  else if (c.ruleCount !== rules.ruleCount || c.lastComment !== `jcs-redis ${rules.fingerprint}`) problems.push(`firewall: rules of chain ${rules.names.chain} differ from the IP white list`);
  if (!present.allowSet) problems.push(`firewall: set ${rules.names.allowSet} is missing`);
  else if (present.allowSet.join(',') !== rules.allowed.join(',')) problems.push(`firewall: set ${rules.names.allowSet} differs from the IP white list`);
  if (!present.portSet) problems.push(`firewall: set ${rules.names.portSet} is missing`);
  else if (present.portSet.join(',') !== rules.ports.join(',')) problems.push(`firewall: set ${rules.names.portSet} does not hold the instance's ports ${rules.ports.join(', ')}`);
  return problems;
}

/** `nft -j list table` output, reduced to the objects of each instance (by id). */
export function tableObjects(listing: unknown): Map<string, InstanceObjects> {
  const out = new Map<string, InstanceObjects>();
  const items = (listing as { nftables?: unknown[] } | null)?.nftables;
  if (!Array.isArray(items)) return out;
  const of = (id: string): InstanceObjects => {
    let o = out.get(id);
    if (!o) out.set(id, (o = {}));
    return o;
  };
  const rules = new Map<string, { count: number; lastComment: string | undefined }>();
  for (const item of items as Record<string, Record<string, unknown>>[]) {
    if (item.rule) {
      const chain = String(item.rule.chain);
      const r = rules.get(chain) ?? { count: 0, lastComment: undefined };
      r.count++;
      r.lastComment = typeof item.rule.comment === 'string' ? item.rule.comment : undefined;
      rules.set(chain, r);
    }
  }
  for (const item of items as Record<string, Record<string, unknown>>[]) {
    if (item.chain) {
      const name = String(item.chain.name);
      if (!name.startsWith('i_')) continue;
      const r = rules.get(name);
      of(name.slice(2)).chain = {
        hook: item.chain.hook as string | undefined,
        type: item.chain.type as string | undefined,
        policy: item.chain.policy as string | undefined,
        ruleCount: r?.count ?? 0,
        lastComment: r?.lastComment,
      };
    } else if (item.set) {
      const name = String(item.set.name);
      const elems = Array.isArray(item.set.elem) ? (item.set.elem as unknown[]) : [];
      if (name.startsWith('a_')) of(name.slice(2)).allowSet = elems.map(cidrOfElement).sort(byCidr);
      else if (name.startsWith('p_')) of(name.slice(2)).portSet = elems.map((e) => Number(unwrap(e))).sort((a, b) => a - b);
    }
  }
  return out;
}

/** An element may come wrapped (`{"elem": {"val": …}}`) when it carries a comment or timeout. */
function unwrap(e: unknown): unknown {
  const wrapped = (e as { elem?: { val?: unknown } } | null)?.elem;
  return wrapped && typeof wrapped === 'object' && 'val' in wrapped ? wrapped.val : e;
}

function cidrOfElement(e: unknown): string {
  const v = unwrap(e);
  if (typeof v === 'string') return formatCidr(parseCidr(v));
  const prefix = (v as { prefix?: { addr: string; len: number } } | null)?.prefix;
  if (prefix) return formatCidr(parseCidr(`${prefix.addr}/${prefix.len}`));
  // A range (someone added one by hand, or merged sets): shown as is, so it never equals a CIDR list.
  return JSON.stringify(v);
}

function byCidr(a: string, b: string): number {
  try {
    const x = parseCidr(a);
    const y = parseCidr(b);
    return x.net - y.net || x.len - y.len;
  } catch {
    return a < b ? -1 : a > b ? 1 : 0;
  }
}

import { DomainError } from '../domain-error.ts';

/** Admits anyone; the default of every instance (JD: "0.0.0.0/0 表示任何IP、网络都可以访问"). */
export const OPEN_TO_ALL = '0.0.0.0/0';
export const DEFAULT_IP_WHITE_LIST: readonly string[] = [OPEN_TO_ALL];

/**
 * JD documents no maximum. 1000 is the limit of Alibaba Cloud's ModifySecurityIps for Redis, the
 * nearest documented figure; one nft interval set of 1000 entries applies in milliseconds.
 */
export const MAX_IP_WHITE_LIST = 1000;

const ENTRY_RULE = 'an IPv4 address or CIDR x.x.x.x/n (octets 0-255 without leading zeros, n 0-32)';
const OCTET = '(0|[1-9][0-9]{0,2})';
const ENTRY = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}(?:/(0|[1-9][0-9]?))?$`);

/**
 * Checks and normalizes a white list as modifyIpWhiteList receives it. Each entry is an IPv4 CIDR; a
 * bare address means /32 (JD's console takes bare addresses). Host bits are cleared (`10.0.0.1/16`,
 * JD's own request example, becomes `10.0.0.0/16`): that is the network the kernel matches.
 * Duplicates, after normalizing, are dropped; order is kept. Throws INVALID_ARGUMENT naming
 * `ipWhiteList[i]` and the rule.
 */
export function normalizeIpWhiteList(entries: unknown): string[] {
  if (!Array.isArray(entries)) throw new DomainError('INVALID_ARGUMENT', `ipWhiteList: must be an array of 1 to ${MAX_IP_WHITE_LIST} IPv4 CIDRs`);
  if (entries.length === 0) {
    throw new DomainError('INVALID_ARGUMENT', 'ipWhiteList: must not be empty; use ["0.0.0.0/0"] to admit anyone or ["127.0.0.1"] to admit no one');
  }
  if (entries.length > MAX_IP_WHITE_LIST) {
    throw new DomainError('INVALID_ARGUMENT', `ipWhiteList: at most ${MAX_IP_WHITE_LIST} entries, got ${entries.length}`);
  }
  const out = new Set<string>();
  entries.forEach((entry: unknown, i) => {
    const field = `ipWhiteList[${i}]`;
    if (typeof entry !== 'string') throw new DomainError('INVALID_ARGUMENT', `${field}: must be a string, ${ENTRY_RULE}`);
    const m = ENTRY.exec(entry);
    const octets = m ? m.slice(1, 5).map(Number) : [];
    const len = m?.[5] === undefined ? 32 : Number(m[5]);
    if (!m || octets.some((o) => o > 255) || len > 32) {
      throw new DomainError('INVALID_ARGUMENT', `${field}: "${entry.slice(0, 40)}" must be ${ENTRY_RULE}`);
    }
    const addr = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
    const net = (addr & (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0)) >>> 0;
    const cidr = `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${len}`;
    out.add(cidr);
  });
  return [...out];
}

/** True only for exactly `["0.0.0.0/0"]`: the one list a host without a firewall can honour. */
export function isDefaultIpWhiteList(list: readonly string[]): boolean {
  return list.length === 1 && list[0] === OPEN_TO_ALL;
}

/** The list stored in an instance row (JSON written by this module's callers). */
export function storedIpWhiteList(json: string): string[] {
  const list: unknown = JSON.parse(json);
  if (!Array.isArray(list) || !list.every((e) => typeof e === 'string')) throw new Error(`stored ipWhiteList is not a list of strings: ${json.slice(0, 80)}`);
  return list;
}

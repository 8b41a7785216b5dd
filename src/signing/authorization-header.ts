import type { SigningVersion } from './canonical-request.ts';
import { memoized, rememberLast } from './memo.ts';

/** The parts of `Authorization: JDCLOUD2-HMAC-SHA256 Credential=AK/date/region/service/jdcloud2_request, …`. */
export interface AuthorizationHeader {
  version: SigningVersion;
  accessKey: string;
  /** Scope date, `yyyyMMdd`. */
  date8: string;
  region: string;
  service: string;
  /** Lower-case names as the client listed them. */
  signedHeaders: readonly string[];
  /** 64 lower-case hex characters. */
  signature: string;
}

// Exactly the form every SDK produces (reference §2.1 / §2.5); the algorithm and the scope terminator
// must name the same version. Access keys may contain spaces (the go-signer test uses "access key").
// Upper-case hex is tolerated in case a hand-written client produces it.
const PATTERN =
  /^JDCLOUD([23])-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/jdcloud([23])_request, SignedHeaders=([^,\s]+), Signature=([0-9a-fA-F]{64})$/;

/**
 * Parses the header; undefined when it does not follow the grammar. The result is frozen and the
 * last one is remembered: the API reads the access key from the header, then verifies the request,
 * and both parse the same header.
 */
export const parseAuthorizationHeader: (value: string) => Readonly<AuthorizationHeader> | undefined = rememberLast(parse);

function parse(value: string): Readonly<AuthorizationHeader> | undefined {
  const m = PATTERN.exec(value.trim());
  if (!m || m[1] !== m[6]) return undefined;
  const [, v, accessKey, date8, region, service, , headers, signature] = m as unknown as string[];
  const signedHeaders = signedHeaderList(headers as string);
  if (!signedHeaders) return undefined;
  return Object.freeze({
    version: v === '2' ? 'JDCLOUD2' : 'JDCLOUD3',
    accessKey: accessKey as string,
    date8: date8 as string,
    region: region as string,
    service: service as string,
    signedHeaders,
    signature: (signature as string).toLowerCase(),
  });
}

/** Parsed SignedHeaders lists: a client sends the same list with every request. Bounded like the other memos. */
const headerLists = new Map<string, readonly string[] | undefined>();

function signedHeaderList(text: string): readonly string[] | undefined {
  return memoized(headerLists, text, () => {
    const names = text.split(';').map((h) => h.trim().toLowerCase());
    return names.some((h) => h === '') ? undefined : Object.freeze(names);
  });
}

/** Formats the header exactly like the SDKs (`", "` between parts, names sorted and `;`-joined). */
export function formatAuthorizationHeader(auth: AuthorizationHeader): string {
  const scope = `${auth.date8}/${auth.region}/${auth.service}/${auth.version.toLowerCase()}_request`;
  return (
    `${auth.version}-HMAC-SHA256 Credential=${auth.accessKey}/${scope}, ` +
    `SignedHeaders=${[...auth.signedHeaders].sort().join(';')}, Signature=${auth.signature}`
  );
}

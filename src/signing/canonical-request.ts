import { hash } from 'node:crypto';
import { memoized } from './memo.ts';
import { canonicalComponent, isPlain, percentDecode, rfc3986Encode } from './percent-encoding.ts';

/**
 * The two signature variants: JDCLOUD2 (JS and Go SDKs) and JDCLOUD3 (Python SDK since 1.6.95).
 * They share the key chain and the string to sign and differ only in how the request is made canonical.
 */
export type SigningVersion = 'JDCLOUD2' | 'JDCLOUD3';

export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function sha256Hex(data: string | Buffer): string {
  // GET and DELETE carry no body: skip hashing nothing on every such request.
  if (data.length === 0) return EMPTY_BODY_SHA256;
  // The one-shot hash skips building a Hash object: a third of the cost for a short text.
  return hash('sha256', data, 'hex');
}

/**
 * Canonical URI. JDCLOUD2: split the raw path on `/`, decode and re-encode each segment, so `%3A` and a
 * literal `:` give the same result and an encoded `%2F` stays inside its segment. JDCLOUD3: decode the
 * whole path (`+` is a space, as Python's `unquote_plus`), collapse runs of `/`, re-encode keeping `/`.
 */
export function canonicalUri(rawPath: string, version: SigningVersion): string {
  if (version === 'JDCLOUD2') {
    return rawPath
      .split('/')
      .map((segment) => canonicalComponent(segment, false))
      .join('/');
  }
  const decoded = percentDecode(rawPath, true);
  const encoded = rfc3986Encode(decoded, true).replace(/\/{2,}/g, '/');
  return encoded.startsWith('/') ? encoded : '/' + encoded;
}

interface QueryItem {
  /** Decoded key and value, compared as strings like the JS SDK's `Object.keys(…).sort()`. */
  sortKey: string;
  sortValue: string;
  key: string;
  value: string;
}

/**
 * Canonical query string from the raw query as received (without `?`): decode `+` and `%XX`,
 * re-encode with RFC 3986, sort by key then value, join `k=v` with `&`. An item without `=` is
 * `key=` in JDCLOUD2 (Node's querystring) and dropped in JDCLOUD3, as are empty keys in JDCLOUD3.
 */
export function canonicalQuery(rawQuery: string, version: SigningVersion): string {
  const items: QueryItem[] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (version === 'JDCLOUD3' && eq <= 0) continue;
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    const [sortKey, key] = queryComponent(rawKey);
    const [sortValue, value] = queryComponent(rawValue);
    items.push({ sortKey, sortValue, key, value });
  }
  items.sort((a, b) => compare(a.sortKey, b.sortKey) || compare(a.sortValue, b.sortValue));
  return items.map((item) => `${item.key}=${item.value}`).join('&');
}

/** Decoded (for sorting) and canonical forms of one query key or value; a plain text is both. */
function queryComponent(raw: string): [decoded: string, canonical: string] {
  if (isPlain(raw)) return [raw, raw];
  const bytes = percentDecode(raw, true);
  return [bytes.toString('utf8'), rfc3986Encode(bytes)];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Canonical value of one header: trimmed; JDCLOUD2 also collapses inner whitespace runs to one space
 * (the JS SDK collapses `\s+`), JDCLOUD3 only trims.
 */
export function canonicalHeaderValue(value: string, version: SigningVersion): string {
  if (version === 'JDCLOUD3' || !MULTI_OR_ODD_SPACE.test(value)) return value.trim();
  return value.replace(/\s+/g, ' ').trim();
}

/** A whitespace run, or whitespace other than a single space: only then does JDCLOUD2 rewrite it. */
const MULTI_OR_ODD_SPACE = /\s\s|[^\S ]/;

export interface CanonicalRequestParts {
  method: string;
  /** Path as sent or received, possibly percent-encoded; it is made canonical here. */
  path: string;
  /** Raw query string without the leading `?` ('' when none); made canonical here. */
  query: string;
  /** Lower-case signed header names, in any order (they are sorted here). */
  signedHeaders: readonly string[];
  /**
   * The request's headers by lower-case name (Node's header object fits). A repeated header given as
   * an array is joined with `, ` as Node joins it; a missing one is empty.
   */
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Hex SHA-256 of the exact body bytes. */
  bodySha256: string;
}

/**
 * Canonical URI and query of one raw URL, remembered: clients poll the same few URLs, and decoding and
 * re-encoding every segment was the largest part of making a request canonical. Bounded (cleared at
 * 1,000 URLs, so a flood of distinct URLs costs what it did before).
 */
const urlCache = new Map<string, string>();

function canonicalUrl(path: string, query: string, version: SigningVersion): string {
  return memoized(urlCache, `${version}${path}?${query}`, () => `${canonicalUri(path, version)}\n${canonicalQuery(query, version)}`);
}

/** A header's value; a repeated one (an array) joined with `, ` as Node joins most repeated headers itself. */
export function headerText(headers: CanonicalRequestParts['headers'], name: string): string | undefined {
  const value = headers[name];
  return value === undefined || typeof value === 'string' ? value : value.join(', ');
}

/** Builds the canonical request text (reference §2.3); hash it with `sha256Hex` for the string to sign. */
export function canonicalRequest(parts: CanonicalRequestParts, version: SigningVersion): string {
  // The SDKs list signed headers sorted already; copy and sort only when they are not.
  const given = parts.signedHeaders;
  let sorted = true;
  for (let i = 1; i < given.length && sorted; i++) sorted = (given[i - 1] as string) < (given[i] as string);
  const names = sorted ? given : [...given].sort();
  let headerLines = '';
  for (const name of names) headerLines += `${name}:${canonicalHeaderValue(headerText(parts.headers, name) ?? '', version)}\n`;
  return `${parts.method.toUpperCase()}\n${canonicalUrl(parts.path, parts.query, version)}\n${headerLines}\n${names.join(';')}\n${parts.bodySha256}`;
}

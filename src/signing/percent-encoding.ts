/**
 * Percent-encoding helpers shared by the canonical URI and query builders.
 *
 * They work on bytes, not on JS strings, so a malformed escape (`%ZZ`, a lone `%`) or an escape of
 * invalid UTF-8 never throws: it is carried through byte-for-byte, as Node's `querystring.unescape`
 * and Go's escaper do. A request like that then simply fails verification instead of crashing it.
 */

function isHexDigit(byte: number | undefined): boolean {
  return (
    byte !== undefined &&
    ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66))
  );
}

function isUnreserved(byte: number): boolean {
  // RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~"
  return (
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x5f ||
    byte === 0x7e
  );
}

/** Decodes `%XX` escapes (and `+` as a space when `plusIsSpace`) into raw bytes. */
export function percentDecode(text: string, plusIsSpace: boolean): Buffer {
  const raw = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i] as number;
    if (byte === 0x25 && isHexDigit(raw[i + 1]) && isHexDigit(raw[i + 2])) {
      out[n++] = parseInt(raw.toString('latin1', i + 1, i + 3), 16);
      i += 2;
    } else if (plusIsSpace && byte === 0x2b) {
      out[n++] = 0x20;
    } else {
      out[n++] = byte;
    }
  }
  return out.subarray(0, n);
}

/**
 * Encodes bytes keeping only RFC 3986 unreserved characters (and `/` when `keepSlash`), with
 * upper-case hex: the JD Cloud SDKs' `uriEscape` (encodeURIComponent plus `!'()*`).
 */
export function rfc3986Encode(bytes: Buffer, keepSlash = false): string {
  let out = '';
  for (const byte of bytes) {
    if (isUnreserved(byte) || (keepSlash && byte === 0x2f)) out += String.fromCharCode(byte);
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

const ALL_UNRESERVED = /^[A-Za-z0-9\-._~]*$/;

/** True when `text` holds only RFC 3986 unreserved characters: it is then its own canonical form. */
export const isPlain = (text: string): boolean => ALL_UNRESERVED.test(text);

/** Decodes then re-encodes: the canonical form of one path segment or query component. */
export function canonicalComponent(text: string, plusIsSpace: boolean): string {
  // Nearly every segment and query item is plain (`cacheInstance`, `pageSize`, `100`) and is its own
  // canonical form; skipping the byte round trip saves two buffers per component on every request.
  if (isPlain(text)) return text;
  return rfc3986Encode(percentDecode(text, plusIsSpace));
}

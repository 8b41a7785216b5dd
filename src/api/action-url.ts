/**
 * JD Cloud puts custom actions after a colon in the last path segment
 * (`/cacheInstance/{id}:modifyCacheInstanceClass`, `/cacheInstance/{id}/backup:describeDownloadUrl`),
 * sent raw by Python and as `%3A` by JS and Go. Fastify's router cannot match a parameter followed by
 * a literal in one segment, so the URL is rewritten to an internal `…/~action` segment before routing
 * (`/cacheInstance/{id}/~modifyCacheInstanceClass`, `/cacheInstance/{id}/backup/~describeDownloadUrl`).
 * The signature is verified against the original URL (request.originalUrl), never the rewritten one.
 */
const ACTION = /^(\/v1\/regions\/[^/?]+\/cacheInstance\/(?:[^/?]+\/[A-Za-z]+|[^/?]+?))(?::|%3[aA])([A-Za-z]+)(\?.*)?$/;

export function rewriteActionUrl(url: string): string {
  const m = ACTION.exec(url);
  if (!m) return url;
  return `${m[1]}/~${m[2]}${m[3] ?? ''}`;
}

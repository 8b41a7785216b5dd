import { signRequest } from '../../src/signing/sign-request.ts';
import type { SigningVersion } from '../../src/signing/canonical-request.ts';
import { TEST_AK, TEST_SK } from './test-service.ts';

export interface SignedCall {
  method: string;
  /** Path as sent, e.g. `/v1/regions/cn-north-1/quota`. */
  path: string;
  query?: string;
  /** Sent verbatim (a string) or JSON-encoded (anything else). */
  body?: unknown;
  accessKey?: string;
  secretKey?: string;
  date?: Date;
  nonce?: string;
  algorithm?: SigningVersion;
  headers?: Record<string, string>;
  /** Header names to sign (default: all, like the JS SDK); the Python SDK signs only content-type;host. */
  signedHeaders?: string[];
  /** Region of the credential scope; default cn-north-1. */
  region?: string;
  /** Skip signing entirely. */
  unsigned?: boolean;
  /** Change the body after signing (to test tampering). */
  tamperBody?: string;
}

export interface CallResult {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  text: string;
}

/** Sends a request signed by the project's own signer (checked against the SDK vectors). */
export async function signedFetch(baseUrl: string, call: SignedCall): Promise<CallResult> {
  const url = new URL(baseUrl);
  const body = call.body === undefined ? undefined : typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
  const headers: Record<string, string> = { 'content-type': 'application/json', host: url.host, ...call.headers };
  if (!call.unsigned) {
    Object.assign(
      headers,
      signRequest(
        { method: call.method, path: call.path, query: call.query ?? '', headers, body },
        { accessKey: call.accessKey ?? TEST_AK, secretKey: call.secretKey ?? TEST_SK },
        { region: call.region ?? 'cn-north-1', date: call.date, nonce: call.nonce, algorithm: call.algorithm, signedHeaders: call.signedHeaders },
      ),
    );
  }
  delete headers.host;
  const res = await fetch(`${url.origin}${call.path}${call.query ? `?${call.query}` : ''}`, {
    method: call.method,
    headers,
    body: call.tamperBody ?? body,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

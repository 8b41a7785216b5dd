import type { SdkBody } from '../helpers/sdk-client.ts';

/**
 * What became of one API call while the service may be killed at any moment:
 * - `accepted`: a 2xx answer;
 * - `refused`: an error envelope (the state did not change);
 * - `unavailable`: the connection was refused, so the request never reached a service;
 * - `uncertain`: the connection broke after the request may have been read; it may or may not have
 *   been committed, and the chaos run must accept either outcome.
 */
export type CallOutcome =
  | { kind: 'accepted'; body: SdkBody }
  | { kind: 'refused'; status: string; code: number; message: string }
  | { kind: 'unavailable' }
  | { kind: 'uncertain'; message: string };

/** Longer than any honest answer: a call still pending after this is reported as a hang. */
const HANG_MS = 20_000;

/** Runs an SDK call and classifies its outcome; `onViolation` hears about 5xx answers and hangs. */
export async function sdkCall(call: () => Promise<SdkBody>, onViolation: (what: string) => void, what: string): Promise<CallOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), HANG_MS)));
  try {
    const res = await Promise.race([call(), hang]);
    if (res === 'hang') {
      onViolation(`${what}: no answer within ${HANG_MS} ms`);
      return { kind: 'uncertain', message: 'hang' };
    }
    return { kind: 'accepted', body: res };
  } catch (err) {
    const body = err as Partial<SdkBody> & { code?: string; message?: string };
    if (body.error) {
      const { status, code, message } = body.error;
      // 503 UNAVAILABLE is the documented answer while the service closes; any other 5xx is a bug.
      if (code >= 500 && status !== 'UNAVAILABLE') onViolation(`${what}: ${code} ${status}: ${message}`);
      return { kind: 'refused', status, code, message };
    }
    if (body.code === 'ECONNREFUSED') return { kind: 'unavailable' };
    return { kind: 'uncertain', message: String(body.message ?? err) };
  } finally {
    clearTimeout(timer);
  }
}

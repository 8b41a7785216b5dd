import { randomBytes, randomInt } from 'node:crypto';

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Random lower-case alphanumerics, unbiased (rejection sampling via randomInt). */
export function randomAlnum(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALNUM[randomInt(ALNUM.length)];
  return out;
}

/** `redis-` + 12 lower-case alphanumerics, as the real service issues (e.g. `redis-m0vcg462xe31`). */
export const newInstanceId = (): string => `redis-${randomAlnum(12)}`;

/** 32 lower-case alphanumerics, like the gateway's request ids. */
export const newRequestId = (): string => randomAlnum(32);

/** Order number: 17 digits, like `12882167725209383`. */
export const newOrderNum = (): string => String(10_000_000_000_000_000n + BigInt('0x' + randomBytes(7).toString('hex')) % 89_999_999_999_999_999n);

/** Buy id: `B` + 18 digits, like `B121116677688212350`. */
export const newBuyId = (): string => `B${String(100_000_000_000_000_000n + BigInt('0x' + randomBytes(8).toString('hex')) % 899_999_999_999_999_999n)}`;

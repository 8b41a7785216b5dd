/**
 * Rules of the tenant's Redis accounts (createAccount, modifyAccount): names, privileges, passwords. The
 * `default` account is the instance password (resetCacheInstancePassword) and cannot be created,
 * changed or deleted here.
 */
import { DomainError } from '../domain-error.ts';
import { PASSWORD_RULE, passwordProblem } from '../instances/password-rule.ts';

export const ACCOUNT_PRIVILEGES = ['RoleReadOnly', 'RoleReadWrite'] as const;
export type AccountPrivilege = (typeof ACCOUNT_PRIVILEGES)[number];

/** Accounts per instance beside `default`. */
export const MAX_ACCOUNTS = 20;

/**
 * Lower-case letters, digits and `_`, starting with a letter, 2 to 16 characters. No `-`, so no tenant
 * name can be an internal user's (`jcs-admin`, `jcs-replication`).
 */
export const ACCOUNT_NAME_RULE = '2 to 16 characters: lower-case letters, digits and _, starting with a letter';
const NAME = /^[a-z][a-z0-9_]{1,15}$/;

/** A stored account: the password only as its SHA-256. */
export interface RedisAccount {
  name: string;
  passwordSha256: string;
  privilege: AccountPrivilege;
  description: string;
}

export function checkAccountName(name: string, field: string): string {
  if (name === 'default') throw new DomainError('INVALID_ARGUMENT', `${field}: "default" is the instance password's account; change it with resetCacheInstancePassword`);
  if (!NAME.test(name)) throw new DomainError('INVALID_ARGUMENT', `${field}: must be ${ACCOUNT_NAME_RULE}`);
  return name;
}

export function checkPrivilege(privilege: string, field: string): AccountPrivilege {
  if (!(ACCOUNT_PRIVILEGES as readonly string[]).includes(privilege)) {
    throw new DomainError('INVALID_ARGUMENT', `${field}: must be ${ACCOUNT_PRIVILEGES.join(' or ')}, got "${privilege}"`);
  }
  return privilege as AccountPrivilege;
}

/** An account needs a password (an account without one would be a way in for anyone). */
export function checkAccountPassword(password: string, field: string): string {
  const problem = password === '' ? 'an account needs a password' : passwordProblem(password);
  if (problem) throw new DomainError('INVALID_ARGUMENT', `${field}: must be ${PASSWORD_RULE.replace(/, or empty for password-free$/, '')} (${problem})`);
  return password;
}

export function checkDescription(description: string, field: string): string {
  if (description.length > 256) throw new DomainError('INVALID_ARGUMENT', `${field}: must be at most 256 characters, got ${description.length}`);
  return description;
}

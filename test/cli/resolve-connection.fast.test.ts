import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/exit-codes.ts';
import { parseProfileFile, profileFilePath } from '../../src/cli/profile-file.ts';
import { resolveConnection } from '../../src/cli/resolve-connection.ts';

let home: string;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'jcs-cli-home-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

function writeProfile(text: string): void {
  mkdirSync(join(home, '.jcs-redis'));
  writeFileSync(join(home, '.jcs-redis', 'config'), text);
}

const PROFILE = `
# comment
[default]
endpoint = http://profile:1
access_key = PAK
secret_key = PSK
region = cn-south-1

[staging]
endpoint = https://staging.example
access_key = SAK
secret_key = SSK
`;

describe('resolveConnection', () => {
  it('uses the profile, then fills endpoint and region with defaults', () => {
    writeProfile('[default]\naccess_key = PAK\nsecret_key = PSK\n');
    expect(resolveConnection({}, { HOME: home })).toEqual({
      endpoint: 'http://127.0.0.1:8000',
      accessKey: 'PAK',
      secretKey: 'PSK',
      region: 'cn-north-1',
    });
  });

  it('prefers flags over environment over profile, setting by setting', () => {
    writeProfile(PROFILE);
    const env = { HOME: home, JCS_ENDPOINT: 'http://env:2', JCS_ACCESS_KEY: 'EAK' };
    expect(resolveConnection({}, env)).toEqual({ endpoint: 'http://env:2', accessKey: 'EAK', secretKey: 'PSK', region: 'cn-south-1' });
    expect(resolveConnection({ accessKey: 'FAK', region: 'cn-east-2' }, env)).toEqual({
      endpoint: 'http://env:2',
      accessKey: 'FAK',
      secretKey: 'PSK',
      region: 'cn-east-2',
    });
  });

  it('selects a named profile by flag or JCS_PROFILE', () => {
    writeProfile(PROFILE);
    expect(resolveConnection({ profile: 'staging' }, { HOME: home })).toMatchObject({ endpoint: 'https://staging.example', accessKey: 'SAK' });
    expect(resolveConnection({}, { HOME: home, JCS_PROFILE: 'staging' })).toMatchObject({ accessKey: 'SAK', region: 'cn-north-1' });
    expect(() => resolveConnection({ profile: 'nope' }, { HOME: home })).toThrow(/profile "nope" not found/);
  });

  it('works without a profile file, but not without keys', () => {
    expect(resolveConnection({}, { HOME: home, JCS_ACCESS_KEY: 'a', JCS_SECRET_KEY: 'b' }).accessKey).toBe('a');
    expect(() => resolveConnection({}, { HOME: home })).toThrow(UsageError);
    expect(() => resolveConnection({}, { HOME: home, JCS_ACCESS_KEY: 'a' })).toThrow(/no secret key/);
    expect(() => resolveConnection({ profile: 'x' }, { HOME: home })).toThrow(/does not exist/);
  });

  it('rejects an endpoint that is not an http(s) URL', () => {
    const env = { HOME: home, JCS_ACCESS_KEY: 'a', JCS_SECRET_KEY: 'b' };
    expect(() => resolveConnection({ endpoint: 'localhost:8000' }, env)).toThrow(/must start with http/);
    expect(() => resolveConnection({ endpoint: 'not a url' }, env)).toThrow(/is not a URL/);
  });
});

describe('profile file', () => {
  it('lives in $HOME/.jcs-redis/config', () => {
    expect(profileFilePath({ HOME: '/h' })).toBe('/h/.jcs-redis/config');
  });

  it('reports unknown keys and keys outside a section with file and line', () => {
    expect(() => parseProfileFile('[default]\naccesskey = x\n', 'cfg')).toThrow(/cfg:2: expected/);
    expect(() => parseProfileFile('access_key = x\n', 'cfg')).toThrow(/cfg:1:/);
  });

  it('keeps "=" inside values and ignores ; and # comments', () => {
    const profiles = parseProfileFile('; c\n[p]\nsecret_key = a=b=c\n', 'cfg');
    expect(profiles.get('p')).toEqual({ secret_key: 'a=b=c' });
  });
});

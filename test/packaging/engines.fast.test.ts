/**
 * `npm ci` on Node 20 warned EBADENGINE (fastify's light-my-request pulled cookie@2, which wants Node
 * 22): every package of the lockfile must accept the Node 20 the project supports, and the pin that
 * fixes it must hold for installs of the package too (an `overrides` entry would not: npm applies it
 * only in this repository).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const semver = require('semver') as { satisfies(version: string, range: string): boolean };
const ROOT = new URL('../../', import.meta.url);
const lock = JSON.parse(readFileSync(new URL('package-lock.json', ROOT), 'utf8')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[]; dev?: boolean }> };
const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { dependencies: Record<string, string>; overrides?: unknown; engines: { node: string } };
// The Node 20 of CI and of the machines the project runs on; the oldest Node 20 the lockfile accepts is checked too.
const NODE_20 = process.versions.node.startsWith('20.') ? process.versions.node : '20.19.0';

describe('engines', () => {
  it(`every package in package-lock.json accepts Node ${NODE_20}`, () => {
    const refused = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.engines && !Array.isArray(p.engines) && p.engines.node && !semver.satisfies(NODE_20, p.engines.node))
      .map(([path, p]) => `${path}@${p.version} wants node ${(p.engines as { node: string }).node}`);
    expect(refused).toEqual([]);
  });

  it('the fix is a dependency pin that installs of the package see, not a repository-only override', () => {
    expect(pkg.overrides).toBeUndefined();
    expect(pkg.dependencies['light-my-request']).toBe('6.6.0');
    const cookies = Object.entries(lock.packages).filter(([path]) => path.endsWith('node_modules/cookie'));
    expect(cookies.map(([, p]) => p.version)).toEqual([expect.stringMatching(/^1\./)]);
    expect(semver.satisfies(NODE_20, pkg.engines.node)).toBe(true);
  });
});

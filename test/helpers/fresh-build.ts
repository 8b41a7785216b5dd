/**
 * vitest globalSetup of the e2e tier: tests run `bin/jcs-redis.js`, which runs the compiled dist/, so
 * dist/ is built first when it is missing or older than any file of src/ (a stale build would test
 * yesterday's code). `npm test` thus always tests the sources as they are.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function newestMs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  let builtMs = 0;
  try {
    builtMs = statSync(join(ROOT, 'dist', '.build-stamp')).mtimeMs;
  } catch {
    // never built
  }
  const sources = Math.max(newestMs(join(ROOT, 'src')), ...['package.json', 'tsconfig.build.json', 'bin/build-cli.js'].map((f) => statSync(join(ROOT, f)).mtimeMs));
  if (builtMs > sources) return;
  execFileSync('npm', ['run', '--silent', 'build:server'], { cwd: ROOT, stdio: 'inherit' });
}

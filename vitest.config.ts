import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

// Two tiers, chosen by file name (npm test runs them in this order and stops at the first that fails):
// - fast: `test/**/*.fast.test.ts`, in-process only (unit tests, the API or CLI against a stub or
//   app.inject(), SQLite files); no redis-server and no service process. `npm run test:fast`.
// - e2e: every other `test/**/*.test.ts`: real redis-server processes, the service in-process or as
//   a child process, network namespaces. `npm run test:e2e`.
// A new file is end-to-end unless its name says fast; a fast file that starts redis-server fails
// (test/fast-tier-bin/redis-server is first on its PATH).
const FAST = 'test/**/*.fast.test.ts';

export default defineConfig({
  test: {
    allowOnly: false,
    // Real redis-server processes and SQLite files: give each file its own fork, and time enough.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // A plain `vitest run` runs both tiers, fast first (group 0), then e2e (group 1).
    projects: [
      {
        extends: true,
        test: {
          name: 'fast',
          include: [FAST],
          sequence: { groupOrder: 0 },
          env: { PATH: `${fileURLToPath(new URL('./test/fast-tier-bin', import.meta.url))}:${process.env.PATH ?? ''}` },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, FAST],
          sequence: { groupOrder: 1 },
          // Tests run bin/jcs-redis.js, i.e. dist/: built first when older than src/.
          globalSetup: ['test/helpers/fresh-build.ts'],
        },
      },
    ],
    // Off unless asked (`--coverage`); npm test collects it per tier and `npm run coverage` merges and
    // checks the floor (vitest.coverage.config.ts). Code run in child processes (bin/jcs-redis.js as a
    // service or CLI process, redis-server) is not seen: only the test workers are instrumented.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'html', 'json-summary'],
    },
  },
});

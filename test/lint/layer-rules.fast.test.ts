/**
 * The layer rule of eslint.config.js (STYLE.md habit 12) fires where it should and only there: the
 * repo's own config lints one import line at a time, as if it were in a real file of src/. Only that
 * rule runs, without type information, so this stays fast; `npm run lint` runs it on the real files.
 */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RULE = '@typescript-eslint/no-restricted-imports';

const eslint = new ESLint({
  cwd: ROOT,
  ruleFilter: ({ ruleId }) => ruleId === RULE,
  overrideConfig: { files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: false } } },
});

/** Messages of the layer rule for `code` linted as the file `file` (relative to the repo). */
async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\n`, { filePath: `${ROOT}${file}` });
  if (!result) throw new Error('no lint result');
  const fatal = result.messages.filter((m) => m.fatal);
  if (fatal.length > 0) throw new Error(`cannot lint ${file}: ${fatal[0]?.message}`);
  return result.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

const forbidden: [file: string, code: string, why: RegExp][] = [
  ['src/domain/regions.ts', "import { Engine } from '../engine/engine.ts';", /engine\/ is not imported here/],
  ['src/domain/instances/instance-status.ts', "import type { Engine } from '../../engine/engine.ts';", /engine\//],
  ['src/domain/regions.ts', "export { Engine } from '../engine/engine.ts';", /engine\//],
  ['src/domain/regions.ts', "import { buildApp } from '../api/build-app.ts';", /api\//],
  ['src/domain/regions.ts', "import { createLocalDriver } from '../drivers/local/local-driver.ts';", /drivers\//],
  ['src/domain/regions.ts', "import type { Driver } from '../drivers/driver.ts';", /drivers\//],
  // The excepted files may take types from the seam, nothing more.
  ['src/domain/instances/instance-spec.ts', "import { PermanentDriverError } from '../../drivers/driver.ts';", /types only/],
  ['src/domain/instances/instance-spec.ts', "import type { WrapOptions } from '../../drivers/wrap-driver.ts';", /drivers\//],
  ['src/domain/instances/instance-service.ts', "import { promisedNodeMemoryBytes } from '../../drivers/local/memory-guard.ts';", /drivers\//],
  ['src/store/tasks-repo.ts', "import { DomainError } from '../domain/domain-error.ts';", /domain\/ is not imported here/],
  ['src/store/tasks-repo.ts', "import type { Engine } from '../engine/engine.ts';", /engine\//],
  ['src/api/list-query.ts', "import type { InstanceListQuery } from '../store/instances-repo.ts';", /store\/ is not imported here: the API goes through the domain/],
  ['src/api/routes/instance-routes.ts', "import { Engine } from '../../engine/engine.ts';", /engine\//],
  // The API may take types from the engine's sample store, nothing else of the engine.
  ['src/api/build-app.ts', "import { InstanceSamples } from '../engine/instance-samples.ts';", /types only/],
  ['src/api/build-app.ts', "import type { Engine } from '../engine/engine.ts';", /engine\/ is not imported here/],
  ['src/engine/engine.ts', "import { createLocalDriver } from '../drivers/local/local-driver.ts';", /concrete driver/],
  ['src/engine/engine.ts', "import { buildApp } from '../api/build-app.ts';", /api\//],
  ['src/cli/run-cli.ts', "import { checkRedisBinary } from '../drivers/local/redis-binary.ts';", /concrete driver/],
  ['src/config.ts', "import { fdLimit } from './drivers/local/fd-limit.ts';", /concrete driver/],
  ['src/drivers/wrap-driver.ts', "import { createLocalDriver } from './local/local-driver.ts';", /seam does not import a concrete driver/],
  ['src/drivers/local/local-driver.ts', "import { openStore } from '../../store/open-store.ts';", /store\//],
  ['src/drivers/local/local-driver.ts', "import { transitionStatus } from '../../domain/instances/instance-status.ts';", /domain\//],
  // The console (a browser bundle) takes only browser-safe modules from src/.
  ['console/src/use-poll.ts', "import { startService } from '../../src/main.ts';", /runs in a browser/],
  ['console/src/api/console-api.ts', "import { signRequest } from '../../../src/signing/sign-request.ts';", /runs in a browser/],
  ['console/src/api/console-api.ts', "import { InstanceSamples } from '../../../src/engine/instance-samples.ts';", /types only from the engine/],
];

const allowed: [file: string, code: string][] = [
  ['console/src/api/console-api.ts', "import type { InstanceSample } from '../../../src/engine/instance-samples.ts';\nimport { flattenDescribeQuery } from '../../../src/client/flatten-query.ts';\nimport { ApiError } from '../../../src/client/api-error.ts';"],
  ['console/src/snippets.ts', "import { passwordProblem } from '../../../src/domain/instances/password-rule.ts';\nimport { deriveSigningKey } from '../api/web-signer.ts';"],
  ['src/main.ts', "import { createLocalDriver } from './drivers/local/local-driver.ts';"],
  ['src/serve-commands.ts', "import { rotateCa } from './drivers/local/tls-material.ts';"],
  ['src/engine/engine.ts', "import { PermanentDriverError, type Driver } from '../drivers/driver.ts';\nimport { wrapDriver } from '../drivers/wrap-driver.ts';"],
  ['src/engine/engine.ts', "import { transitionStatus } from '../domain/instances/instance-status.ts';\nimport { insertTask } from '../store/tasks-repo.ts';"],
  ['src/domain/instances/instance-service.ts', "import { insertTask } from '../../store/tasks-repo.ts';"],
  ['src/domain/instances/instance-spec.ts', "import type { InstanceSpec } from '../../drivers/driver.ts';"],
  ['src/api/build-app.ts', "import { DomainError } from '../domain/domain-error.ts';\nimport { verifyRequest } from '../signing/verify-request.ts';"],
  ['src/api/build-app.ts', "import type { InstanceSamples } from '../engine/instance-samples.ts';"],
  ['src/drivers/local/local-driver.ts', "import type { Driver } from '../driver.ts';\nimport { nodeConf } from './node-conf.ts';"],
];

describe('layer rule', () => {
  it.each(forbidden)('fails in %s: %s', async (file, code, why) => {
    const errors = await layerErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(why);
  });

  it.each(allowed)('passes in %s: %s', async (file, code) => {
    expect(await layerErrors(file, code)).toEqual([]);
  });
});

// Lint runs in `npm test`; type-aware rules catch floating promises, which matter in the engine.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Layers (docs/architecture.md, STYLE.md habit 12), checked on import paths: api → domain → store;
// the engine uses domain, store and the driver seam (the files directly in src/drivers/); only main.ts
// and serve-commands.ts (the process shell) import a concrete driver (a folder under src/drivers/).
// Import paths in src are relative, so each pattern matches a folder name anywhere in the path
// ('../engine/x.ts' and '../../engine/x.ts' alike); no two folders of src share a name.
// test/lint/layer-rules.fast.test.ts proves each rule fires.
const into = (folder, why) => ({ regex: `(^|/)${folder}/`, message: `${folder}/ is not imported here: ${why}` });
const CONCRETE_DRIVER = { regex: '(^|/)drivers/[^/]+/', message: 'a concrete driver is imported by src/main.ts only (it wires the pieces); use the seam in src/drivers/*.ts' };
const NOT_API = into('api', 'the API calls the domain, never the other way round');
const NOT_CLI = into('cli', 'the CLI is a client of the API');
const DOMAIN = [NOT_API, NOT_CLI, into('engine', 'the domain writes desired state and tasks to the store; the engine reads them'), into('drivers', 'the domain speaks to the store; the engine speaks to drivers')];
const layerRule = (patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { patterns }] });

const layers = [
  {
    // One exception: the API may take *types* from the engine's sample store (engine/instance-samples.ts),
    // which main.ts hands it for the console's charts; never the engine itself.
    files: ['src/api/**/*.ts'],
    rules: layerRule([
      into('store', 'the API goes through the domain'),
      { regex: '(^|/)engine/(?!instance-samples\\.ts$)', message: 'engine/ is not imported here: the API goes through the domain' },
      { regex: '(^|/)engine/instance-samples\\.ts$', allowTypeImports: true, message: 'the API may take types only from engine/instance-samples.ts (exception, see eslint.config.js)' },
      into('drivers', 'the API goes through the domain'),
      NOT_CLI,
    ]),
  },
  { files: ['src/domain/**/*.ts'], rules: layerRule(DOMAIN) },
  {
    // The domain describes what it wants in the seam's own terms: the logical InstanceSpec it builds
    // from a row, the topology list of the catalogue, the driver's capabilities. These files may take
    // *types* from the seam (src/drivers/driver.ts), nothing else from src/drivers/, and never call a
    // driver (the engine does; the resize check reads the engine's last observation through a hook).
    files: ['src/domain/catalogue/instance-class-catalogue.ts', 'src/domain/instances/instance-service.ts', 'src/domain/instances/instance-spec.ts', 'src/domain/diagnostics/diagnostics-service.ts'],
    rules: layerRule([
      ...DOMAIN.filter((p) => p.regex !== '(^|/)drivers/'),
      { regex: '(^|/)drivers/driver\\.ts$', allowTypeImports: true, message: 'the domain may take types only from the driver seam (exception, see eslint.config.js)' },
      { regex: '(^|/)drivers/(?!driver\\.ts$)', message: 'drivers/ is not imported here: the domain speaks to the store; the engine speaks to drivers' },
    ]),
  },
  { files: ['src/store/**/*.ts'], rules: layerRule([into('domain', 'rows are not domain objects: the domain maps them'), into('engine', 'the store is the bottom layer'), NOT_API, into('drivers', 'the store is the bottom layer'), NOT_CLI]) },
  { files: ['src/engine/**/*.ts'], rules: layerRule([NOT_API, NOT_CLI, CONCRETE_DRIVER]) },
  { files: ['src/drivers/*.ts'], rules: layerRule([{ regex: '^\\./[^/]+/', message: 'the driver seam does not import a concrete driver' }, NOT_API, into('domain', 'a driver knows the seam only'), into('store', 'a driver knows the seam only'), into('engine', 'a driver knows the seam only')]) },
  { files: ['src/drivers/*/**/*.ts'], rules: layerRule([NOT_API, into('domain', 'a driver knows the seam only'), into('store', 'a driver knows the seam only'), into('engine', 'a driver knows the seam only')]) },
  {
    // The console runs in a browser and reaches the service only through the signed API: from src/ it
    // takes the browser-safe client modules, the password rule and, as types only, the sample shape.
    files: ['console/src/**/*.ts', 'console/src/**/*.tsx'],
    rules: layerRule([
      { regex: '(^|/)src/engine/instance-samples\\.ts$', allowTypeImports: true, message: 'the console takes types only from the engine (the sample shape)' },
      {
        regex: '(^|/)src/(?!client/|domain/instances/password-rule\\.ts$|engine/instance-samples\\.ts$)',
        message: 'the console runs in a browser: from src/ it takes only client/, the password rule and the sample types',
      },
    ]),
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/main.ts', 'src/serve-commands.ts', 'src/api/**', 'src/domain/**', 'src/store/**', 'src/engine/**', 'src/drivers/**'],
    rules: layerRule([CONCRETE_DRIVER]),
  },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'coverage/**', '.vitest-reports/**', 'bin/**', '.tmp/**', 'console/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error',
        { object: 'describe', property: 'only', message: '.only must not land' },
        { object: 'it', property: 'only', message: '.only must not land' },
        { object: 'test', property: 'only', message: '.only must not land' }],
    },
  },
  // Runnable examples for users (README): plain Node ESM.
  { files: ['examples/**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly' } } },
  ...layers,
);

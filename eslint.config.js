// Lint runs in `npm test`; type-aware rules catch floating promises, which matter in the engine.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'coverage/**', '.vitest-reports/**', 'bin/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
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
);

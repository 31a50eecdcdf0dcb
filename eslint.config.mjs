// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';
import regexp from 'eslint-plugin-regexp';

// Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O libraries,
// no activity/worker/client SDK packages. Type-only imports are fine (they vanish at compile time).
const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const forbiddenInWorkflows = [
  ...nodeBuiltins,
  '@temporalio/activity',
  '@temporalio/worker',
  '@temporalio/client',
  '@temporalio/testing',
  'ssh2',
  'yaml',
  'commander',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.lab/**', '.lab-*/**', '.data/**', 'bench/results/**', 'lab/standins/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'off',
    },
  },
  {
    // Every regular expression is linted for catastrophic backtracking (a `remotePath` pattern once
    // took 21 s on "/" + 30 letters + "!"): values from inventories and flags meet these patterns.
    files: ['src/**/*.ts', 'lab/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.{ts,mjs,js}', 'bin/*.js'],
    plugins: { regexp },
    rules: {
      // The plugin's possible-error rules (not its style rules), with the backtracking ones strict:
      // "potential" also reports what only an attacker-chosen input triggers.
      ...Object.fromEntries(
        Object.entries(regexp.rules)
          .filter(([, rule]) => rule.meta.docs.category === 'Possible Errors' && rule.meta.docs.recommended)
          .map(([name]) => [`regexp/${name}`, 'error']),
      ),
      'regexp/no-super-linear-backtracking': ['error', { report: 'potential' }],
      'regexp/no-super-linear-move': ['error', { report: 'potential', ignoreSticky: false, ignorePartial: false }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: forbiddenInWorkflows.map((name) => ({
            name,
            message: 'Workflow code must stay deterministic: no Node built-ins or I/O packages (type-only imports are allowed).',
            allowTypeImports: true,
          })),
          patterns: [
            {
              group: ['**/remote/**', '**/activities/**', '**/cli/**', '**/lab/**'],
              message: 'Workflows may only import types from I/O layers; call activities through proxyActivities.',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'Buffer', 'setTimeout', 'setInterval', 'require'],
    },
  },
  {
    // Runbooks are written once for every runner: no Temporal, no I/O, only types from the layers below.
    files: ['src/runbook/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...forbiddenInWorkflows, '@temporalio/workflow', '@temporalio/common'].map((name) => ({
            name,
            message: 'A runbook runs on Temporal, in a plan and in the bench alike: no SDK, no Node built-ins, no I/O packages (type-only imports are allowed).',
            allowTypeImports: true,
          })),
          patterns: [
            {
              group: ['**/remote/**', '**/activities/**', '**/operations/**', '**/reconcile/**', '**/workflows/**', '**/plan/**', '**/cli/**', '**/lab/**'],
              message: 'A runbook calls operations through its runner; it may only import types from I/O layers.',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'Buffer', 'setTimeout', 'setInterval', 'require'],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The bin shim is plain CommonJS run by Node.
    files: ['bin/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __dirname: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);

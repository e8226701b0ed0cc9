// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioLibraries = [
  'postgres',
  'fastify',
  'stripe',
  'jsforce',
  'undici',
  '@nats-io/*',
  'node:fs',
  'node:fs/*',
  'node:net',
  'node:http',
  'node:https',
  'node:child_process',
  'node:dgram',
  'fs',
  'net',
  'http',
  'https',
  'child_process',
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.rtws-data/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false } },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // Fastify plugins and handlers are async by contract, with or without an await inside.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The core and the machines stay pure: no IO library may be imported there.
    files: ['core/**/*.ts', 'actors/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ioLibraries, message: 'core/ and actors/ machines must not perform IO.' },
          ],
        },
      ],
    },
  },
  {
    // The actor runtime runs any kind of actor, given as a value: the kinds (actors/customer,
    // actors/invoice) import the runtime, never the other way round. Repeats the IO rule above,
    // which this block's own list of restrictions would otherwise replace.
    files: ['actors/runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ioLibraries, message: 'core/ and actors/ machines must not perform IO.' },
            {
              group: ['**/customer', '**/customer/**', '**/invoice', '**/invoice/**'],
              message:
                'actors/runtime works for any kind of actor: the kind is passed in as a value.',
            },
          ],
        },
      ],
    },
  },
  {
    // Adapters translate for one system each; composing them is the wiring's job, in deploy/.
    files: ['adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/deploy/**'], message: 'adapters/ never import deploy/.' }] },
      ],
    },
  },
  {
    // The emulators are sandbox tooling in a room of their own: they speak Stripe's and Salesforce's
    // wire formats and import nothing of the product, so they can be lifted out whole.
    files: ['adapters/emulators/*/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../../**'], message: 'The emulators import nothing of the product.' },
          ],
        },
      ],
    },
  },
  {
    files: ['adapters/emulators/*/*/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../../../**'], message: 'The emulators import nothing of the product.' },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // The console's modules run in the browser, as they are (no build step), outside the
    // TypeScript project.
    files: ['adapters/http/console/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'addEventListener',
          'removeEventListener',
          'clearTimeout',
          'console',
          'document',
          'fetch',
          'location',
          'sessionStorage',
          'setTimeout',
          'URLSearchParams',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    files: ['eslint.config.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { URL: 'readonly', console: 'readonly' },
    },
  },
);

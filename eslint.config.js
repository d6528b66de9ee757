// The lint baseline of STYLE.md, run by `npm test`: floating promises, type-only
// imports, no `any` in src, no `export *`, at most three parameters.
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const sources = ['*/src/**/*.ts'];
const tests = ['*/test/**/*.ts'];

export default defineConfig(
  {
    ignores: ['**/node_modules/**', '**/dist/**', '**/coverage/**', '**/.turbo/**', '.canopy/**', 'console/build/**', 'test-artifacts/**'],
  },
  {
    files: [...sources, ...tests],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        // One shared program from a root tsconfig that also covers the tests
        // (the packages' own tsconfigs include only src/).
        project: './tsconfig.eslint.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'Export names explicitly; `export *` hides what a package exposes.' }],
      'max-params': ['error', 3],
      // core's SQL escaper disables this one where it means to match control characters
      'no-control-regex': 'error',
    },
  },
  {
    files: sources,
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
);

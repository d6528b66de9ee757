import { defineConfig } from 'vitest/config';

// One vitest run over every package. Tests hit the real ClickHouse, Postgres and Redis
// (deploy/scripts/test.mjs starts what is missing), each file in its own database and
// queue prefix, so files may run in parallel.
export default defineConfig({
  resolve: { conditions: ['canopy-source'] },
  ssr: { resolve: { conditions: ['canopy-source'] } },
  test: {
    include: ['*/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['./deploy/test/global-setup.ts'],
    reporters: ['default'],
  },
});

import { createPgPool, type CanopyConfig, type PgPool } from '@canopy/core';

/** What every command gets: the parsed config and where to print. */
export interface CommandContext {
  config: CanopyConfig;
  print(line: string): void;
}

/** Runs `fn` with a small Postgres pool that is closed however `fn` ends. */
export async function withPool<T>(config: CanopyConfig, fn: (pool: PgPool) => Promise<T>): Promise<T> {
  const pool = createPgPool(config.postgres.url, 2);
  try {
    return await fn(pool);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

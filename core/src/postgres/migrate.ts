import { createPgPool, ensurePgDatabase, withTransaction } from './pool.js';
import { pgMigrations, type PgMigration } from './schema.js';
import { StorageError } from '../errors.js';
import type { Logger } from '../log.js';

/** Arbitrary constant: serializes concurrent migrators across processes. */
const MIGRATION_LOCK = 7_263_411;

export async function migratePostgres(url: string, log?: Logger, migrations: PgMigration[] = pgMigrations): Promise<{ applied: number[] }> {
  await ensurePgDatabase(url);
  const pool = createPgPool(url, 1);
  try {
    return await withTransaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS canopy_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const done = new Set((await client.query<{ version: number }>('SELECT version FROM canopy_migrations')).rows.map((r) => r.version));
      const applied: number[] = [];
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        log?.info({ version: m.version, name: m.name }, 'applying Postgres migration');
        await client.query(m.sql);
        await client.query('INSERT INTO canopy_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        applied.push(m.version);
      }
      return { applied };
    });
  } catch (err) {
    if (err instanceof StorageError) throw err;
    throw new StorageError('migration_failed', `Postgres migration failed: ${(err as Error).message}`, { cause: err });
  } finally {
    await pool.end();
  }
}

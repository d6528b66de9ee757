import pg from 'pg';
import { StorageError } from '../errors.js';

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;

export function createPgPool(url: string, max = 10): PgPool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5_000 });
  // An idle client losing its connection must not take the process down.
  pool.on('error', () => undefined);
  return pool;
}

/** Creates the database named in `url` when it does not exist (connects to `postgres` to do so). */
export async function ensurePgDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) throw new StorageError('migration_failed', `invalid Postgres database name ${JSON.stringify(name)}`);
  const adminUrl = new URL(url);
  adminUrl.pathname = '/postgres';
  const client = new pg.Client({ connectionString: adminUrl.toString(), connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } catch (err) {
        // Another process created it between our check and our CREATE.
        if ((err as { code?: string }).code !== '42P04' && (err as { code?: string }).code !== '23505') throw err;
      }
    }
  } catch (err) {
    if (err instanceof StorageError) throw err;
    throw new StorageError('postgres_unavailable', `cannot prepare Postgres database ${name}: ${(err as Error).message}`, { cause: err });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `fn` in a transaction; rolls back on any error. */
export async function withTransaction<T>(pool: PgPool, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

import type { PgClient, PgPool } from '../postgres/pool.js';
import { withTransaction } from '../postgres/pool.js';
import { translatePgError } from './errors.js';

/** Anything that runs a query: the pool or a client (possibly inside a transaction). */
export interface Queryable {
  query: PgPool['query'];
}

/**
 * What the mutating operations accept: the pool (they open their own transaction) or a
 * client already inside the caller's transaction (they then work in a savepoint, so a
 * failure leaves the caller's transaction as it was). A client outside a transaction is
 * refused by Postgres ("SAVEPOINT can only be used in transaction blocks").
 */
export type Db = PgPool | PgClient;

function isClient(db: Db): db is PgClient {
  return typeof (db as Partial<PgClient>).release === 'function';
}

let savepointSeq = 0;

/** Runs `fn` atomically and translates Postgres constraint errors into TenancyErrors. */
export async function inTransaction<T>(db: Db, fn: (client: PgClient) => Promise<T>): Promise<T> {
  try {
    if (!isClient(db)) return await withTransaction(db, fn);
    const savepoint = `canopy_tenancy_${++savepointSeq}`;
    await db.query(`SAVEPOINT ${savepoint}`);
    try {
      const result = await fn(db);
      await db.query(`RELEASE SAVEPOINT ${savepoint}`);
      return result;
    } catch (err) {
      await db.query(`ROLLBACK TO SAVEPOINT ${savepoint}`).catch(() => undefined);
      throw err;
    }
  } catch (err) {
    throw translatePgError(err);
  }
}

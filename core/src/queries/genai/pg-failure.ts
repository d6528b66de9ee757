import { isNetworkError, StorageError } from '../../errors.js';
import { isTransientSqlState } from '../../postgres/sqlstate.js';
import { TenancyError } from '../../tenancy/errors.js';

/** node-postgres's own errors for a connection it could not get or lost (they carry no SQLSTATE). */
const CONNECTION_MESSAGES =
  /connection terminated|timeout exceeded when trying to connect|connection timeout|cannot use a pool after calling end|client has encountered a connection error/i;

/** A SQLSTATE only from an error Postgres sent (pg's DatabaseError carries `severity`), never Node's EPIPE and kin. */
const sqlStateOf = (err: unknown): string | null => {
  const e = err as { code?: unknown; severity?: unknown } | null;
  return typeof e?.code === 'string' && typeof e.severity === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : null;
};

/**
 * A Postgres failure while writing stored costs, as an error the API answers clearly:
 * Postgres unreachable or a transient SQLSTATE → StorageError `postgres_unavailable`
 * (503, try again); any other SQLSTATE (a value or row Postgres refuses) → TenancyError
 * `conflict` (409) naming the SQLSTATE. Errors that are not Postgres's pass unchanged.
 */
export function costsWriteFailure(err: unknown, what: string): unknown {
  if (err instanceof TenancyError || err instanceof StorageError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isNetworkError(err) || (err instanceof Error && CONNECTION_MESSAGES.test(err.message))) {
    return new StorageError('postgres_unavailable', `${what}: Postgres is unavailable: ${message}`, { cause: err });
  }
  const state = sqlStateOf(err);
  if (state === null) return err;
  if (isTransientSqlState(state)) return new StorageError('postgres_unavailable', `${what}: Postgres cannot answer now (SQLSTATE ${state})`, { cause: err });
  return new TenancyError('conflict', `${what}: Postgres refused the stored costs (SQLSTATE ${state}: ${message})`, { cause: err });
}

import type { ErrorRequestHandler } from 'express';
import { StorageError, TenancyError, type Logger, type TenancyErrorCode } from '@canopy/core';

export type QueryErrorCode =
  | 'bad_request'
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'last_owner'
  | 'expired'
  | 'too_large'
  | 'unavailable';

/**
 * The query API's one error class: a bounded code (mapped to a status below), the input
 * field at fault when there is one, and a cause for logs.
 */
export class QueryError extends Error {
  readonly field: string | undefined;

  constructor(
    readonly code: QueryErrorCode,
    message: string,
    options?: { cause?: unknown; field?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'QueryError';
    this.field = options?.field;
  }
}

/** Seconds a 503 asks the client to wait before trying again. */
export const RETRY_AFTER_S = 5;

/** The one table from error code to HTTP status. */
export const STATUS_BY_CODE: Record<QueryErrorCode | 'internal', number> = {
  bad_request: 400,
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  last_owner: 409,
  expired: 410,
  too_large: 413,
  unavailable: 503,
  internal: 500,
};

/** Every code of the tenancy layer has a code of the same name here. */
const FROM_TENANCY: Record<TenancyErrorCode, QueryErrorCode> = {
  not_found: 'not_found',
  conflict: 'conflict',
  invalid: 'invalid',
  last_owner: 'last_owner',
  expired: 'expired',
};

/** Express's own body-parser errors are http-errors: a numeric `status`, `expose: true` and a `type`. */
function fromHttpError(err: unknown): QueryError | null {
  const { status, expose, type } = err as { status?: unknown; expose?: unknown; type?: unknown };
  if (expose !== true || typeof status !== 'number') return null;
  if (status === 413) return new QueryError('too_large', 'request body too large', { cause: err });
  if (type === 'entity.parse.failed') return new QueryError('bad_request', 'the request body is not valid JSON', { cause: err });
  if (status >= 400 && status < 500) return new QueryError('bad_request', (err as Error).message, { cause: err });
  return null;
}

function classify(err: unknown): QueryError | null {
  if (err instanceof QueryError) return err;
  if (err instanceof TenancyError) {
    return new QueryError(FROM_TENANCY[err.code], err.message, { cause: err, ...(err.field === undefined ? {} : { field: err.field }) });
  }
  if (err instanceof StorageError && (err.code === 'clickhouse_unavailable' || err.code === 'postgres_unavailable')) {
    return new QueryError('unavailable', 'storage is unavailable, try again later', { cause: err });
  }
  return fromHttpError(err);
}

/**
 * The one error middleware: expected errors become `{ error: { code, message, field? } }`,
 * the rest a logged 500. Logs name the method and path, never headers (they hold tokens).
 */
export function errorMiddleware(log: Logger): ErrorRequestHandler {
  // eslint-disable-next-line max-params -- Express recognizes error middleware by its four parameters
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const known = classify(err);
    const code = known?.code ?? 'internal';
    if (!known || code === 'unavailable') log.error({ err, method: req.method, path: req.path, code }, 'request failed');
    if (code === 'unauthorized') res.setHeader('WWW-Authenticate', 'Bearer realm="canopy"');
    // Every 503 is a dependency that is down for now (storage, the queue): say when to come back.
    if (code === 'unavailable') res.setHeader('Retry-After', String(RETRY_AFTER_S));
    const field = known?.field;
    res.status(STATUS_BY_CODE[code]).json({ error: { code, message: known?.message ?? 'internal error', ...(field === undefined ? {} : { field }) } });
  };
}

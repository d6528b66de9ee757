import type { ErrorRequestHandler } from 'express';
import { StorageError, type Logger } from '@canopy/core';

export type QueryErrorCode = 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'too_large' | 'unavailable';

/** The query API's one error class: a bounded code (mapped to a status below) and a cause for logs. */
export class QueryError extends Error {
  constructor(
    readonly code: QueryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'QueryError';
  }
}

/** The one table from error code to HTTP status. */
export const STATUS_BY_CODE: Record<QueryErrorCode | 'internal', number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  too_large: 413,
  unavailable: 503,
  internal: 500,
};

/** Express's own body-parser errors are http-errors: a numeric `status` and `expose: true`. */
function fromHttpError(err: unknown): QueryError | null {
  const { status, expose } = err as { status?: unknown; expose?: unknown };
  if (expose !== true || typeof status !== 'number') return null;
  if (status === 413) return new QueryError('too_large', 'request body too large', { cause: err });
  if (status >= 400 && status < 500) return new QueryError('bad_request', (err as Error).message, { cause: err });
  return null;
}

function classify(err: unknown): QueryError | null {
  if (err instanceof QueryError) return err;
  if (err instanceof StorageError && (err.code === 'clickhouse_unavailable' || err.code === 'postgres_unavailable')) {
    return new QueryError('unavailable', 'storage is unavailable, try again later', { cause: err });
  }
  return fromHttpError(err);
}

/** The one error middleware: expected errors become `{ error: { code, message } }`, the rest a logged 500. */
export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const known = classify(err);
    const code = known?.code ?? 'internal';
    if (!known || code === 'unavailable') log.error({ err, method: req.method, path: req.path, code }, 'request failed');
    res.status(STATUS_BY_CODE[code]).json({ error: { code, message: known?.message ?? 'internal error' } });
  };
}

export type StorageErrorCode =
  | 'clickhouse_unavailable'
  | 'clickhouse_rejected'
  | 'postgres_unavailable'
  | 'migration_failed'
  | 'queue_unavailable';

/** The storage layer's one error class: a bounded code for metrics and a cause for logs. */
export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'UND_ERR_SOCKET']);

/** True when an error came from the transport (retry later), not from the server refusing the data. */
export function isNetworkError(err: unknown): boolean {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 5; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (cur instanceof Error && cur.name === 'TimeoutError') return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

/** Every way an export request can fail; bounded, so it can label metrics. */
export type IngestErrorCode =
  | 'missing_key'
  | 'invalid_key'
  | 'forbidden'
  | 'auth_unavailable'
  | 'not_found'
  | 'method_not_allowed'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'unsupported_encoding'
  | 'invalid_body'
  | 'invalid_protobuf'
  | 'invalid_json'
  | 'queue_unavailable'
  | 'queue_full'
  | 'overloaded'
  | 'busy'
  | 'too_many_auth_failures'
  | 'over_quota'
  | 'shutting_down'
  | 'internal';

/** google.rpc.Code values carried in the Status body (OTLP clients only log them). */
const RPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

export interface ErrorMapping {
  status: number;
  rpcCode: number;
  /** 429/503 answers tell the client when to retry (Retry-After) */
  retryable: boolean;
}

/** The one table from error code to HTTP status and google.rpc.Code. */
export const ERROR_TABLE: Readonly<Record<IngestErrorCode, ErrorMapping>> = {
  missing_key: { status: 401, rpcCode: RPC.UNAUTHENTICATED, retryable: false },
  invalid_key: { status: 401, rpcCode: RPC.UNAUTHENTICATED, retryable: false },
  forbidden: { status: 403, rpcCode: RPC.PERMISSION_DENIED, retryable: false },
  auth_unavailable: { status: 503, rpcCode: RPC.UNAVAILABLE, retryable: true },
  not_found: { status: 404, rpcCode: RPC.NOT_FOUND, retryable: false },
  method_not_allowed: { status: 405, rpcCode: RPC.UNIMPLEMENTED, retryable: false },
  body_too_large: { status: 413, rpcCode: RPC.RESOURCE_EXHAUSTED, retryable: false },
  unsupported_media_type: { status: 415, rpcCode: RPC.INVALID_ARGUMENT, retryable: false },
  unsupported_encoding: { status: 415, rpcCode: RPC.INVALID_ARGUMENT, retryable: false },
  invalid_body: { status: 400, rpcCode: RPC.INVALID_ARGUMENT, retryable: false },
  invalid_protobuf: { status: 400, rpcCode: RPC.INVALID_ARGUMENT, retryable: false },
  invalid_json: { status: 400, rpcCode: RPC.INVALID_ARGUMENT, retryable: false },
  queue_unavailable: { status: 503, rpcCode: RPC.UNAVAILABLE, retryable: true },
  queue_full: { status: 503, rpcCode: RPC.UNAVAILABLE, retryable: true },
  overloaded: { status: 503, rpcCode: RPC.UNAVAILABLE, retryable: true },
  busy: { status: 503, rpcCode: RPC.UNAVAILABLE, retryable: true },
  too_many_auth_failures: { status: 429, rpcCode: RPC.RESOURCE_EXHAUSTED, retryable: true },
  over_quota: { status: 429, rpcCode: RPC.RESOURCE_EXHAUSTED, retryable: true },
  shutting_down: { status: 503, rpcCode: RPC.UNAVAILABLE, retryable: true },
  internal: { status: 500, rpcCode: RPC.INTERNAL, retryable: false },
};

/** The collector's one error class: a bounded code, a client-facing message and a cause for logs. */
export class IngestError extends Error {
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: IngestErrorCode,
    message: string,
    options: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'IngestError';
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

import type { ErrorRequestHandler } from 'express';
import type { Logger } from '@canopy/core';
import { ERROR_TABLE, IngestError } from '../errors.js';
import type { CollectorMetrics } from '../metrics.js';
import { responseFormatOf } from '../receive/content.js';
import { encodeRpcStatus } from './encode.js';
import { send } from './send.js';

const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** Foreign errors are classified by structure: an HTTP 4xx from Express itself is bad input, anything else a bug. */
function toIngestError(err: unknown): IngestError {
  if (err instanceof IngestError) return err;
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return new IngestError('invalid_body', 'the request could not be read', { cause: err });
  return new IngestError('internal', 'internal error', { cause: err });
}

const causeText = (err: IngestError): string | undefined => (err.cause instanceof Error ? err.cause.message : undefined);

/**
 * The one error middleware: maps an error's code through ERROR_TABLE to an HTTP status,
 * and answers with a google.rpc.Status in the request's encoding, as OTLP requires
 * for every 4xx and 5xx.
 */
export function errorMiddleware(deps: { log: Logger; metrics: CollectorMetrics }): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    const error = toIngestError(err);
    const mapping = ERROR_TABLE[error.code];
    deps.metrics.recordError(error.code);
    if (error.code === 'internal') deps.log.error({ err: error.cause, path: req.path }, 'unexpected error while handling a request');
    else if (mapping.status >= 500) deps.log.warn({ code: error.code, cause: causeText(error) }, error.message);
    else deps.log.debug({ code: error.code, cause: causeText(error) }, error.message);

    if (res.headersSent) return next(err);
    if (mapping.retryable) res.setHeader('Retry-After', String(error.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS));
    if (error.code === 'method_not_allowed') res.setHeader('Allow', 'POST');
    // The rest of an oversized body is not worth reading: close instead of draining it.
    if (error.code === 'body_too_large') res.setHeader('Connection', 'close');
    send(res, mapping.status, encodeRpcStatus(responseFormatOf(req.headers), { code: mapping.rpcCode, message: error.message }));
  };
}

import type { ErrorRequestHandler, Request } from 'express';
import type { Logger } from '@canopy/core';
import type { RetryAfter } from '../backpressure/retry-after.js';
import { ERROR_TABLE, IngestError } from '../errors.js';
import type { CollectorMetrics } from '../metrics.js';
import { responseFormatOf } from '../receive/content.js';
import { encodeRpcStatus } from './encode.js';
import { send } from './send.js';

/** Foreign errors are classified by structure: an HTTP 4xx from Express itself is bad input, anything else a bug. */
function toIngestError(err: unknown): IngestError {
  if (err instanceof IngestError) return err;
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return new IngestError('invalid_body', 'the request could not be read', { cause: err });
  return new IngestError('internal', 'internal error', { cause: err });
}

const causeText = (err: IngestError): string | undefined => (err.cause instanceof Error ? err.cause.message : undefined);

/** Unread body bytes above which an error answer closes the connection instead of reading them to keep it. */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

/**
 * The rest of an oversized body is never worth reading. Otherwise a refused request's
 * unread body is drained to keep the connection: under overload, clients reconnecting
 * after every refusal cost more than a small body does (their SYNs queue behind the
 * busy loop, and health checks with them). A large or unbounded (chunked) rest closes it.
 */
function closeRatherThanDrain(req: Request, error: IngestError): boolean {
  if (error.code === 'body_too_large') return true;
  if (req.complete) return false;
  const declared = Number(req.headers['content-length']);
  return !(declared >= 0) || declared > DRAIN_LIMIT_BYTES;
}

/** At most one warning per code in this long; the rest are counted into the next one. */
const WARN_EVERY_MS = 10_000;

/**
 * Warnings for retryable refusals (503/429), throttled per code. Under overload every
 * refused request would otherwise be a log line: a flood that, written synchronously to
 * a slow stdout, would stall the very process that is shedding load.
 */
function throttledWarn(log: Logger): (error: IngestError) => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (error) => {
    const now = Date.now();
    const seen = last.get(error.code);
    if (seen && now - seen.at < WARN_EVERY_MS) {
      seen.suppressed++;
      log.debug({ code: error.code, cause: causeText(error) }, error.message);
      return;
    }
    last.set(error.code, { at: now, suppressed: 0 });
    log.warn({ code: error.code, cause: causeText(error), alsoSinceLastWarning: seen?.suppressed ?? 0 }, error.message);
  };
}

/**
 * The one error middleware: maps an error's code through ERROR_TABLE to an HTTP status,
 * and answers with a google.rpc.Status in the request's encoding, as OTLP requires
 * for every 4xx and 5xx.
 */
export function errorMiddleware(deps: { log: Logger; metrics: CollectorMetrics; retryAfter: RetryAfter }): ErrorRequestHandler {
  const warn = throttledWarn(deps.log);
  // eslint-disable-next-line max-params -- Express recognizes error middleware by its four parameters
  return (err: unknown, req, res, next) => {
    const error = toIngestError(err);
    const mapping = ERROR_TABLE[error.code];
    deps.metrics.recordError(error.code);
    if (error.code === 'internal') deps.log.error({ err: error.cause, path: req.path }, 'unexpected error while handling a request');
    else if (mapping.retryable) warn(error);
    else deps.log.debug({ code: error.code, cause: causeText(error) }, error.message);

    if (res.headersSent) return next(err);
    if (mapping.retryable) res.setHeader('Retry-After', String(error.retryAfterSeconds ?? deps.retryAfter()));
    if (error.code === 'method_not_allowed') res.setHeader('Allow', 'POST');
    if (closeRatherThanDrain(req, error)) res.setHeader('Connection', 'close');
    send(res, mapping.status, encodeRpcStatus(responseFormatOf(req.headers), { code: mapping.rpcCode, message: error.message }));
  };
}

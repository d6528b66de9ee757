import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { describeRejections, type KeyCache, type Refusals, type SpanBatch, type SpanLimits } from '@canopy/core';
import type { AuthFailureLimiter } from './auth/failures.js';
import { authenticate, type IngestPrincipal } from './auth/authenticate.js';
import type { Admit } from './backpressure/admit.js';
import type { CpuQueue } from './backpressure/cpu-queue.js';
import type { InflightBytes } from './backpressure/inflight.js';
import type { RetryAfter } from './backpressure/retry-after.js';
import type { LoadShedder } from './backpressure/shedder.js';
import { decodeJsonTraceRequest } from './decode/json.js';
import { decodeProtobufTraceRequest } from './decode/protobuf.js';
import { buildBatch, enqueueBatch, type EnqueueDeps, type EnqueueOptions } from './enqueue/enqueue.js';
import type { IngestLedger } from './enqueue/ledger.js';
import { IngestError } from './errors.js';
import type { CollectorMetrics } from './metrics.js';
import { readBody } from './receive/body.js';
import { isGzip, requireFormat } from './receive/content.js';
import { encodeExportResponse } from './respond/encode.js';
import { send } from './respond/send.js';

export interface ExportDeps extends EnqueueDeps {
  keys: Pick<KeyCache, 'resolve'>;
  metrics: CollectorMetrics;
  shedder: LoadShedder;
  cpu: CpuQueue;
  inflight: InflightBytes;
  authFailures: AuthFailureLimiter;
  admit: Admit;
  retryAfter: RetryAfter;
  /** the ingest ledger: accepted batches (enqueue) and refusals; absent: no ledger */
  ledger?: IngestLedger | undefined;
}

export interface ExportOptions extends EnqueueOptions {
  maxBodyBytes: number;
  spanLimits: SpanLimits;
}

/**
 * Memory a batch holds while it waits for Redis: its row text, BullMQ's JSON of it and
 * the command buffer ioredis writes (~3 copies; V8 keeps this ASCII-heavy text at a byte
 * per character).
 */
const batchHeldBytes = (batch: SpanBatch): number => 3 * batch.groups.reduce((n, g) => n + g.prefix.length + g.spans.length, 0);

const declaredLength = (headers: IncomingHttpHeaders): number => {
  const n = Number(headers['content-length']);
  return Number.isFinite(n) && n > 0 ? n : 0;
};

/** The client address failed authentications are counted against (`trust proxy` decides whose header to believe). */
const clientOf = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/** Authenticates, counting 401s against the client so a key-guessing client is cut off. */
async function authenticateClient(deps: ExportDeps, req: Request, client: string): Promise<IngestPrincipal> {
  try {
    return await authenticate(deps.keys, req.headers);
  } catch (err) {
    if (err instanceof IngestError && (err.code === 'invalid_key' || err.code === 'missing_key')) deps.authFailures.recordFailure(client);
    throw err;
  }
}

/**
 * POST /v1/traces: refuse early what cannot be taken (blocked client, Redis down, queue
 * too deep, CPU behind, in-flight budget spent) → authenticate → read (gunzip, limit,
 * charge the budget) → decode once and normalize with the key's tenant, in turn with
 * other requests → admit (quota hook) → enqueue → answer. 200 only after Redis holds
 * the batch.
 */
export function exportTracesHandler(deps: ExportDeps, options: ExportOptions): RequestHandler {
  const overloaded = (): IngestError =>
    new IngestError('overloaded', 'the collector holds as many request bytes as it may; retry later', { retryAfterSeconds: deps.retryAfter() });
  return async (req, res) => {
    const receivedAtMs = Date.now();
    const client = clientOf(req);
    const blockedFor = deps.authFailures.blockedForSeconds(client);
    if (blockedFor > 0) {
      throw new IngestError('too_many_auth_failures', `too many failed authentications from this address; retry in ${blockedFor} s`, { retryAfterSeconds: blockedFor });
    }
    deps.shedder.check(declaredLength(req.headers));
    const account = deps.inflight.open();
    try {
      const principal = await authenticateClient(deps, req, client);
      // Refusals go to the ledger of the key's workspace; unauthenticated requests have none.
      const refuse = async (counts: Refusals): Promise<void> => deps.ledger?.refused(principal, { receivedAtMs, counts });
      const format = requireFormat(req.headers);
      const gzip = isGzip(req.headers);
      const body = await readBody(req, { maxBytes: options.maxBodyBytes, gzip, charge: (n) => (account.charge(n) ? null : overloaded()) }).catch(async (err: unknown) => {
        if (err instanceof IngestError && err.code === 'body_too_large') await refuse({ rejected_too_large: { requests: 1 } });
        throw err;
      });
      deps.metrics.receivedBytes.inc(body.wireBytes);
      deps.shedder.checkDecode();
      const { batch, result, dedupeId } = await deps.cpu.run(() => {
        const request = format === 'protobuf' ? decodeProtobufTraceRequest(body.data) : decodeJsonTraceRequest(body.data);
        return { ...buildBatch(request, { principal, receivedAtMs, limits: options.spanLimits }), dedupeId: requestDedupeId(principal, format, body.data) };
      });
      if (batch) {
        // From here on the request holds its batch, not its body: charge for what it holds.
        if (!account.recharge(batchHeldBytes(batch))) throw overloaded();
        const decision = await deps.admit(principal, { spans: result.accepted, bytes: result.bytes });
        if (decision.status === 'limited') {
          await refuse({ [decision.limit === 'rate_limit' ? 'rejected_rate_limit' : 'rejected_quota']: { spans: result.accepted, requests: 1 } });
          throw new IngestError('over_quota', `over quota: ${decision.reason}; retry later`, { retryAfterSeconds: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)) });
        }
        const outcome = await enqueueBatch(deps, { batch, dedupeId }, options);
        if (outcome.status === 'retryable') {
          throw new IngestError('queue_unavailable', `the span queue is unavailable (${outcome.reason}); retry later`, { cause: outcome.error, retryAfterSeconds: deps.retryAfter() });
        }
        deps.metrics.spansAccepted.inc(result.accepted);
        deps.metrics.recordLimited(result.limited);
      }
      deps.metrics.recordRejections(result.rejectedBy);
      if (result.rejected > 0) await refuse({ rejected_invalid: { spans: result.rejected, requests: 1 } });
      const partial = result.rejected > 0 ? { rejectedSpans: result.rejected, errorMessage: describeRejections(result.rejectedBy) } : null;
      send(res, 200, encodeExportResponse(format, partial));
    } finally {
      account.release();
    }
  };
}

/**
 * Identifies a request by what it carries: an exporter that re-sends after losing our
 * answer (a timeout, a Redis crash after the write) sends the same bytes, and the queue
 * then keeps the first copy only. Identical bytes are identical spans, so nothing real is
 * ever merged away.
 */
function requestDedupeId(principal: IngestPrincipal, format: string, body: Uint8Array): string {
  return createHash('sha256').update(`${principal.workspaceId}\0${format}\0`).update(body).digest('base64url');
}

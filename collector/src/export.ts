import type { RequestHandler } from 'express';
import { describeRejections, type KeyCache } from '@canopy/core';
import { authenticate } from './auth/authenticate.js';
import { decodeJsonTraceRequest } from './decode/json.js';
import { decodeProtobufTraceRequest } from './decode/protobuf.js';
import { buildBatch, enqueueBatch, type EnqueueDeps, type EnqueueOptions } from './enqueue/enqueue.js';
import { IngestError } from './errors.js';
import type { CollectorMetrics } from './metrics.js';
import { readBody } from './receive/body.js';
import { isGzip, requireFormat } from './receive/content.js';
import { encodeExportResponse } from './respond/encode.js';
import { send } from './respond/send.js';

export interface ExportDeps extends EnqueueDeps {
  keys: Pick<KeyCache, 'resolve'>;
  metrics: CollectorMetrics;
}

export interface ExportOptions extends EnqueueOptions {
  maxBodyBytes: number;
}

/**
 * POST /v1/traces: authenticate → read (gunzip, limit) → decode once → normalize with
 * the key's tenant → enqueue → answer. 200 only after Redis holds the batch.
 */
export function exportTracesHandler(deps: ExportDeps, options: ExportOptions): RequestHandler {
  const retryAfterSeconds = Math.max(1, Math.ceil(options.retryAfterMs / 1000));
  return async (req, res) => {
    const receivedAtMs = Date.now();
    const principal = await authenticate(deps.keys, req.headers);
    const format = requireFormat(req.headers);
    const body = await readBody(req, { maxBytes: options.maxBodyBytes, gzip: isGzip(req.headers) });
    deps.metrics.receivedBytes.inc(body.wireBytes);

    const request = format === 'protobuf' ? decodeProtobufTraceRequest(body.data) : decodeJsonTraceRequest(body.data);
    const { batch, result } = buildBatch(request, principal, receivedAtMs);
    if (batch) {
      const outcome = await enqueueBatch(deps, batch, options);
      if (outcome.status === 'retryable') {
        throw new IngestError('queue_unavailable', `the span queue is unavailable (${outcome.reason}); retry later`, { cause: outcome.error, retryAfterSeconds });
      }
      deps.metrics.spansAccepted.inc(result.accepted);
    }
    deps.metrics.recordRejections(result.rejectedBy);
    const partial = result.rejected > 0 ? { rejectedSpans: result.rejected, errorMessage: describeRejections(result.rejectedBy) } : null;
    send(res, 200, encodeExportResponse(format, partial));
  };
}

import { Counter, Histogram, Registry } from 'prom-client';
import type { SpanRejectReason } from '@canopy/core';
import type { IngestErrorCode } from './errors.js';

/** The collector's Prometheus metrics, in a registry of its own (no global default registry). */
export interface CollectorMetrics {
  readonly registry: Registry;
  spansAccepted: Counter;
  spansRejected: Counter<'reason'>;
  receivedBytes: Counter;
  requests: Counter<'code'>;
  requestErrors: Counter<'code'>;
  requestDuration: Histogram;
  recordRejections(rejectedBy: Partial<Record<SpanRejectReason, number>>): void;
  recordError(code: IngestErrorCode): void;
}

export function createCollectorMetrics(): CollectorMetrics {
  const registry = new Registry();
  const registers = [registry];
  const spansRejected = new Counter({
    name: 'canopy_collector_spans_rejected_total',
    help: 'Spans refused by validation, by reason',
    labelNames: ['reason'] as const,
    registers,
  });
  const requestErrors = new Counter({
    name: 'canopy_collector_request_errors_total',
    help: 'OTLP export requests answered with an error, by error code',
    labelNames: ['code'] as const,
    registers,
  });
  return {
    registry,
    spansAccepted: new Counter({ name: 'canopy_collector_spans_accepted_total', help: 'Spans queued for storage', registers }),
    spansRejected,
    receivedBytes: new Counter({ name: 'canopy_collector_received_bytes_total', help: 'OTLP request body bytes read off the wire (compressed size for gzip)', registers }),
    requests: new Counter({
      name: 'canopy_collector_requests_total',
      help: 'OTLP export requests, by HTTP status code',
      labelNames: ['code'] as const,
      registers,
    }),
    requestErrors,
    requestDuration: new Histogram({
      name: 'canopy_collector_request_duration_seconds',
      help: 'Time from request start to response end for OTLP export requests',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    recordRejections(rejectedBy) {
      for (const [reason, count] of Object.entries(rejectedBy)) if (count) spansRejected.inc({ reason }, count);
    },
    recordError(code) {
      requestErrors.inc({ code });
    },
  };
}

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LimitTally, SpanRejectReason } from '@canopy/core';
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
  /** what the per-span limits cut or dropped from the spans of one queued request */
  recordLimited(limited: LimitTally): void;
  recordError(code: IngestErrorCode): void;
}

/** Live values the gauges read when scraped. */
export interface CollectorGaugeSources {
  inflightBytes(): number;
  /** last queue depth reading, null before the first */
  queueDepth(): number | null;
  loopDelayMs(): number;
  decodeWaitMs(): number;
}

export function createCollectorMetrics(sources?: CollectorGaugeSources): CollectorMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (sources) {
    new Gauge({
      name: 'canopy_collector_inflight_bytes',
      help: 'Memory charged to export requests in progress: bodies being read (after decompression), then batches waiting for Redis',
      registers,
      collect() {
        this.set(sources.inflightBytes());
      },
    });
    new Gauge({
      name: 'canopy_collector_queue_depth',
      help: 'Span queue jobs waiting or delayed, as last read by the load shedder (-1 before the first reading)',
      registers,
      collect() {
        this.set(sources.queueDepth() ?? -1);
      },
    });
    new Gauge({
      name: 'canopy_collector_event_loop_delay_seconds',
      help: 'How late the event loop runs timers (what a new request or health check waits before it is looked at)',
      registers,
      collect() {
        this.set(sources.loopDelayMs() / 1000);
      },
    });
    new Gauge({
      name: 'canopy_collector_decode_wait_seconds',
      help: 'Estimated wait before a request queued now would be decoded; above the limit requests get 503',
      registers,
      collect() {
        this.set(sources.decodeWaitMs() / 1000);
      },
    });
  }
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
  // Cut values are not rejections (OTLP's partial_success counts rejected spans only): each
  // stored row names what was cut or dropped, and these count it across rows.
  const truncatedValues = new Counter({
    name: 'canopy_collector_truncated_values_total',
    help: 'Attribute keys/values and texts of queued spans cut by the value limit (per stored span; the row names them in truncated_fields)',
    registers,
  });
  const droppedByLimits = {
    attributes: new Counter({ name: 'canopy_collector_dropped_attributes_total', help: 'Attributes of queued spans (span, resource, scope, event, link sets; per stored span) dropped by the attribute count limit', registers }),
    events: new Counter({ name: 'canopy_collector_dropped_events_total', help: 'Span events dropped by the events-per-span limit', registers }),
    links: new Counter({ name: 'canopy_collector_dropped_links_total', help: 'Span links dropped by the links-per-span limit', registers }),
  };
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
    recordLimited(limited) {
      if (limited.truncatedValues) truncatedValues.inc(limited.truncatedValues);
      if (limited.droppedAttributes) droppedByLimits.attributes.inc(limited.droppedAttributes);
      if (limited.droppedEvents) droppedByLimits.events.inc(limited.droppedEvents);
      if (limited.droppedLinks) droppedByLimits.links.inc(limited.droppedLinks);
    },
    recordError(code) {
      requestErrors.inc({ code });
    },
  };
}

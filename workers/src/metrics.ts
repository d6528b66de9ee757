import http from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from '@canopy/core';

/** The workers' Prometheus metrics, in a registry of their own (no global default registry). */
export interface WorkerMetrics {
  readonly registry: Registry;
  /** ledger flushes applied to Postgres, or found applied already */
  ledgerFlushes: Counter<'outcome'>;
  /** flush or reconciliation runs that failed, by step */
  ledgerFailures: Counter<'step'>;
  /** (workspace, minute) pairs reconciled, by result */
  ledgerReconciledMinutes: Counter<'result'>;
  /** minutes whose counts differ now (checked within the recheck window) */
  ledgerFlaggedMinutes: Gauge;
  /** sum of |difference| over those minutes, in spans */
  ledgerFlaggedSpans: Gauge;
  /** when a reconciliation run last finished */
  ledgerLastReconciliation: Gauge;
}

export function createWorkerMetrics(): WorkerMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    ledgerFlushes: new Counter({ name: 'canopy_ledger_flushes_total', help: 'Ingest ledger flushes from Redis to Postgres, by outcome (applied, already_applied)', labelNames: ['outcome'] as const, registers }),
    ledgerFailures: new Counter({ name: 'canopy_ledger_failures_total', help: 'Ingest ledger runs that failed, by step (flush, reconcile)', labelNames: ['step'] as const, registers }),
    ledgerReconciledMinutes: new Counter({
      name: 'canopy_ledger_reconciled_minutes_total',
      help: 'Workspace minutes reconciled (accepted against stored + dead-lettered + discarded), by result (balanced, flagged)',
      labelNames: ['result'] as const,
      registers,
    }),
    ledgerFlaggedMinutes: new Gauge({ name: 'canopy_ledger_flagged_minutes', help: 'Workspace minutes whose accepted and stored + dead-lettered + discarded spans differ, as of the last reconciliation', registers }),
    ledgerFlaggedSpans: new Gauge({ name: 'canopy_ledger_flagged_spans', help: 'Sum of the absolute differences of the flagged minutes, in spans', registers }),
    ledgerLastReconciliation: new Gauge({ name: 'canopy_ledger_last_reconciliation_timestamp_seconds', help: 'When a reconciliation run last finished (Unix seconds)', registers }),
  };
}

export interface MetricsServer {
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` on `port`. A port already taken (several workers on one host) is
 * logged and the worker runs on without metrics: metrics are not worth an outage.
 */
export async function serveMetrics(deps: { registry: Registry; logger: Logger }, options: { port: number; host?: string }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at GET /metrics\n');
      return;
    }
    deps.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': deps.registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot collect metrics: ${(err as Error).message}\n`),
    );
  });
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', (err) => {
      deps.logger.warn({ err: err.message, port: options.port }, `cannot serve worker metrics on port ${options.port}: ${err.message}; running without them`);
      resolve(false);
    });
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve(true));
  });
  if (listening) deps.logger.info({ port: options.port }, `worker metrics at http://<host>:${options.port}/metrics`);
  let closing: Promise<void> | undefined;
  return {
    close: () =>
      (closing ??= listening
        ? new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          })
        : Promise.resolve()),
  };
}

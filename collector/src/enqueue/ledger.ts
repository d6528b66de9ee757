import { Counter, type Registry } from 'prom-client';
import { commitAccepted, minuteOf, recordRefusals, writeAcceptIntent, type LedgerBatch, type Logger, type RedisClient, type Refusals } from '@canopy/core';
import type { IngestPrincipal } from '../auth/authenticate.js';

/**
 * The collector's side of the ingest ledger (core/src/ingest/ledger-record.ts): an
 * accepted batch's intent is written before its enqueue and counted after it; refusals
 * are counted as they are answered. Only the intent can fail a request (it is written
 * where the enqueue would fail too); counting never does: an accepted batch left
 * uncounted here is counted by the worker that stores it, and a refusal that cannot be
 * counted is logged and counted in a metric.
 */
export interface IngestLedger {
  /** Before the enqueue; throws when Redis does not take it (the enqueue is then not tried). */
  intend(batch: LedgerBatch): Promise<void>;
  /** After the enqueue: `jobId` is the job the queue holds (another on a dedupe hit). Never throws. */
  accepted(queued: { jobId: string; batch: LedgerBatch }): Promise<void>;
  /** A request's refused spans (or, too large, the request). Never throws. */
  refused(principal: IngestPrincipal, refusal: { receivedAtMs: number; counts: Refusals }): Promise<void>;
}

export interface IngestLedgerDeps {
  redis: RedisClient;
  log: Logger;
  /** the collector's registry, for the count of ledger updates that failed */
  registry: Registry;
}

export function createIngestLedger(deps: IngestLedgerDeps, options: { queuePrefix: string }): IngestLedger {
  const failures = new Counter({
    name: 'canopy_collector_ledger_failures_total',
    help: 'Ingest ledger updates the collector could not make (accepted: the storing worker counts the batch instead; refused: the refusal is not in the ledger)',
    labelNames: ['step'] as const,
    registers: [deps.registry],
  });
  const { redis, log } = deps;
  const prefix = options.queuePrefix;
  return {
    intend: (batch) => writeAcceptIntent(redis, prefix, batch),
    async accepted({ jobId, batch }) {
      try {
        await commitAccepted(redis, prefix, { jobId, batchId: batch.batchId, workspaceId: batch.workspaceId });
      } catch (err) {
        failures.inc({ step: 'accepted' });
        log.debug({ err: (err as Error).message, batchId: batch.batchId }, 'cannot count an accepted batch in the ingest ledger; its worker will');
      }
    },
    async refused(principal, refusal) {
      if (redis.status !== 'ready') {
        failures.inc({ step: 'refused' });
        return;
      }
      try {
        await recordRefusals(redis, prefix, { slot: { minuteMs: minuteOf(refusal.receivedAtMs), ...principal }, counts: refusal.counts });
      } catch (err) {
        failures.inc({ step: 'refused' });
        log.debug({ err: (err as Error).message }, 'cannot count a refusal in the ingest ledger');
      }
    },
  };
}

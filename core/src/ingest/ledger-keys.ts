/**
 * Names shared by every part of the ingest ledger: its Redis keys, the kinds of count it
 * keeps, and the hash fields the collector increments. All keys share the queue prefix,
 * so on Redis Cluster a `{hash-tag}` prefix keeps them in the queue's slot and one script
 * may touch them together.
 */

/** What a ledger row counts: spans accepted, or refused for one reason. */
export const LEDGER_KINDS = ['accepted', 'rejected_invalid', 'rejected_quota', 'rejected_rate_limit', 'rejected_too_large'] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/** The measures of a kind: spans (unknown for `rejected_too_large`, whose body is not decoded), requests, bytes of stored rows. */
export const LEDGER_MEASURES = ['spans', 'requests', 'bytes'] as const;
export type LedgerMeasure = (typeof LEDGER_MEASURES)[number];

export const MINUTE_MS = 60_000;

/** The minute a batch is filed under: that of its `receivedAtMs`, the clock that also sets its rows' `ingested_at`. */
export const minuteOf = (ms: number): number => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

/**
 * How long an accepted batch's intent waits to be counted. Normally it is consumed within
 * milliseconds; it must outlive a collector that died between the add and the count while
 * the job then waits out a ClickHouse outage (the worker counts it when it stores the
 * batch), so a day, not the queue's 10-minute dedupe window. An intent left by an add that
 * failed is ~100 bytes until then.
 */
export const INTENT_TTL_MS = 24 * 60 * MINUTE_MS;

export interface LedgerKeys {
  /** hash of live counters, `cellField` → count; renamed away by each flush */
  live: string;
  /** set of flush ids renamed but not yet applied to Postgres */
  flushing: string;
  /** a renamed counter hash waiting to be applied */
  flush(id: string): string;
  /** what an accepted batch will add to the ledger, written before its enqueue and consumed once */
  intent(batchId: string): string;
  /** claim on reconciliation's sweep for stored minutes without accepted counts (expires after its interval) */
  storedSweep: string;
}

export function ledgerKeys(queuePrefix: string): LedgerKeys {
  return {
    live: `${queuePrefix}:ledger:live`,
    flushing: `${queuePrefix}:ledger:flushing`,
    flush: (id) => `${queuePrefix}:ledger:flush:${id}`,
    intent: (batchId) => `${queuePrefix}:ledger:intent:${batchId}`,
    storedSweep: `${queuePrefix}:ledger:stored-sweep:claim`,
  };
}

/** Where a count belongs: minute, tenant and key. */
export interface LedgerSlot {
  minuteMs: number;
  orgId: string;
  workspaceId: string;
  keyId: string;
}

export interface LedgerCell extends LedgerSlot {
  kind: LedgerKind;
  measure: LedgerMeasure;
}

/** `<minute>|<org>|<workspace>|<key>`: ids never hold `|` (they are generated, `[a-z]+_[0-9a-f]+`). */
export const slotField = (s: LedgerSlot): string => `${s.minuteMs}|${s.orgId}|${s.workspaceId}|${s.keyId}`;

export const cellField = (c: LedgerCell): string => `${slotField(c)}|${c.kind}|${c.measure}`;

const isKind = (v: string): v is LedgerKind => (LEDGER_KINDS as readonly string[]).includes(v);
const isMeasure = (v: string): v is LedgerMeasure => (LEDGER_MEASURES as readonly string[]).includes(v);

/** The cell a live hash field names; null for a field this version does not know. */
export function parseCellField(field: string): LedgerCell | null {
  const parts = field.split('|');
  if (parts.length !== 6) return null;
  const [minute, orgId, workspaceId, keyId, kind, measure] = parts as [string, string, string, string, string, string];
  const minuteMs = Number(minute);
  if (!Number.isSafeInteger(minuteMs) || minuteMs % MINUTE_MS !== 0 || !orgId || !workspaceId || !isKind(kind) || !isMeasure(measure)) return null;
  return { minuteMs, orgId, workspaceId, keyId, kind, measure };
}

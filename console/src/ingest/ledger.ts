import type { IngestCounts, IngestLag, IngestMinute, IngestReconciliation, IngestRejected, OrgIngestReport } from '../api/types';
import { formatCount, formatDuration } from '../time/format';

/**
 * The ingest ledger's answers → what the ingest pages show: a row per minute for the chart
 * (gaps filled with zeros, since the API leaves quiet minutes out), per-key and
 * per-workspace sums, the lag and the reconciliation in words. Pure.
 */

const MINUTE_MS = 60_000;

/** Per-minute counts: a day is 1,440 points, the most worth drawing. */
export const INGEST_MAX_DAYS = 1;
/** How often the ingest pages reload while visible. */
export const REFRESH_MS = 10_000;

export const REJECT_REASONS: ReadonlyArray<{ key: keyof IngestRejected; label: string }> = [
  { key: 'invalid', label: 'invalid' },
  { key: 'quota', label: 'over quota' },
  { key: 'rateLimit', label: 'rate limited' },
  { key: 'tooLargeRequests', label: 'too large' },
];

export function emptyCounts(): IngestCounts {
  return { accepted: 0, rejected: { invalid: 0, quota: 0, rateLimit: 0, tooLargeRequests: 0 }, stored: 0, deadLettered: 0, discarded: 0, queued: 0 };
}

const n = (v: number | undefined): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** `a + b`, measure by measure (a fresh object; missing measures count as 0). */
export function addCounts(a: IngestCounts, b: IngestCounts): IngestCounts {
  return {
    accepted: n(a.accepted) + n(b.accepted),
    rejected: {
      invalid: n(a.rejected?.invalid) + n(b.rejected?.invalid),
      quota: n(a.rejected?.quota) + n(b.rejected?.quota),
      rateLimit: n(a.rejected?.rateLimit) + n(b.rejected?.rateLimit),
      tooLargeRequests: n(a.rejected?.tooLargeRequests) + n(b.rejected?.tooLargeRequests),
    },
    stored: n(a.stored) + n(b.stored),
    deadLettered: n(a.deadLettered) + n(b.deadLettered),
    discarded: n(a.discarded) + n(b.discarded),
    queued: n(a.queued) + n(b.queued),
  };
}

/** All refusals, whatever the reason. */
export function rejectedTotal(r: IngestRejected | undefined): number {
  return n(r?.invalid) + n(r?.quota) + n(r?.rateLimit) + n(r?.tooLargeRequests);
}

/** The sum of a list of rows. */
export function sumCounts(rows: readonly IngestCounts[]): IngestCounts {
  return rows.reduce<IngestCounts>((acc, r) => addCounts(acc, r), emptyCounts());
}

export interface MinuteRow {
  /** start of the minute, epoch ms */
  time: number;
  accepted: number;
  stored: number;
  deadLettered: number;
  rejected: number;
}

const floorMinute = (ms: number): number => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

/**
 * One row per minute from the minute `from` falls in up to (not including) `to`, summed
 * over keys and workspaces; minutes the API left out are zeros, so a quiet minute plots as
 * zero instead of a line drawn across it.
 */
export function minuteRows(series: readonly IngestMinute[], range: { from: Date; to: Date }): MinuteRow[] {
  const rows = new Map<number, MinuteRow>();
  const blank = (time: number): MinuteRow => ({ time, accepted: 0, stored: 0, deadLettered: 0, rejected: 0 });
  for (let t = floorMinute(range.from.getTime()); t < range.to.getTime(); t += MINUTE_MS) rows.set(t, blank(t));
  for (const m of series) {
    const ms = Date.parse(m.minute);
    if (Number.isNaN(ms)) continue;
    const t = floorMinute(ms);
    const row = rows.get(t) ?? blank(t);
    row.accepted += n(m.accepted);
    row.stored += n(m.stored);
    row.deadLettered += n(m.deadLettered);
    row.rejected += rejectedTotal(m.rejected);
    rows.set(t, row);
  }
  return [...rows.values()].sort((a, b) => a.time - b.time);
}

export interface KeyRow extends IngestCounts {
  keyId: string | null;
  /** the key's name when the person may read the key list, else its id */
  label: string;
  named: boolean;
}

/**
 * Sums per API key (from a `groupBy=key` answer), busiest first; spans stored before keys
 * were recorded (key `""`) come last, as no key.
 */
export function keyBreakdown(series: readonly IngestMinute[], names: ReadonlyMap<string, string>): KeyRow[] {
  const byKey = new Map<string | null, IngestCounts>();
  for (const m of series) {
    const id = m.keyId ? m.keyId : null;
    byKey.set(id, addCounts(byKey.get(id) ?? emptyCounts(), m));
  }
  return [...byKey.entries()]
    .map(([keyId, counts]) => {
      const name = keyId === null ? undefined : names.get(keyId);
      return { ...counts, keyId, label: keyId === null ? '(no key recorded)' : (name ?? keyId), named: name !== undefined };
    })
    .sort((a, b) => (a.keyId === null ? 1 : 0) - (b.keyId === null ? 1 : 0) || b.accepted - a.accepted || a.label.localeCompare(b.label));
}

/** A lag for people: `none`, `under a second`, `12 s`, `2m 05s`. */
export function humanLag(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return 'none';
  if (ms < 1000) return 'under a second';
  return formatDuration(Math.round(ms / 1000) * 1000);
}

/** `no batches pending`, `1 batch pending`, `1,204 batches pending`. */
export function pendingText(batches: number): string {
  if (batches <= 0) return 'no batches pending';
  return `${formatCount(batches)} ${batches === 1 ? 'batch' : 'batches'} pending`;
}

export interface LagView {
  caughtUp: boolean;
  lag: string;
  pending: string;
  /** ok under 30 s, warn under 5 min, else bad */
  level: 'ok' | 'warn' | 'bad';
}

export function lagView(lag: IngestLag): LagView {
  const pending = n(lag.pendingBatches);
  const ms = pending > 0 ? n(lag.lagMs) : 0;
  return {
    caughtUp: pending === 0,
    lag: pending === 0 ? 'caught up' : humanLag(ms),
    pending: pendingText(pending),
    level: ms < 30_000 ? 'ok' : ms < 300_000 ? 'warn' : 'bad',
  };
}

export type ReconciliationView =
  | { state: 'unchecked' }
  | { state: 'balanced'; checkedThrough: string }
  | { state: 'flagged'; checkedThrough: string | null; flagged: IngestReconciliation['flagged'] };

/** Not checked yet, balanced, or the minutes whose spans do not add up (newest first). */
export function reconciliationView(rec: IngestReconciliation | undefined): ReconciliationView {
  const flagged = [...(rec?.flagged ?? [])].sort((a, b) => Date.parse(b.minute) - Date.parse(a.minute));
  if (flagged.length > 0) return { state: 'flagged', checkedThrough: rec?.checkedThrough ?? null, flagged };
  if (!rec?.checkedThrough) return { state: 'unchecked' };
  return { state: 'balanced', checkedThrough: rec.checkedThrough };
}

/**
 * Which way a flagged minute is off (difference = accepted − stored − dead-lettered −
 * discarded): `12 spans unaccounted for`, or `3 spans more than accepted`.
 */
export function differenceText(difference: number): string {
  const abs = Math.abs(difference);
  const spans = `${formatCount(abs)} span${abs === 1 ? '' : 's'}`;
  return difference >= 0 ? `${spans} unaccounted for` : `${spans} more than accepted`;
}

export interface WorkspaceIngestRow extends IngestCounts {
  workspaceId: string;
  workspaceSlug: string;
  lag: IngestLag | null;
  /** minutes of the range whose counts do not add up */
  flaggedMinutes: number;
}

/** The org overview: one row per workspace (also those without traffic), by slug. */
export function workspaceRows(report: OrgIngestReport): WorkspaceIngestRow[] {
  const rows = new Map<string, WorkspaceIngestRow>();
  const blank = (workspaceId: string, workspaceSlug: string, lag: IngestLag | null): WorkspaceIngestRow => ({ ...emptyCounts(), workspaceId, workspaceSlug, lag, flaggedMinutes: 0 });
  for (const w of report.workspaces ?? []) rows.set(w.workspaceId, blank(w.workspaceId, w.workspaceSlug, w.lag));
  for (const m of report.series) {
    if (!m.workspaceId) continue;
    const row = rows.get(m.workspaceId) ?? blank(m.workspaceId, m.workspaceSlug ?? m.workspaceId, null);
    rows.set(m.workspaceId, { ...row, ...addCounts(row, m) });
  }
  for (const f of report.reconciliation?.flagged ?? []) {
    const row = rows.get(f.workspaceId);
    if (row) row.flaggedMinutes += 1;
  }
  return [...rows.values()].sort((a, b) => a.workspaceSlug.localeCompare(b.workspaceSlug));
}

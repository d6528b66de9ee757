import type { TenantScope } from '../clickhouse/sql.js';
import type { Queryable } from '../tenancy/db.js';
import type { FlaggedMinute, LedgerReconciliation } from './ledger-schema.js';
import type { LedgerRange } from './ledger-counts.js';

/**
 * The Postgres side of reconciliation: which (workspace, minute) pairs are due a check,
 * the results, and what the API shows of them. The comparison itself runs in the workers
 * (workers/src/ledger/reconcile.ts).
 */

export interface DueMinute {
  orgId: string;
  workspaceId: string;
  minuteMs: number;
}

export interface DueOptions {
  /** only minutes that ended at least this long before `now` */
  settledBefore: Date;
  /** minutes flagged since this instant are checked again */
  recheckSince: Date;
  /** minutes older than this are no longer looked for */
  lookbackFrom: Date;
  limit: number;
}

/**
 * Minutes with accepted spans that are settled (ended before `settledBefore`) and either
 * never checked or flagged recently enough to be checked again, oldest first.
 */
export async function dueMinutes(db: Queryable, options: DueOptions): Promise<DueMinute[]> {
  const { rows } = await db.query<{ org_id: string; workspace_id: string; minute_ms: string }>(
    `SELECT l.org_id, l.workspace_id, (extract(epoch FROM l.minute) * 1000)::bigint AS minute_ms
       FROM (SELECT DISTINCT org_id, workspace_id, minute FROM ingest_ledger
              WHERE kind = 'accepted' AND minute >= $2 AND minute + interval '1 minute' <= $1) l
       LEFT JOIN ingest_reconciliation r ON r.workspace_id = l.workspace_id AND r.minute = l.minute
      WHERE r.minute IS NULL OR (r.difference <> 0 AND r.first_flagged_at >= $3)
      ORDER BY l.minute
      LIMIT $4`,
    [options.settledBefore, options.lookbackFrom, options.recheckSince, options.limit],
  );
  return rows.map((r) => ({ orgId: r.org_id, workspaceId: r.workspace_id, minuteMs: Number(r.minute_ms) }));
}

export interface ReconciledMinute extends DueMinute {
  accepted: number;
  stored: number;
  deadLettered: number;
  discarded: number;
}

export const differenceOf = (m: Omit<ReconciledMinute, keyof DueMinute>): number => m.accepted - (m.stored + m.deadLettered + m.discarded);

/**
 * Writes one row per checked minute. A difference sets `first_flagged_at` the first time
 * and keeps it afterwards (also once the minute balances), so a cleared flag shows when
 * it was raised.
 */
export async function saveReconciliation(db: Queryable, results: readonly ReconciledMinute[], checkedAt: Date): Promise<void> {
  if (results.length === 0) return;
  await db.query(
    `INSERT INTO ingest_reconciliation (org_id, workspace_id, minute, accepted, stored, dead_lettered, discarded, difference, first_flagged_at, checked_at)
     SELECT r.org_id, r.workspace_id, r.minute, r.accepted, r.stored, r.dead_lettered, r.discarded, r.difference,
            CASE WHEN r.difference <> 0 THEN $9::timestamptz END, $9::timestamptz
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
            AS r(org_id, workspace_id, minute, accepted, stored, dead_lettered, discarded, difference)
     ON CONFLICT (workspace_id, minute) DO UPDATE SET
       accepted = EXCLUDED.accepted, stored = EXCLUDED.stored, dead_lettered = EXCLUDED.dead_lettered,
       discarded = EXCLUDED.discarded, difference = EXCLUDED.difference, checked_at = EXCLUDED.checked_at,
       first_flagged_at = COALESCE(ingest_reconciliation.first_flagged_at, EXCLUDED.first_flagged_at)`,
    [
      results.map((r) => r.orgId),
      results.map((r) => r.workspaceId),
      results.map((r) => new Date(r.minuteMs).toISOString()),
      results.map((r) => r.accepted),
      results.map((r) => r.stored),
      results.map((r) => r.deadLettered),
      results.map((r) => r.discarded),
      results.map((r) => differenceOf(r)),
      checkedAt,
    ],
  );
}

/** Minutes currently flagged across every tenant (for the workers' gauge). */
export async function countFlagged(db: Queryable, since: Date): Promise<{ minutes: number; spans: number }> {
  const { rows } = await db.query<{ minutes: string; spans: string | null }>(
    'SELECT count(*) AS minutes, sum(abs(difference)) AS spans FROM ingest_reconciliation WHERE difference <> 0 AND minute >= $1',
    [since],
  );
  return { minutes: Number(rows[0]?.minutes ?? 0), spans: Number(rows[0]?.spans ?? 0) };
}

export const MAX_FLAGGED_SHOWN = 1000;

/** What the API shows: how far reconciliation got and the flagged minutes of the range. */
export async function reconciliationSummary(db: Queryable, scope: TenantScope, range: LedgerRange): Promise<LedgerReconciliation> {
  if (scope.workspaceIds.length === 0) return { checkedThrough: null, flagged: [], flaggedTotal: 0 };
  const args = [scope.orgId, scope.workspaceIds];
  const [last, total, flagged] = await Promise.all([
    db.query<{ last: Date | null }>('SELECT max(minute) AS last FROM ingest_reconciliation WHERE org_id = $1 AND workspace_id = ANY($2)', args),
    db.query<{ n: string }>(
      'SELECT count(*) AS n FROM ingest_reconciliation WHERE org_id = $1 AND workspace_id = ANY($2) AND difference <> 0 AND minute >= $3 AND minute < $4',
      [...args, range.from, range.to],
    ),
    db.query<{ workspace_id: string; minute: Date; accepted: string; stored: string; dead_lettered: string; discarded: string; difference: string; first_flagged_at: Date | null; checked_at: Date }>(
      `SELECT workspace_id, minute, accepted, stored, dead_lettered, discarded, difference, first_flagged_at, checked_at
         FROM ingest_reconciliation
        WHERE org_id = $1 AND workspace_id = ANY($2) AND difference <> 0 AND minute >= $3 AND minute < $4
        ORDER BY minute DESC, workspace_id
        LIMIT ${MAX_FLAGGED_SHOWN}`,
      [...args, range.from, range.to],
    ),
  ]);
  const lastMinute = last.rows[0]?.last ?? null;
  return {
    checkedThrough: lastMinute ? new Date(lastMinute.getTime() + 60_000).toISOString() : null,
    flaggedTotal: Number(total.rows[0]?.n ?? 0),
    flagged: flagged.rows.map(
      (r): FlaggedMinute => ({
        workspaceId: r.workspace_id,
        minute: r.minute.toISOString(),
        accepted: Number(r.accepted),
        stored: Number(r.stored),
        deadLettered: Number(r.dead_lettered),
        discarded: Number(r.discarded),
        difference: Number(r.difference),
        firstFlaggedAt: r.first_flagged_at ? r.first_flagged_at.toISOString() : null,
        checkedAt: r.checked_at.toISOString(),
      }),
    ),
  };
}

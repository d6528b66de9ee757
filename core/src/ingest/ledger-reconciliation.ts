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

export interface DueWindow {
  /** only minutes that ended at least this long before `now` */
  settledBefore: Date;
  /** minutes flagged since this instant are checked again */
  recheckSince: Date;
  /** minutes older than this are no longer looked for */
  lookbackFrom: Date;
}

export interface DueOptions extends DueWindow {
  limit: number;
  /**
   * Per workspace, when its oldest pending batch was accepted (ms): its minutes that end
   * after it are left for later (the lag has not passed), in the query itself, so a
   * workspace with a batch pending for long cannot fill the page and starve the others.
   */
  pendingSince?: ReadonlyMap<string, number>;
}

/**
 * (workspace, minute) pairs due a check ($1 settledBefore, $2 lookbackFrom, $3
 * recheckSince): settled minutes with accepted spans never checked, and minutes flagged
 * recently enough to be checked again (also one with nothing accepted, see
 * ledger-stored-minutes.ts).
 */
const DUE_PAIRS = `
  SELECT l.org_id, l.workspace_id, l.minute
    FROM (SELECT DISTINCT org_id, workspace_id, minute FROM ingest_ledger
           WHERE kind = 'accepted' AND minute >= $2 AND minute + interval '1 minute' <= $1) l
   WHERE NOT EXISTS (SELECT 1 FROM ingest_reconciliation r WHERE r.workspace_id = l.workspace_id AND r.minute = l.minute)
  UNION ALL
  SELECT org_id, workspace_id, minute FROM ingest_reconciliation
   WHERE difference <> 0 AND first_flagged_at >= $3 AND minute >= $2 AND minute + interval '1 minute' <= $1`;

const windowArgs = (w: DueWindow): Date[] => [w.settledBefore, w.lookbackFrom, w.recheckSince];

/** The workspaces that have minutes due a check (whose pending batches then decide which may be compared). */
export async function dueWorkspaces(db: Queryable, window: DueWindow): Promise<string[]> {
  const { rows } = await db.query<{ workspace_id: string }>(`SELECT DISTINCT workspace_id FROM (${DUE_PAIRS}) d`, windowArgs(window));
  return rows.map((r) => r.workspace_id);
}

export interface DueMinutes {
  /** oldest first, at most `limit` */
  minutes: DueMinute[];
  /** due minutes left for later because their workspace's oldest pending batch was accepted before they ended */
  waitingForLag: number;
}

/** Minutes due a check whose lag has passed (see DueOptions.pendingSince), oldest first. */
export async function dueMinutes(db: Queryable, options: DueOptions): Promise<DueMinutes> {
  const pending = [...(options.pendingSince ?? new Map<string, number>())];
  const { rows } = await db.query<{ org_id: string | null; workspace_id: string | null; minute_ms: string | null; waiting: string }>(
    `WITH due AS (
       SELECT d.org_id, d.workspace_id, d.minute, COALESCE(d.minute + interval '1 minute' > p.since, false) AS waiting
         FROM (${DUE_PAIRS}) d
         LEFT JOIN unnest($5::text[], $6::timestamptz[]) AS p(workspace_id, since) ON p.workspace_id = d.workspace_id
     )
     SELECT ready.org_id, ready.workspace_id, (extract(epoch FROM ready.minute) * 1000)::bigint AS minute_ms, w.waiting
       FROM (SELECT count(*) FILTER (WHERE waiting) AS waiting FROM due) w
       LEFT JOIN (SELECT org_id, workspace_id, minute FROM due WHERE NOT waiting ORDER BY minute, workspace_id LIMIT $4) ready ON true
      ORDER BY ready.minute, ready.workspace_id`,
    [...windowArgs(options), options.limit, pending.map(([ws]) => ws), pending.map(([, ms]) => new Date(ms))],
  );
  return {
    minutes: rows.flatMap((r) => (r.org_id && r.workspace_id && r.minute_ms ? [{ orgId: r.org_id, workspaceId: r.workspace_id, minuteMs: Number(r.minute_ms) }] : [])),
    waitingForLag: Number(rows[0]?.waiting ?? 0),
  };
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

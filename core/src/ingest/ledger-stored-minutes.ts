import type { ClickHouse } from '../clickhouse/client.js';
import { AllTenants, sql } from '../clickhouse/sql.js';
import type { Queryable } from '../tenancy/db.js';
import { MINUTE_MS } from './ledger-keys.js';
import type { DueMinute } from './ledger-reconciliation.js';

/**
 * Reconciliation finds its minutes in the accepted counts; a minute ClickHouse stored
 * spans for but that has no accepted count at all (a batch stored but never counted as
 * accepted: its intent outlived, see INTENT_TTL_MS) would never be compared. This sweep
 * finds such minutes, and minutes compared while nothing was stored yet and stored since,
 * without listing every stored minute of every tenant:
 *
 * 1. ClickHouse: per (workspace, UTC day), how many settled minutes hold stored spans.
 * 2. Postgres: per (workspace, day), how many minutes are accounted for: accepted and not
 *    compared yet, or compared with something stored.
 * 3. Only where ClickHouse has more are that workspace's stored minutes of that day
 *    listed (at most 1,440), and those not accounted for are returned, to be compared.
 *
 * A minute accepted but not stored yet hides a stored-only one of the same workspace
 * and day from step 3 until it is compared; the sweep finds it after that.
 */

const DAY_S = 86_400;

export interface StoredSweepWindow {
  /** only minutes that ended before this */
  settledBefore: Date;
  /** minutes older than this are not looked for */
  lookbackFrom: Date;
  /** most (workspace, day) pairs listed per sweep (default 20); the rest wait for the next */
  maxDays?: number;
  /**
   * Per workspace, when its oldest pending batch was accepted. Days that begin after it are
   * left out before the `maxDays` cut: their minutes could not be compared yet, and taking
   * them would let a workspace stuck behind a pending batch crowd out every other one.
   */
  pendingSince?: (workspaceIds: string[]) => Promise<ReadonlyMap<string, number>>;
}

/** Minutes accounted for ($1 from, $2 last minute, $3 workspace ids): accepted and never compared, or compared with stored spans. */
const ACCOUNTED = `
  SELECT l.workspace_id, l.minute FROM ingest_ledger l
   WHERE l.kind = 'accepted' AND l.workspace_id = ANY($3) AND l.minute >= $1 AND l.minute <= $2
     AND NOT EXISTS (SELECT 1 FROM ingest_reconciliation r WHERE r.workspace_id = l.workspace_id AND r.minute = l.minute)
  UNION
  SELECT workspace_id, minute FROM ingest_reconciliation
   WHERE workspace_id = ANY($3) AND minute >= $1 AND minute <= $2 AND stored > 0`;

interface DayCount {
  orgId: string;
  workspaceId: string;
  day: number;
}

export async function storedMinutesToCompare(deps: { pool: Queryable; clickhouse: ClickHouse }, window: StoredSweepWindow): Promise<DueMinute[]> {
  const from = window.lookbackFrom;
  const last = new Date(Math.floor((window.settledBefore.getTime() - MINUTE_MS) / MINUTE_MS) * MINUTE_MS);
  if (last < from) return [];
  const stored = await deps.clickhouse.query<{ org_id: string; workspace_id: string; day: string; minutes: string }>(
    AllTenants,
    sql`SELECT org_id, workspace_id, intDiv(toUnixTimestamp(minute), ${DAY_S}) AS day, uniqExact(minute) AS minutes
        FROM ingest_ledger_stored
        WHERE ${sql.allTenants()} AND minute >= ${from} AND minute <= ${last}
        GROUP BY org_id, workspace_id, day`,
  );
  if (stored.length === 0) return [];
  const workspaceIds = [...new Set(stored.map((r) => r.workspace_id))];
  const { rows: accounted } = await deps.pool.query<{ workspace_id: string; day: string; minutes: string }>(
    `SELECT workspace_id, floor(extract(epoch FROM minute) / ${DAY_S})::bigint AS day, count(*) AS minutes FROM (${ACCOUNTED}) m GROUP BY 1, 2`,
    [from, last, workspaceIds],
  );
  const expected = new Map(accounted.map((r) => [`${r.workspace_id}|${r.day}`, Number(r.minutes)]));
  const candidates = stored.filter((r) => Number(r.minutes) > (expected.get(`${r.workspace_id}|${r.day}`) ?? 0));
  const waiting = window.pendingSince && candidates.length ? await window.pendingSince([...new Set(candidates.map((r) => r.workspace_id))]) : new Map<string, number>();
  const unaccounted: DayCount[] = candidates
    .map((r) => ({ orgId: r.org_id, workspaceId: r.workspace_id, day: Number(r.day) }))
    .filter((d) => {
      const oldest = waiting.get(d.workspaceId);
      return oldest === undefined || d.day * DAY_S * 1000 + MINUTE_MS <= oldest;
    })
    .sort((a, b) => a.day - b.day)
    .slice(0, window.maxDays ?? 20);

  const found: DueMinute[] = [];
  for (const d of unaccounted) {
    const dayFrom = new Date(Math.max(from.getTime(), d.day * DAY_S * 1000));
    const dayLast = new Date(Math.min(last.getTime(), (d.day + 1) * DAY_S * 1000 - MINUTE_MS));
    const scope = { orgId: d.orgId, workspaceIds: [d.workspaceId] };
    const [inClickHouse, known] = await Promise.all([
      deps.clickhouse.query<{ minute_s: string }>(
        scope,
        sql`SELECT toUnixTimestamp(minute) AS minute_s FROM ingest_ledger_stored
            WHERE ${sql.tenant(scope)} AND minute >= ${dayFrom} AND minute <= ${dayLast}
            GROUP BY minute_s`,
      ),
      deps.pool.query<{ minute_ms: string }>(`SELECT (extract(epoch FROM minute) * 1000)::bigint AS minute_ms FROM (${ACCOUNTED}) m`, [dayFrom, dayLast, [d.workspaceId]]),
    ]);
    const accountedFor = new Set(known.rows.map((r) => Number(r.minute_ms)));
    for (const r of inClickHouse) {
      const minuteMs = Number(r.minute_s) * 1000;
      if (!accountedFor.has(minuteMs)) found.push({ orgId: d.orgId, workspaceId: d.workspaceId, minuteMs });
    }
  }
  return found.sort((a, b) => a.minuteMs - b.minuteMs);
}

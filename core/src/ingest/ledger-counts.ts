import type { ClickHouse } from '../clickhouse/client.js';
import { sql, type TenantScope } from '../clickhouse/sql.js';
import type { Queryable } from '../tenancy/db.js';
import type { LedgerKind } from './ledger-keys.js';

/**
 * The ledger's counts per (workspace, key, minute), each from its own source:
 * accepted and refused from Postgres `ingest_ledger` (the collector's counters, flushed),
 * stored from ClickHouse `ingest_ledger_stored` (the insert itself), dead letters from
 * Postgres `dead_letters` by the minute their batch was accepted.
 */

export interface LedgerRange {
  from: Date;
  to: Date;
}

export interface MinuteCounts {
  accepted: number;
  invalid: number;
  quota: number;
  rateLimit: number;
  tooLargeRequests: number;
  stored: number;
  deadLettered: number;
  discarded: number;
}

export const emptyCounts = (): MinuteCounts => ({ accepted: 0, invalid: 0, quota: 0, rateLimit: 0, tooLargeRequests: 0, stored: 0, deadLettered: 0, discarded: 0 });

/** `workspace|key|minuteMs`; key is '' when counts are not split by key. */
export type CountsKey = string;
export const countsKey = (workspaceId: string, keyId: string, minuteMs: number): CountsKey => `${workspaceId}|${keyId}|${minuteMs}`;
export function parseCountsKey(key: CountsKey): { workspaceId: string; keyId: string; minuteMs: number } {
  const [workspaceId = '', keyId = '', minute = '0'] = key.split('|');
  return { workspaceId, keyId, minuteMs: Number(minute) };
}

/** Counts per (workspace, key, minute); the key part is '' unless `byKey`. */
export type LedgerCounts = Map<CountsKey, MinuteCounts>;

export interface CountOptions extends LedgerRange {
  byKey: boolean;
}

function add(counts: LedgerCounts, at: { workspaceId: string; keyId: string; minuteMs: number }, value: { field: keyof MinuteCounts; n: number }): void {
  if (!value.n) return;
  const k = countsKey(at.workspaceId, at.keyId, at.minuteMs);
  let c = counts.get(k);
  if (!c) counts.set(k, (c = emptyCounts()));
  c[value.field] += value.n;
}

const KIND_FIELD: Record<LedgerKind, { field: keyof MinuteCounts; measure: 'spans' | 'requests' }> = {
  accepted: { field: 'accepted', measure: 'spans' },
  rejected_invalid: { field: 'invalid', measure: 'spans' },
  rejected_quota: { field: 'quota', measure: 'spans' },
  rejected_rate_limit: { field: 'rateLimit', measure: 'spans' },
  rejected_too_large: { field: 'tooLargeRequests', measure: 'requests' },
};

/** Accepted spans and refusals, from Postgres. */
export async function addCollectorCounts(db: Queryable, scope: TenantScope, options: CountOptions & { into: LedgerCounts }): Promise<void> {
  if (scope.workspaceIds.length === 0) return;
  const { rows } = await db.query<{ workspace_id: string; key_id: string; minute_ms: string; kind: LedgerKind; spans: string; requests: string }>(
    `SELECT workspace_id, ${options.byKey ? 'key_id' : "''"} AS key_id, (extract(epoch FROM minute) * 1000)::bigint AS minute_ms, kind,
            sum(spans)::bigint AS spans, sum(requests)::bigint AS requests
       FROM ingest_ledger
      WHERE org_id = $1 AND workspace_id = ANY($2) AND minute >= $3 AND minute < $4
      GROUP BY 1, 2, 3, 4`,
    [scope.orgId, scope.workspaceIds, options.from, options.to],
  );
  for (const r of rows) {
    const target = KIND_FIELD[r.kind];
    if (!target) continue;
    add(options.into, { workspaceId: r.workspace_id, keyId: r.key_id, minuteMs: Number(r.minute_ms) }, { field: target.field, n: Number(target.measure === 'spans' ? r.spans : r.requests) });
  }
}

/** Stored spans, from ClickHouse (the SummingMergeTree may hold unmerged parts: always sum). */
export async function addStoredCounts(clickhouse: ClickHouse, scope: TenantScope, options: CountOptions & { into: LedgerCounts }): Promise<void> {
  if (scope.workspaceIds.length === 0) return;
  const key = options.byKey ? sql`key_id` : sql`''`;
  const rows = await clickhouse.query<{ workspace_id: string; key_id: string; minute_s: string; spans: string }>(
    scope,
    sql`SELECT workspace_id, ${key} AS key_id, toUnixTimestamp(minute) AS minute_s, sum(spans) AS spans
        FROM ingest_ledger_stored
        WHERE ${sql.tenant(scope)} AND minute >= ${options.from} AND minute < ${options.to}
        GROUP BY workspace_id, key_id, minute_s`,
  );
  for (const r of rows) add(options.into, { workspaceId: r.workspace_id, keyId: r.key_id, minuteMs: Number(r.minute_s) * 1000 }, { field: 'stored', n: Number(r.spans) });
}

/** Whether the dead-letter table exists yet (it comes with its own migration). */
async function hasDeadLetters(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ present: boolean }>("SELECT to_regclass('dead_letters') IS NOT NULL AS present");
  return rows[0]?.present === true;
}

/** Spans of open and discarded dead letters, by the minute their batch was accepted. */
export async function addDeadLetterCounts(db: Queryable, scope: TenantScope, options: CountOptions & { into: LedgerCounts }): Promise<void> {
  if (scope.workspaceIds.length === 0 || !(await hasDeadLetters(db))) return;
  const { rows } = await db.query<{ workspace_id: string; key_id: string; minute_ms: string; status: string; spans: string }>(
    `SELECT workspace_id, ${options.byKey ? 'key_id' : "''"} AS key_id,
            (floor(extract(epoch FROM received_at) / 60) * 60000)::bigint AS minute_ms, status, sum(spans)::bigint AS spans
       FROM dead_letters
      WHERE org_id = $1 AND workspace_id = ANY($2) AND status IN ('open', 'discarded')
        AND received_at >= $3 AND received_at < $4
      GROUP BY 1, 2, 3, 4`,
    [scope.orgId, scope.workspaceIds, options.from, options.to],
  );
  for (const r of rows) {
    add(options.into, { workspaceId: r.workspace_id, keyId: r.key_id, minuteMs: Number(r.minute_ms) }, { field: r.status === 'open' ? 'deadLettered' : 'discarded', n: Number(r.spans) });
  }
}

/**
 * Every count of the minutes that start in [from, to), from all three sources (dead
 * letters up to the end of the last such minute, like the per-minute tables).
 */
export async function ledgerCounts(deps: { pool: Queryable; clickhouse: ClickHouse }, scope: TenantScope, options: CountOptions): Promise<LedgerCounts> {
  const into: LedgerCounts = new Map();
  const minutes = { ...options, to: new Date(Math.ceil(options.to.getTime() / 60_000) * 60_000), into };
  await Promise.all([addCollectorCounts(deps.pool, scope, minutes), addStoredCounts(deps.clickhouse, scope, minutes), addDeadLetterCounts(deps.pool, scope, minutes)]);
  return into;
}

/** accepted − stored − dead-lettered − discarded, never below 0. */
export const queuedOf = (c: MinuteCounts): number => Math.max(0, c.accepted - c.stored - c.deadLettered - c.discarded);

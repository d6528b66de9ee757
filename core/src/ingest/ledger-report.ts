import type { Redis } from 'ioredis';
import type { ClickHouse } from '../clickhouse/client.js';
import { StorageError } from '../errors.js';
import type { TenantScope } from '../clickhouse/sql.js';
import type { Queryable } from '../tenancy/db.js';
import { pendingSummaries, type PendingSummary } from './pending.js';
import { emptyCounts, ledgerCounts, parseCountsKey, queuedOf, type LedgerCounts, type MinuteCounts } from './ledger-counts.js';
import { reconciliationSummary } from './ledger-reconciliation.js';
import type { IngestLedgerInput, LedgerLag, LedgerSeriesRow, LedgerTotals, OrgLedger, OrgLedgerSeriesRow, WorkspaceLedger } from './ledger-schema.js';

/** What a ledger report reads: Postgres, ClickHouse, and Redis for the pending batches. */
export interface LedgerReportDeps {
  pool: Queryable;
  clickhouse: ClickHouse;
  redis: Redis;
  queuePrefix: string;
  now?: () => number;
}

const measuresOf = (c: MinuteCounts): LedgerTotals => ({
  accepted: c.accepted,
  rejected: { invalid: c.invalid, quota: c.quota, rateLimit: c.rateLimit, tooLargeRequests: c.tooLargeRequests },
  stored: c.stored,
  deadLettered: c.deadLettered,
  discarded: c.discarded,
  queued: queuedOf(c),
});

function totalsOf(counts: LedgerCounts): LedgerTotals {
  const sum = emptyCounts();
  for (const c of counts.values()) for (const k of Object.keys(sum) as Array<keyof MinuteCounts>) sum[k] += c[k];
  // Queued per minute, summed: a minute with more stored than accepted must not hide another's backlog.
  let queued = 0;
  for (const c of counts.values()) queued += queuedOf(c);
  return { ...measuresOf(sum), queued };
}

/** Series rows by minute, then workspace and key. */
function seriesOf(counts: LedgerCounts, byKey: boolean): Array<LedgerSeriesRow & { workspaceId: string }> {
  return [...counts.entries()]
    .map(([key, c]) => ({ ...parseCountsKey(key), c }))
    .sort((a, b) => a.minuteMs - b.minuteMs || a.workspaceId.localeCompare(b.workspaceId) || a.keyId.localeCompare(b.keyId))
    .map(({ workspaceId, keyId, minuteMs, c }) => ({ workspaceId, minute: new Date(minuteMs).toISOString(), keyId: byKey ? keyId : null, ...measuresOf(c) }));
}

export function lagOf(summary: PendingSummary | undefined, nowMs: number): LedgerLag {
  const oldest = summary?.oldestReceivedAtMs ?? null;
  return {
    pendingBatches: summary?.batches ?? 0,
    oldestPendingReceivedAt: oldest === null ? null : new Date(oldest).toISOString(),
    lagMs: oldest === null ? 0 : Math.max(0, nowMs - oldest),
  };
}

async function gather(deps: LedgerReportDeps, scope: TenantScope, input: IngestLedgerInput) {
  const range = { from: input.from, to: input.to };
  const [counts, pending, reconciliation] = await Promise.all([
    ledgerCounts(deps, scope, { ...range, byKey: input.byKey }),
    pendingSummaries(deps.redis, deps.queuePrefix, scope.workspaceIds).catch((err: unknown) => {
      throw new StorageError('queue_unavailable', `cannot read the pending batches from Redis: ${(err as Error).message}`, { cause: err });
    }),
    reconciliationSummary(deps.pool, scope, range),
  ]);
  return { counts, pending, reconciliation, nowMs: (deps.now ?? Date.now)() };
}

/** `GET /workspaces/:ws/ingest`. */
export async function workspaceLedgerReport(deps: LedgerReportDeps, target: { orgId: string; workspaceId: string }, input: IngestLedgerInput): Promise<WorkspaceLedger> {
  const scope = { orgId: target.orgId, workspaceIds: [target.workspaceId] };
  const { counts, pending, reconciliation, nowMs } = await gather(deps, scope, input);
  return {
    workspaceId: target.workspaceId,
    from: input.from.toISOString(),
    to: input.to.toISOString(),
    series: seriesOf(counts, input.byKey).map(({ workspaceId: _, ...row }) => row),
    totals: totalsOf(counts),
    lag: lagOf(pending.get(target.workspaceId), nowMs),
    reconciliation,
  };
}

/** `GET /orgs/:org/ingest`: every workspace of the organization. */
export async function orgLedgerReport(
  deps: LedgerReportDeps,
  target: { orgId: string; workspaces: ReadonlyArray<{ id: string; slug: string }> },
  input: IngestLedgerInput,
): Promise<OrgLedger> {
  const scope = { orgId: target.orgId, workspaceIds: target.workspaces.map((w) => w.id) };
  const slugs = new Map(target.workspaces.map((w) => [w.id, w.slug]));
  const { counts, pending, reconciliation, nowMs } = await gather(deps, scope, input);
  return {
    orgId: target.orgId,
    from: input.from.toISOString(),
    to: input.to.toISOString(),
    series: seriesOf(counts, input.byKey).map((row): OrgLedgerSeriesRow => ({ ...row, workspaceSlug: slugs.get(row.workspaceId) ?? '' })),
    totals: totalsOf(counts),
    workspaces: target.workspaces.map((w) => ({ workspaceId: w.id, workspaceSlug: w.slug, lag: lagOf(pending.get(w.id), nowMs) })),
    reconciliation,
  };
}

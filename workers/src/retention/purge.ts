import { recordAudit, withTransaction, type ClickHouse, type Logger, type PgPool } from '@canopy/core';
import { planRetention, type DeleteGroup, type RetentionPlan } from './plan.js';
import { loadRetentionPolicies } from './policies.js';
import {
  RETAINED_TABLES,
  countExpired,
  countSpansInPartitions,
  deleteExpired,
  dropDayPartition,
  listDayPartitions,
  unfinishedMutations,
  waitForMutations,
  workspaceKey,
} from './tables.js';

export interface RetentionDeps {
  clickhouse: ClickHouse;
  pool: PgPool;
  logger: Logger;
}

export interface RetentionRunOptions {
  /** the clock of this run; tests pass one they control */
  now: Date;
  /** longest wait for ClickHouse to apply the DELETE mutations (default 10 min); they finish in the background anyway */
  mutationTimeoutMs?: number;
  pollIntervalMs?: number;
  /** ends the wait for mutations early (shutdown) */
  signal?: AbortSignal;
}

/** What one run removed from one workspace; the `after` of its audit entry. */
export interface WorkspacePurge {
  orgId: string;
  workspaceId: string;
  /** null for a workspace no longer in Postgres (deleted): its rows go with the partitions */
  retentionDays: number | null;
  /** ISO instant; rows older than this are gone */
  cutoff: string;
  /** day partitions (YYYYMMDD) dropped that held rows of this workspace */
  partitionsDropped: string[];
  /** span rows removed, counted before the drop/delete (rows arriving meanwhile are not counted) */
  rowsDeleted: number;
}

export interface RetentionReport {
  now: string;
  /** day partitions before this instant were dropped; null when there was nothing to decide by (no workspaces) */
  dropBefore: string | null;
  partitionsDropped: Record<'spans' | 'trace_index', string[]>;
  /** DELETE statements sent */
  deleteStatements: number;
  /** deletes were skipped because mutations of an earlier run are still running */
  deletesDeferred: boolean;
  /** the DELETE mutations finished within the wait */
  mutationsDone: boolean;
  workspaces: WorkspacePurge[];
  durationMs: number;
}

export const RETENTION_ACTOR = { type: 'system', id: 'retention' } as const;

/**
 * One retention run: drops the day partitions older than the longest retention of any
 * workspace, deletes the older rows of workspaces that keep less, and writes one audit
 * entry per workspace that lost data. Safe to run again: a second run with the same
 * clock finds nothing to remove.
 */
export async function runRetention(deps: RetentionDeps, options: RetentionRunOptions): Promise<RetentionReport> {
  const started = Date.now();
  const plan = planRetention(await loadRetentionPolicies(deps.pool), options.now);
  const report: RetentionReport = {
    now: options.now.toISOString(),
    dropBefore: plan.dropBefore?.toISOString() ?? null,
    partitionsDropped: { spans: [], trace_index: [] },
    deleteStatements: 0,
    deletesDeferred: false,
    mutationsDone: true,
    workspaces: [],
    durationMs: 0,
  };
  if (plan.dropBeforePartition === null) {
    deps.logger.info('retention: no workspaces, nothing to decide by; nothing removed');
    return { ...report, durationMs: Date.now() - started };
  }

  const purged = new Map<string, WorkspacePurge>();
  try {
    await dropExpiredPartitions(deps, plan, { report, purged });
    await deleteExpiredRows(deps, plan, { report, purged, options });
  } finally {
    // Whatever was removed is audited, also when a later step failed.
    report.workspaces = [...purged.values()].filter((w) => w.rowsDeleted > 0 || w.partitionsDropped.length > 0);
    await auditPurges(deps.pool, report.workspaces);
    report.durationMs = Date.now() - started;
  }
  const rows = report.workspaces.reduce((n, w) => n + w.rowsDeleted, 0);
  deps.logger.info(
    { dropBefore: report.dropBefore, partitions: report.partitionsDropped.spans.length, workspaces: report.workspaces.length, rows, deferred: report.deletesDeferred, durationMs: report.durationMs },
    `retention: ${report.partitionsDropped.spans.length} day partitions dropped, ${rows} span rows removed from ${report.workspaces.length} workspaces`,
  );
  return report;
}

interface RunState {
  report: RetentionReport;
  purged: Map<string, WorkspacePurge>;
}

function entryFor(plan: RetentionPlan, state: RunState, ids: { orgId: string; workspaceId: string }): WorkspacePurge {
  const key = workspaceKey(ids.orgId, ids.workspaceId);
  let entry = state.purged.get(key);
  if (!entry) {
    const known = plan.cutoffs.get(ids.workspaceId);
    const policy = known?.orgId === ids.orgId ? known : undefined;
    entry = {
      orgId: ids.orgId,
      workspaceId: ids.workspaceId,
      retentionDays: policy?.retentionDays ?? null,
      cutoff: (policy?.cutoff ?? (plan.dropBefore as Date)).toISOString(),
      partitionsDropped: [],
      rowsDeleted: 0,
    };
    state.purged.set(key, entry);
  }
  return entry;
}

async function dropExpiredPartitions(deps: RetentionDeps, plan: RetentionPlan, state: RunState): Promise<void> {
  const before = plan.dropBeforePartition as number;
  for (const table of RETAINED_TABLES) {
    const expired = (await listDayPartitions(deps.clickhouse, table.name)).filter((p) => p < before);
    const holders = table.name === 'spans' ? await countSpansInPartitions(deps.clickhouse, { partitions: expired, before: plan.dropBefore as Date }) : [];
    for (const p of expired) {
      await dropDayPartition(deps.clickhouse, table.name, p);
      state.report.partitionsDropped[table.name].push(String(p));
      // Credited only once the partition is gone, so a failed run audits what it really removed.
      for (const c of holders.filter((h) => h.partition === p)) {
        const entry = entryFor(plan, state, c);
        entry.rowsDeleted += c.rows;
        entry.partitionsDropped.push(String(p));
      }
    }
  }
}

async function deleteExpiredRows(deps: RetentionDeps, plan: RetentionPlan, state: RunState & { options: RetentionRunOptions }): Promise<void> {
  if (plan.deletes.length === 0) return;
  const { clickhouse, logger } = deps;
  const running = await unfinishedMutations(clickhouse);
  if (running.length > 0) {
    // Counting now would count rows an earlier DELETE is about to remove; the next run catches up.
    logger.warn({ mutations: running }, `retention: ${running.length} earlier mutations still running; row deletes wait for the next run`);
    state.report.deletesDeferred = true;
    return;
  }
  for (const table of RETAINED_TABLES) {
    const counts = await countExpired(clickhouse, table, plan.deletes);
    const groups = onlyWith(plan.deletes, counts);
    if (groups.length === 0) continue;
    if (table.name === 'spans') {
      for (const g of groups) {
        for (const workspaceId of g.workspaceIds) entryFor(plan, state, { orgId: g.orgId, workspaceId }).rowsDeleted += counts.get(workspaceKey(g.orgId, workspaceId)) ?? 0;
      }
    }
    state.report.deleteStatements += await deleteExpired(clickhouse, table, groups);
  }
  if (state.report.deleteStatements === 0) return;
  const { mutationTimeoutMs = 600_000, pollIntervalMs = 500, signal } = state.options;
  state.report.mutationsDone = await waitForMutations(clickhouse, { timeoutMs: mutationTimeoutMs, pollIntervalMs, signal });
  if (!state.report.mutationsDone) logger.warn({ mutationTimeoutMs }, 'retention: DELETE mutations still running; ClickHouse finishes them in the background');
}

/** The groups narrowed to workspaces that have expired rows, so a DELETE rewrites no part in vain. */
function onlyWith(groups: readonly DeleteGroup[], counts: Map<string, number>): DeleteGroup[] {
  return groups
    .map((g) => ({ ...g, workspaceIds: g.workspaceIds.filter((id) => (counts.get(workspaceKey(g.orgId, id)) ?? 0) > 0) }))
    .filter((g) => g.workspaceIds.length > 0);
}

async function auditPurges(pool: PgPool, purges: readonly WorkspacePurge[]): Promise<void> {
  if (purges.length === 0) return;
  await withTransaction(pool, async (client) => {
    for (const w of purges) {
      await recordAudit(client, {
        orgId: w.orgId,
        actor: RETENTION_ACTOR,
        action: 'retention.purge',
        targetType: 'workspace',
        targetId: w.workspaceId,
        after: { retentionDays: w.retentionDays, cutoff: w.cutoff, partitionsDropped: w.partitionsDropped, rowsDeleted: w.rowsDeleted },
      });
    }
  });
}

import {
  countFlagged,
  differenceOf,
  dueMinutes,
  dueWorkspaces,
  flushLedger,
  ledgerKeys,
  ledgerCounts,
  MINUTE_MS,
  pendingSince,
  saveReconciliation,
  storedMinutesToCompare,
  countsKey,
  type ClickHouse,
  type DueMinute,
  type Logger,
  type PgPool,
  type ReconciledMinute,
  type RedisClient,
} from '@canopy/core';
import type { WorkerMetrics } from '../metrics.js';

export interface ReconcileDeps {
  pool: PgPool;
  clickhouse: ClickHouse;
  redis: RedisClient;
  logger: Logger;
  metrics?: Pick<WorkerMetrics, 'ledgerReconciledMinutes' | 'ledgerFlaggedMinutes' | 'ledgerFlaggedSpans' | 'ledgerLastReconciliation'>;
}

export interface ReconcileOptions {
  queuePrefix: string;
  /** a minute is compared once it ended at least this long ago */
  settleMs: number;
  /** a flagged minute is compared again for this long after it was first flagged */
  recheckMs: number;
  now: Date;
  /** minutes older than this are not looked for (default 7 days) */
  lookbackMs?: number;
  /** most minutes compared per run (default 5000; the rest wait for the next run) */
  maxMinutes?: number;
  /**
   * How often, across all workers, a run also looks for minutes ClickHouse stored spans
   * for that have no accepted count (see core ledger-stored-minutes.ts): default 10 min,
   * 0 every run. It reads a week of `ingest_ledger_stored`, so not every 30 s.
   */
  storedSweepIntervalMs?: number;
}

export interface ReconcileReport {
  checked: number;
  balanced: number;
  flagged: ReconciledMinute[];
  /** settled minutes left for later because a batch accepted before their end is still pending */
  waitingForLag: number;
  /** minutes compared because ClickHouse stored spans for them that nothing accounted for (no accepted count) */
  storedOnly: number;
}

/**
 * One reconciliation pass: for every settled (workspace, minute) not yet compared, or
 * flagged recently, compare the spans the collector accepted (Postgres, after a flush)
 * with those ClickHouse stored plus those dead-lettered or discarded. A minute is only
 * compared once no batch accepted before its end is still pending (the lag has passed);
 * its counts are then final unless something was lost. Every comparison is saved; a
 * difference is logged at warn and counted.
 *
 * Order matters: flush first (every count that reached Redis is then in Postgres), then
 * read the pending sets (a batch counted after the flush is pending or stored by then,
 * see core ledger-record.ts), then the minutes whose lag has passed and their counts.
 * The pending cut-off of each workspace goes into the query that picks the minutes, so a
 * workspace whose oldest batch stays pending cannot fill the page and starve the others.
 */
export async function reconcileLedger(deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileReport> {
  const nowMs = options.now.getTime();
  const limit = options.maxMinutes ?? 5_000;
  await flushLedger({ redis: deps.redis, pool: deps.pool }, options.queuePrefix);
  const window = {
    settledBefore: new Date(nowMs - options.settleMs),
    recheckSince: new Date(nowMs - options.recheckMs),
    lookbackFrom: new Date(nowMs - (options.lookbackMs ?? 7 * 86_400_000)),
  };
  const [workspaces, storedOnly] = await Promise.all([dueWorkspaces(deps.pool, window), sweepStored(deps, options, window)]);
  const report: ReconcileReport = { checked: 0, balanced: 0, flagged: [], waitingForLag: 0, storedOnly: 0 };
  if (workspaces.length === 0 && storedOnly.length === 0) return finish(deps, report, options);

  const waitingSince = await pendingSince(deps.redis, options.queuePrefix, [...new Set([...workspaces, ...storedOnly.map((m) => m.workspaceId)])]);
  const lagPassed = (m: DueMinute): boolean => {
    const oldest = waitingSince.get(m.workspaceId);
    return oldest === undefined || m.minuteMs + MINUTE_MS <= oldest;
  };
  const due = workspaces.length ? await dueMinutes(deps.pool, { ...window, limit, pendingSince: waitingSince }) : { minutes: [], waitingForLag: 0 };
  const seen = new Set(due.minutes.map((m) => countsKey(m.workspaceId, '', m.minuteMs)));
  const extra = storedOnly.filter((m) => lagPassed(m) && !seen.has(countsKey(m.workspaceId, '', m.minuteMs))).slice(0, limit);
  const ready = [...due.minutes, ...extra];
  report.waitingForLag = due.waitingForLag + storedOnly.filter((m) => !lagPassed(m)).length;
  report.storedOnly = extra.length;

  const results: ReconciledMinute[] = [];
  for (const [orgId, minutes] of groupByOrg(ready)) {
    const scope = { orgId, workspaceIds: [...new Set(minutes.map((m) => m.workspaceId))] };
    const from = new Date(Math.min(...minutes.map((m) => m.minuteMs)));
    const to = new Date(Math.max(...minutes.map((m) => m.minuteMs)) + MINUTE_MS);
    const counts = await ledgerCounts(deps, scope, { from, to, byKey: false });
    for (const m of minutes) {
      const c = counts.get(countsKey(m.workspaceId, '', m.minuteMs));
      results.push({ ...m, accepted: c?.accepted ?? 0, stored: c?.stored ?? 0, deadLettered: c?.deadLettered ?? 0, discarded: c?.discarded ?? 0 });
    }
  }
  await saveReconciliation(deps.pool, results, options.now);

  for (const r of results) {
    report.checked++;
    const difference = differenceOf(r);
    if (difference === 0) {
      report.balanced++;
      continue;
    }
    report.flagged.push(r);
    deps.logger.warn(
      { orgId: r.orgId, workspaceId: r.workspaceId, minute: new Date(r.minuteMs).toISOString(), accepted: r.accepted, stored: r.stored, deadLettered: r.deadLettered, discarded: r.discarded, difference },
      `ingest ledger: workspace ${r.workspaceId} minute ${new Date(r.minuteMs).toISOString()} does not balance: accepted ${r.accepted}, stored ${r.stored}, dead-lettered ${r.deadLettered}, discarded ${r.discarded} (difference ${difference})`,
    );
  }
  deps.metrics?.ledgerReconciledMinutes.inc({ result: 'balanced' }, report.balanced);
  deps.metrics?.ledgerReconciledMinutes.inc({ result: 'flagged' }, report.flagged.length);
  return finish(deps, report, options);
}

/** The stored-only sweep, when this run claims it (at most once per interval across workers). */
async function sweepStored(deps: ReconcileDeps, options: ReconcileOptions, window: { settledBefore: Date; lookbackFrom: Date }): Promise<DueMinute[]> {
  const intervalMs = options.storedSweepIntervalMs ?? 600_000;
  if (intervalMs > 0) {
    const claimed = await deps.redis.set(ledgerKeys(options.queuePrefix).storedSweep, String(options.now.getTime()), 'PX', intervalMs, 'NX');
    if (claimed !== 'OK') return [];
  }
  return storedMinutesToCompare(deps, { ...window, pendingSince: (workspaceIds) => pendingSince(deps.redis, options.queuePrefix, workspaceIds) });
}

async function finish(deps: ReconcileDeps, report: ReconcileReport, options: ReconcileOptions): Promise<ReconcileReport> {
  if (deps.metrics) {
    const flagged = await countFlagged(deps.pool, new Date(options.now.getTime() - (options.lookbackMs ?? 7 * 86_400_000)));
    deps.metrics.ledgerFlaggedMinutes.set(flagged.minutes);
    deps.metrics.ledgerFlaggedSpans.set(flagged.spans);
    deps.metrics.ledgerLastReconciliation.set(options.now.getTime() / 1000);
  }
  if (report.checked > 0) {
    deps.logger.info(
      { checked: report.checked, balanced: report.balanced, flagged: report.flagged.length, waitingForLag: report.waitingForLag, storedOnly: report.storedOnly },
      `ingest ledger reconciled ${report.checked} workspace minutes: ${report.balanced} balanced, ${report.flagged.length} flagged`,
    );
  }
  return report;
}

function groupByOrg(minutes: readonly DueMinute[]): Map<string, DueMinute[]> {
  const byOrg = new Map<string, DueMinute[]>();
  for (const m of minutes) {
    const list = byOrg.get(m.orgId);
    if (list) list.push(m);
    else byOrg.set(m.orgId, [m]);
  }
  return byOrg;
}

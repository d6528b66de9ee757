/**
 * What a retention run removes, decided from the workspaces' retention periods and a
 * clock: pure, so the rules are tested without a database.
 *
 * Cutoffs are whole UTC days: a workspace with `retention_days = 7` keeps its spans of
 * the last 7 full days plus today, and a span leaves on the first run after its day has
 * aged out. `spans` and `trace_index` hold one partition per day for all tenants, so
 * days older than the longest retention of any workspace go as whole partitions; the
 * workspaces that keep less lose their rows of the remaining days by a DELETE.
 */

/** One workspace's retention period, as Postgres holds it. */
export interface RetentionPolicy {
  orgId: string;
  workspaceId: string;
  retentionDays: number;
}

/** Workspaces of one organization that share a cutoff. */
export interface DeleteGroup {
  orgId: string;
  workspaceIds: string[];
  retentionDays: number;
  /** rows with a timestamp before this instant (a UTC midnight) go */
  cutoff: Date;
}

export interface RetentionPlan {
  now: Date;
  /** Day partitions before this UTC midnight are dropped whole; null when no workspace exists (then nothing is removed). */
  dropBefore: Date | null;
  /** `dropBefore` as the partition value of `toYYYYMMDD(...)`, e.g. 20250516 */
  dropBeforePartition: number | null;
  /** row deletes for workspaces that keep less than the longest retention */
  deletes: DeleteGroup[];
  /** every workspace's cutoff, for the audit entries */
  cutoffs: Map<string, { orgId: string; retentionDays: number; cutoff: Date }>;
}

const DAY_MS = 86_400_000;

/** UTC midnight of `now` minus `days` days. */
export function cutoffFor(now: Date, days: number): Date {
  const midnight = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  return new Date(midnight - days * DAY_MS);
}

/** The `toYYYYMMDD` partition value of a UTC instant. */
export function partitionOf(day: Date): number {
  return day.getUTCFullYear() * 10_000 + (day.getUTCMonth() + 1) * 100 + day.getUTCDate();
}

export function planRetention(policies: readonly RetentionPolicy[], now: Date): RetentionPlan {
  const cutoffs = new Map(policies.map((p) => [p.workspaceId, { orgId: p.orgId, retentionDays: p.retentionDays, cutoff: cutoffFor(now, p.retentionDays) }]));
  if (policies.length === 0) return { now, dropBefore: null, dropBeforePartition: null, deletes: [], cutoffs };

  const longest = Math.max(...policies.map((p) => p.retentionDays));
  const dropBefore = cutoffFor(now, longest);
  const groups = new Map<string, DeleteGroup>();
  for (const p of policies) {
    if (p.retentionDays >= longest) continue; // nothing of theirs is left once the partitions are dropped
    const key = `${p.orgId}\u0000${p.retentionDays}`;
    const group = groups.get(key) ?? { orgId: p.orgId, workspaceIds: [], retentionDays: p.retentionDays, cutoff: cutoffFor(now, p.retentionDays) };
    group.workspaceIds.push(p.workspaceId);
    groups.set(key, group);
  }
  return { now, dropBefore, dropBeforePartition: partitionOf(dropBefore), deletes: [...groups.values()], cutoffs };
}

import { AllTenants, sql, type ClickHouse, type Sql } from '@canopy/core';
import type { DeleteGroup } from './plan.js';

/**
 * The ClickHouse side of retention: the tables that hold span content, their day
 * partitions, and the statements that remove rows. Usage tables (`usage_daily`,
 * `genai_spans`) and the batch ledger are not here: billing outlives span retention.
 */
export interface RetainedTable {
  name: 'spans' | 'trace_index';
  /** rows of the group older than its cutoff */
  expired(group: DeleteGroup): Sql;
}

const isoDay = (d: Date): string => d.toISOString().slice(0, 10);

export const RETAINED_TABLES: readonly RetainedTable[] = [
  // timestamp is a DateTime (the span's start); the Date literal becomes toDateTime(<unix seconds>).
  { name: 'spans', expired: (g) => sql`(${sql.tenant(g)} AND timestamp < ${g.cutoff})` },
  // one row per trace and day; a day before the cutoff holds only expired spans
  { name: 'trace_index', expired: (g) => sql`(${sql.tenant(g)} AND day < toDate(${isoDay(g.cutoff)}))` },
];

/** `org\0workspace`, the key of per-workspace counts. */
export const workspaceKey = (orgId: string, workspaceId: string): string => `${orgId}\u0000${workspaceId}`;

/** Active day partitions of a table, as `toYYYYMMDD` numbers. */
export async function listDayPartitions(clickhouse: ClickHouse, table: RetainedTable['name']): Promise<number[]> {
  const rows = await clickhouse.query<{ partition: string }>(
    AllTenants,
    sql`SELECT DISTINCT partition FROM system.parts WHERE database = ${clickhouse.database} AND table = ${table} AND active`,
  );
  return rows.map((r) => r.partition).filter((p) => /^\d{8}$/.test(p)).map(Number).sort((a, b) => a - b);
}

/**
 * Rows per workspace and partition in the given partitions of `spans`: what a drop removes
 * from whom. `before` (the drop cutoff) plus a day bounds the scan by the time index
 * whatever the server's timezone, which decides where its day partitions begin.
 */
export async function countSpansInPartitions(
  clickhouse: ClickHouse,
  expired: { partitions: readonly number[]; before: Date },
): Promise<Array<{ orgId: string; workspaceId: string; partition: number; rows: number }>> {
  if (expired.partitions.length === 0) return [];
  const bound = new Date(expired.before.getTime() + 86_400_000);
  // Cross-tenant on purpose: the partitions hold every tenant's rows and go whole.
  const rows = await clickhouse.query<{ org_id: string; workspace_id: string; partition: number; rows: string }>(
    AllTenants,
    sql`SELECT org_id, workspace_id, toYYYYMMDD(timestamp) AS partition, count() AS rows FROM spans
        WHERE ${sql.allTenants()} AND timestamp < ${bound} AND toYYYYMMDD(timestamp) IN (${sql.join(expired.partitions.map((p) => sql`${p}`))})
        GROUP BY org_id, workspace_id, partition`,
  );
  return rows.map((r) => ({ orgId: r.org_id, workspaceId: r.workspace_id, partition: Number(r.partition), rows: Number(r.rows) }));
}

export async function dropDayPartition(clickhouse: ClickHouse, table: RetainedTable['name'], partition: number): Promise<void> {
  await clickhouse.command(sql`ALTER TABLE ${sql.identifier(table)} DROP PARTITION ${partition}`);
}

/** Predicates joined with OR, packed so no statement outgrows ClickHouse's max_query_size (256 KiB). */
export function packPredicates(predicates: readonly Sql[], maxChars = 100_000): Sql[] {
  const chunks: Sql[][] = [];
  let current: Sql[] = [];
  let size = 0;
  for (const p of predicates) {
    if (current.length > 0 && size + p.text.length > maxChars) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(p);
    size += p.text.length + 4;
  }
  if (current.length > 0) chunks.push(current);
  return chunks.map((c) => sql.join(c, ' OR '));
}

/** Expired rows per workspace of a table, for the given groups. */
export async function countExpired(clickhouse: ClickHouse, table: RetainedTable, groups: readonly DeleteGroup[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const where of packPredicates(groups.map((g) => table.expired(g)))) {
    // Every clause carries its own sql.tenant predicate; the statement spans several organizations.
    const rows = await clickhouse.query<{ org_id: string; workspace_id: string; rows: string }>(
      AllTenants,
      sql`SELECT org_id, workspace_id, count() AS rows FROM ${sql.identifier(table.name)} WHERE ${where} GROUP BY org_id, workspace_id`,
    );
    for (const r of rows) counts.set(workspaceKey(r.org_id, r.workspace_id), Number(r.rows));
  }
  return counts;
}

/** Starts the DELETE mutations for the groups' expired rows; ClickHouse applies them in the background. */
export async function deleteExpired(clickhouse: ClickHouse, table: RetainedTable, groups: readonly DeleteGroup[]): Promise<number> {
  const statements = packPredicates(groups.map((g) => table.expired(g)));
  for (const where of statements) await clickhouse.command(sql`ALTER TABLE ${sql.identifier(table.name)} DELETE WHERE ${where}`);
  return statements.length;
}

/** Mutations of the retained tables that ClickHouse has not finished. */
export async function unfinishedMutations(clickhouse: ClickHouse): Promise<Array<{ table: string; mutationId: string }>> {
  const names = sql.join(RETAINED_TABLES.map((t) => sql`${t.name}`));
  const rows = await clickhouse.query<{ table: string; mutation_id: string }>(
    AllTenants,
    sql`SELECT table, mutation_id FROM system.mutations WHERE database = ${clickhouse.database} AND table IN (${names}) AND is_done = 0`,
  );
  return rows.map((r) => ({ table: r.table, mutationId: r.mutation_id }));
}

/** Polls until the mutations are done; false when `timeoutMs` passed or `signal` aborted first. */
export async function waitForMutations(clickhouse: ClickHouse, options: { timeoutMs: number; pollIntervalMs: number; signal?: AbortSignal }): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if ((await unfinishedMutations(clickhouse)).length === 0) return true;
    if (Date.now() >= deadline || options.signal?.aborted) return false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, options.pollIntervalMs);
      function done(): void {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', done);
        resolve();
      }
      options.signal?.addEventListener('abort', done, { once: true });
    });
  }
}

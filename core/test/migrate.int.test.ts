import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllTenants, migrateClickHouse, migratePostgres, sql } from '../src/index.js';
import { createTestEnv, type TestEnv } from '../src/testing/index.js';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(() => env.cleanup());

describe('migrations', () => {
  it('are safe to run again', async () => {
    expect((await migrateClickHouse(env.config.clickhouse)).applied).toEqual([]);
    expect((await migratePostgres(env.config.postgres.url)).applied).toEqual([]);
  });

  it('run again from the start after failing part-way, past a column the first run added', async () => {
    const spans = sql.identifier(`${env.config.clickhouse.database}.spans`);
    const addTwice = {
      version: 1000,
      name: 'adds a column, then fails',
      statements: () => [sql`ALTER TABLE ${spans} ADD COLUMN rerun_probe UInt8 DEFAULT 0`, sql`SELECT throwIf(1)`],
    };
    await expect(migrateClickHouse(env.config.clickhouse, undefined, [addTwice])).rejects.toThrow(/throwIf|395/);
    // The cause is gone; the rerun meets the column its first run added and goes on.
    const fixed = { ...addTwice, statements: () => [addTwice.statements()[0]!, sql`SELECT 1`] };
    expect((await migrateClickHouse(env.config.clickhouse, undefined, [fixed])).applied).toEqual([1000]);
    await env.clickhouse.command(sql`ALTER TABLE ${spans} DROP COLUMN rerun_probe`);
  });

  it('give every tenant table an ORDER BY that starts with org_id, workspace_id', async () => {
    const tables = await env.clickhouse.query<{ name: string; sorting_key: string; engine: string }>(
      AllTenants,
      sql`SELECT name, sorting_key, engine FROM system.tables WHERE database = ${env.config.clickhouse.database} AND engine LIKE '%MergeTree' AND name != 'schema_migrations'`,
    );
    expect(tables.map((t) => t.name).sort()).toEqual(['genai_spans', 'ingest_batches', 'ingest_ledger_stored', 'spans', 'trace_index', 'trace_lookup_monthly', 'usage_daily']);
    for (const t of tables) expect(t.sorting_key, t.name).toMatch(/^org_id, workspace_id/);
  });

  it('partition spans by day', async () => {
    const [t] = await env.clickhouse.query<{ partition_key: string }>(
      AllTenants,
      sql`SELECT partition_key FROM system.tables WHERE database = ${env.config.clickhouse.database} AND name = 'spans'`,
    );
    expect(t?.partition_key).toBe('toYYYYMMDD(timestamp)');
  });
});

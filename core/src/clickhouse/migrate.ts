import { createClickHouse, type ClickHouseOptions } from './client.js';
import { clickhouseMigrations, type ClickHouseMigration } from './schema.js';
import { AllTenants, sql } from './sql.js';
import type { Logger } from '../log.js';

export interface MigrationResult {
  applied: number[];
  current: number;
}

/** Creates the database if needed and applies every migration not yet recorded. Safe to run twice. */
export async function migrateClickHouse(
  options: ClickHouseOptions,
  log?: Logger,
  migrations: ClickHouseMigration[] = clickhouseMigrations,
): Promise<MigrationResult> {
  const admin = createClickHouse({ ...options, database: 'default' });
  try {
    await admin.command(sql`CREATE DATABASE IF NOT EXISTS ${sql.identifier(options.database)}`);
    const ledger = sql.identifier(`${options.database}.schema_migrations`);
    await admin.command(
      sql`CREATE TABLE IF NOT EXISTS ${ledger} (version UInt32, name String, applied_at DateTime) ENGINE = MergeTree ORDER BY version`,
    );
    const done = new Set(
      (await admin.query<{ version: number }>(AllTenants, sql`SELECT DISTINCT version FROM ${ledger}`)).map((r) => Number(r.version)),
    );
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      log?.info({ version: m.version, name: m.name }, 'applying ClickHouse migration');
      for (const statement of m.statements({ db: options.database })) await admin.command(statement);
      await admin.command(sql`INSERT INTO ${ledger} (version, name, applied_at) VALUES (${m.version}, ${m.name}, now())`);
      applied.push(m.version);
    }
    return { applied, current: Math.max(0, ...migrations.map((m) => m.version)) };
  } finally {
    await admin.close();
  }
}

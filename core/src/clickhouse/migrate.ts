import { createClickHouse, serverErrorCode, type ClickHouse, type ClickHouseOptions } from './client.js';
import { createDatabase, createLedger, dropDatabase, tableName, type SchemaContext } from './ddl.js';
import { clickhouseMigrations, type ClickHouseMigration } from './schema.js';
import { AllTenants, sql, type Sql } from './sql.js';
import type { Logger } from '../log.js';

export interface MigrationResult {
  applied: number[];
  current: number;
}

const schemaContext = (options: ClickHouseOptions): SchemaContext => ({ db: options.database, cluster: options.cluster });

/**
 * Creates the database if needed and applies every migration not yet recorded. Safe to
 * run twice. With `options.cluster` every statement runs `ON CLUSTER` (see ddl.ts), so
 * one run through any node migrates every node.
 */
export async function migrateClickHouse(
  options: ClickHouseOptions,
  log?: Logger,
  migrations: ClickHouseMigration[] = clickhouseMigrations,
): Promise<MigrationResult> {
  const ctx = schemaContext(options);
  const admin = createClickHouse({ ...options, database: 'default' });
  try {
    await admin.command(createDatabase(ctx));
    await admin.command(createLedger(ctx));
    const ledger = tableName(ctx, 'schema_migrations');
    const done = new Set(
      (await admin.query<{ version: number }>(AllTenants, sql`SELECT DISTINCT version FROM ${ledger}`)).map((r) => Number(r.version)),
    );
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      log?.info({ version: m.version, name: m.name, cluster: ctx.cluster }, 'applying ClickHouse migration');
      for (const statement of m.statements(ctx)) await runStatement(admin, statement);
      await admin.command(sql`INSERT INTO ${ledger} (version, name, applied_at) VALUES (${m.version}, ${m.name}, now())`);
      applied.push(m.version);
    }
    return { applied, current: Math.max(0, ...migrations.map((m) => m.version)) };
  } finally {
    await admin.close();
  }
}

/** Drops the database (on every node of a cluster); for tests and teardown. */
export async function dropClickHouseDatabase(options: ClickHouseOptions): Promise<void> {
  const admin = createClickHouse({ ...options, database: 'default' });
  try {
    await admin.command(dropDatabase(schemaContext(options)));
  } finally {
    await admin.close();
  }
}

/**
 * The ledger records whole migrations, so a migration that failed part-way runs again from
 * its first statement. CREATE/DROP carry IF [NOT] EXISTS; 18.16 has no ADD COLUMN IF NOT
 * EXISTS, so a column an earlier run already added counts as done: ClickHouse answers that
 * with ILLEGAL_COLUMN (44, "column with this name already exists"; checked on 18.16) or, in
 * some versions, DUPLICATE_COLUMN (15).
 */
const COLUMN_EXISTS_CODES = new Set(['44', '15']);

async function runStatement(admin: ClickHouse, statement: Sql): Promise<void> {
  try {
    await admin.command(statement);
  } catch (err) {
    const code = serverErrorCode((err as { cause?: unknown }).cause ?? err);
    if (/\bADD COLUMN\b/.test(statement.text) && code !== undefined && COLUMN_EXISTS_CODES.has(code)) return;
    throw err;
  }
}

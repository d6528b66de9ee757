import { parseArgs } from 'node:util';
import { clickhouseMigrations, migrateClickHouse, migratePostgres, pgMigrations } from '@canopy/core';
import { redactUrl } from '../errors.js';
import type { CommandContext } from '../io.js';

export const migrateHelp = `Usage: canopy migrate

Applies every ClickHouse and Postgres migration not yet applied (creating the
databases when missing) and prints what it applied. Safe to run any number of times.`;

function describeApplied(applied: number[], all: Array<{ version: number; name: string }>): string {
  if (applied.length === 0) return `up to date (version ${Math.max(0, ...all.map((m) => m.version))})`;
  const names = new Map(all.map((m) => [m.version, m.name]));
  return `applied ${applied.map((v) => `${v} (${names.get(v) ?? '?'})`).join(', ')}`;
}

export async function migrate(ctx: CommandContext, argv: string[]): Promise<void> {
  parseArgs({ args: argv, options: {}, strict: true, allowPositionals: false });
  const { clickhouse, postgres } = ctx.config;
  const ch = await migrateClickHouse(clickhouse);
  ctx.print(`ClickHouse ${clickhouse.database} at ${redactUrl(clickhouse.url)}: ${describeApplied(ch.applied, clickhouseMigrations)}`);
  const pg = await migratePostgres(postgres.url);
  ctx.print(`Postgres ${redactUrl(postgres.url)}: ${describeApplied(pg.applied, pgMigrations)}`);
}

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clickhouseMigrations } from '../src/clickhouse/schema.js';
import { createDatabase, createLedger, createTable, dropDatabase } from '../src/clickhouse/ddl.js';
import { sql } from '../src/clickhouse/sql.js';

// The statements of every migration as they were before cluster mode existed, captured
// from the hand-written SQL: one node must keep running exactly these.
const before = JSON.parse(readFileSync(new URL('./fixtures/clickhouse-single-node.json', import.meta.url), 'utf8')) as Array<{
  version: number;
  name: string;
  statements: string[];
}>;

const texts = (ctx: { db: string; cluster?: string }): string[] => clickhouseMigrations.flatMap((m) => m.statements(ctx).map((s) => s.text));

describe('single-node schema', () => {
  it('is byte for byte the statements it was before cluster mode', () => {
    const now = clickhouseMigrations.map((m) => ({ version: m.version, name: m.name, statements: m.statements({ db: 'canopy' }).map((s) => s.text) }));
    expect(now.slice(0, before.length)).toEqual(before);
  });

  it('keeps the database and ledger statements', () => {
    expect(createDatabase({ db: 'canopy' }).text).toBe('CREATE DATABASE IF NOT EXISTS canopy');
    expect(createLedger({ db: 'canopy' }).text).toBe(
      'CREATE TABLE IF NOT EXISTS canopy.schema_migrations (version UInt32, name String, applied_at DateTime) ENGINE = MergeTree ORDER BY version',
    );
    expect(dropDatabase({ db: 'canopy' }).text).toBe('DROP DATABASE IF EXISTS canopy');
  });
});

describe('cluster schema', () => {
  const ctx = { db: 'canopy', cluster: 'main' };
  const all = texts(ctx);
  const creates = all.filter((s) => s.startsWith('CREATE'));

  it('creates every table and view on every node', () => {
    for (const s of creates) expect(s).toMatch(/^CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS canopy\.\w+ ON CLUSTER main /);
    expect(createDatabase(ctx).text).toBe('CREATE DATABASE IF NOT EXISTS canopy ON CLUSTER main');
    expect(dropDatabase(ctx).text).toBe('DROP DATABASE IF EXISTS canopy ON CLUSTER main');
  });

  it('makes each table a replicated local table with a Distributed table of the plain name in front', () => {
    const tables = ['spans', 'trace_index', 'usage_daily', 'ingest_batches', 'genai_spans', 'trace_lookup', 'trace_lookup_monthly', 'ingest_ledger_stored'];
    for (const name of tables) {
      const local = creates.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS canopy.${name}_local `));
      expect(local, name).toMatch(new RegExp(`ENGINE = Replicated(Summing)?MergeTree\\('/clickhouse/tables/\\{shard\\}/canopy/${name}_local', '\\{replica\\}'`));
      const distributed = creates.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS canopy.${name} `));
      expect(distributed, name).toMatch(new RegExp(`ENGINE = Distributed\\(main, canopy, ${name}_local, cityHash64\\(`));
      // same columns in both
      const cols = (s: string): string => s.slice(s.indexOf('('), s.indexOf(') ENGINE'));
      expect(cols(distributed!)).toBe(cols(local!));
    }
    expect(creates.filter((s) => / ENGINE = MergeTree| ENGINE = SummingMergeTree/.test(s))).toEqual([]);
  });

  it('shards spans and the trace-keyed tables by trace, and keeps the rollups summing', () => {
    for (const name of ['spans', 'trace_index', 'genai_spans', 'trace_lookup', 'trace_lookup_monthly']) {
      expect(creates.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS canopy.${name} `))).toMatch(/cityHash64\(trace_id\)\)$/);
    }
    expect(creates.find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS canopy.usage_daily_local '))).toContain(
      "ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/canopy/usage_daily_local', '{replica}', (spans, bytes))",
    );
    expect(creates.find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS canopy.ingest_batches_local '))).toContain("'{replica}', spans)");
    expect(creates.find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS canopy.trace_lookup_local '))).toMatch(/SETTINGS index_granularity = 256$/);
  });

  it('runs every view per node, from the local spans into a local table', () => {
    const views = creates.filter((s) => s.startsWith('CREATE MATERIALIZED VIEW'));
    expect(views).toHaveLength(8);
    for (const v of views) {
      expect(v).toMatch(/ TO canopy\.\w+_local AS\n/);
      expect(v).toContain('FROM canopy.spans_local');
      expect(v).not.toMatch(/canopy\.spans\b(?!_local)/);
    }
  });

  it('adds a column to the local spans on every node, then makes the Distributed spans again with their structure', () => {
    // ClickHouse refuses ALTER ... ON CLUSTER on the Distributed table (it is not replicated
    // while the shards are), and it holds no data, so it is recreated.
    const at = all.findIndex((s) => s.startsWith('ALTER') && s.includes(' key_id '));
    expect(all.slice(at, at + 3)).toEqual([
      "ALTER TABLE canopy.spans_local ON CLUSTER main ADD COLUMN key_id String DEFAULT ''",
      'DROP TABLE IF EXISTS canopy.spans ON CLUSTER main',
      'CREATE TABLE IF NOT EXISTS canopy.spans ON CLUSTER main AS canopy.spans_local ENGINE = Distributed(main, canopy, spans_local, cityHash64(trace_id))',
    ]);
    expect(creates.find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS canopy.ingest_ledger_stored_local '))).toContain("'{replica}', (spans, bytes))");
  });

  it('drops a replaced table on every node: the view, the Distributed table and its local table', () => {
    expect(all.filter((s) => s.startsWith('DROP') && !s.startsWith('DROP TABLE IF EXISTS canopy.spans '))).toEqual([
      'DROP TABLE IF EXISTS canopy.trace_lookup_mv ON CLUSTER main',
      'DROP TABLE IF EXISTS canopy.trace_lookup ON CLUSTER main',
      'DROP TABLE IF EXISTS canopy.trace_lookup_local ON CLUSTER main',
      'DROP TABLE IF EXISTS canopy.ingest_batches_mv ON CLUSTER main',
    ]);
  });

  it('keeps the ledger on every node of every shard', () => {
    expect(createLedger(ctx).text).toBe(
      "CREATE TABLE IF NOT EXISTS canopy.schema_migrations ON CLUSTER main (version UInt32, name String, applied_at DateTime) ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/canopy/schema_migrations', '{shard}-{replica}') ORDER BY version",
    );
  });

  it('refuses a cluster or database name that is not an identifier', () => {
    const spec = { name: 't', columns: sql`a String`, engine: { family: 'MergeTree' as const }, partitionBy: sql`tuple()`, orderBy: sql`a`, shardingKey: sql`rand()` };
    expect(() => createTable({ db: 'canopy', cluster: 'x; DROP' }, spec)).toThrow(/invalid SQL identifier/);
    expect(() => createTable({ db: 'a b', cluster: 'main' }, spec)).toThrow(/invalid SQL identifier/);
  });
});

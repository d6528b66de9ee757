import { Sql, sql } from './sql.js';

/**
 * The one generator of Canopy's ClickHouse DDL, for one node and for a cluster.
 *
 * One node: plain `MergeTree`/`SummingMergeTree` tables and materialized views, the
 * statements Canopy has always run.
 *
 * Cluster (`CANOPY_CLICKHOUSE_CLUSTER`): each table becomes a local
 * `Replicated*MergeTree` table `<name>_local` on every node, created `ON CLUSTER`, under
 * the ZooKeeper path `/clickhouse/tables/{shard}/<db>/<name>_local` with the `{replica}`
 * macro, plus a `Distributed` table `<name>` over them, so every query keeps reading
 * `<name>`. Materialized views run on each node from `spans_local` into the local
 * tables, so a row derived from a span lives on that span's shard: every table is
 * sharded by the trace, like `spans`.
 */
export interface SchemaContext {
  /** database the tables live in */
  db: string;
  /** cluster name from `remote_servers`; absent on one node */
  cluster?: string | undefined;
}

export type TableEngine =
  | { family: 'MergeTree' }
  /** `sum`: the columns to add up, as SummingMergeTree's argument (`spans` or `(spans, bytes)`) */
  | { family: 'SummingMergeTree'; sum: Sql };

export interface TableSpec {
  name: string;
  /** the column definitions, one per line (`org_id String,`); indentation is normalised */
  columns: Sql;
  engine: TableEngine;
  partitionBy: Sql;
  orderBy: Sql;
  /** MergeTree settings, e.g. `index_granularity = 256` */
  settings?: Sql;
  /**
   * Cluster mode: the shard of a row written through the Distributed table. Spans go by
   * `cityHash64(trace_id)`; tables filled by the views live where their spans are, and
   * the key only places rows inserted into them directly (a migration's backfill).
   */
  shardingKey: Sql;
}

export interface ViewSpec {
  name: string;
  /** the table the view writes to */
  to: string;
  /** the table the view reads inserts of */
  from: string;
  /** the SELECT, given the source table's name */
  select: (from: Sql) => Sql;
}

/** ZooKeeper path of a replicated table's shard; `{shard}` is a server macro. */
export const replicationPath = (ctx: SchemaContext, localName: string): string => `/clickhouse/tables/{shard}/${ctx.db}/${localName}`;

/** `<db>.<name>`: the table queries read and write (the Distributed table on a cluster). */
export function tableName(ctx: SchemaContext, name: string): Sql {
  return sql.identifier(`${ctx.db}.${name}`);
}

/** `<db>.<name>_local` on a cluster (the replicated table on each node), else the table itself. */
export function localTableName(ctx: SchemaContext, name: string): Sql {
  return sql.identifier(`${ctx.db}.${ctx.cluster ? `${name}_local` : name}`);
}

/** ` ON CLUSTER <name>` on a cluster, else nothing. */
export function onCluster(ctx: Pick<SchemaContext, 'cluster'>): Sql {
  return ctx.cluster ? sql` ON CLUSTER ${sql.identifier(ctx.cluster)}` : sql.empty;
}

const INDENT = '\n        ';

/** The column lines, each on its own line at the indentation the statements use. */
function columnBlock(columns: Sql): Sql {
  const lines = columns.text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 0) throw new TypeError('a table needs at least one column');
  return new Sql(`${INDENT}${lines.join(INDENT)}\n      `, false);
}

function engineClause(ctx: SchemaContext, spec: TableSpec): Sql {
  const { engine } = spec;
  if (!ctx.cluster) return engine.family === 'MergeTree' ? sql`MergeTree` : sql`SummingMergeTree(${engine.sum})`;
  const replication = sql`${replicationPath(ctx, `${spec.name}_local`)}, '{replica}'`;
  return engine.family === 'MergeTree'
    ? sql`ReplicatedMergeTree(${replication})`
    : sql`ReplicatedSummingMergeTree(${replication}, ${engine.sum})`;
}

/**
 * `CREATE TABLE IF NOT EXISTS` for one node, or for a cluster the local replicated
 * table and the Distributed table in front of it (in that order).
 */
export function createTable(ctx: SchemaContext, spec: TableSpec): Sql[] {
  const columns = columnBlock(spec.columns);
  const local = sql`CREATE TABLE IF NOT EXISTS ${localTableName(ctx, spec.name)}${onCluster(ctx)} (${columns}) ENGINE = ${engineClause(ctx, spec)}
      PARTITION BY ${spec.partitionBy}
      ORDER BY ${spec.orderBy}${spec.settings ? sql`
      SETTINGS ${spec.settings}` : sql.empty}`;
  if (!ctx.cluster) return [local];
  const cluster = sql.identifier(ctx.cluster);
  const distributed = sql`CREATE TABLE IF NOT EXISTS ${tableName(ctx, spec.name)}${onCluster(ctx)} (${columns}) ENGINE = Distributed(${cluster}, ${sql.identifier(ctx.db)}, ${sql.identifier(`${spec.name}_local`)}, ${spec.shardingKey})`;
  return [local, distributed];
}

/** A materialized view `TO` a table; on a cluster one per node, from and to the local tables. */
export function createView(ctx: SchemaContext, spec: ViewSpec): Sql {
  return sql`CREATE MATERIALIZED VIEW IF NOT EXISTS ${tableName(ctx, spec.name)}${onCluster(ctx)} TO ${localTableName(ctx, spec.to)} AS
        ${spec.select(localTableName(ctx, spec.from))}`;
}

/**
 * Drops a table made by `createTable` (on a cluster the Distributed table and its local
 * table) or, with `view`, a view made by `createView`, on every node.
 */
export function dropTable(ctx: SchemaContext, spec: { name: string; view?: boolean }): Sql[] {
  const front = sql`DROP TABLE IF EXISTS ${tableName(ctx, spec.name)}${onCluster(ctx)}`;
  if (!ctx.cluster || spec.view) return [front];
  return [front, sql`DROP TABLE IF EXISTS ${localTableName(ctx, spec.name)}${onCluster(ctx)}`];
}

/**
 * Adds a column to a table made by `createTable`. Rows written before read the default.
 * No `IF NOT EXISTS` (18.16 does not parse it): the migration runner treats "column exists" as done.
 * On a cluster the local tables get the column ON CLUSTER; the Distributed table in front
 * cannot be altered ON CLUSTER (ClickHouse refuses DDL on a non-replicated table of a
 * cluster with replicated shards), and holds no data, so it is made again with the
 * local table's new structure.
 */
export function addColumn(ctx: SchemaContext, spec: { table: string; column: Sql; shardingKey: Sql }): Sql[] {
  const local = sql`ALTER TABLE ${localTableName(ctx, spec.table)}${onCluster(ctx)} ADD COLUMN ${spec.column}`;
  if (!ctx.cluster) return [local];
  const front = tableName(ctx, spec.table);
  const distributed = sql`Distributed(${sql.identifier(ctx.cluster)}, ${sql.identifier(ctx.db)}, ${sql.identifier(`${spec.table}_local`)}, ${spec.shardingKey})`;
  return [
    local,
    sql`DROP TABLE IF EXISTS ${front}${onCluster(ctx)}`,
    sql`CREATE TABLE IF NOT EXISTS ${front}${onCluster(ctx)} AS ${localTableName(ctx, spec.table)} ENGINE = ${distributed}`,
  ];
}

/** `CREATE DATABASE IF NOT EXISTS`, on every node of a cluster. */
export function createDatabase(ctx: SchemaContext): Sql {
  return sql`CREATE DATABASE IF NOT EXISTS ${sql.identifier(ctx.db)}${onCluster(ctx)}`;
}

/** `DROP DATABASE IF EXISTS`, on every node of a cluster (replicas leave ZooKeeper with their tables). */
export function dropDatabase(ctx: SchemaContext): Sql {
  return sql`DROP DATABASE IF EXISTS ${sql.identifier(ctx.db)}${onCluster(ctx)}`;
}

/**
 * The migrations ledger. On a cluster every node holds all of it (one replicated table
 * across shards: no `{shard}` in the path, shard and replica in the replica name), so a
 * later run through any node sees what ran.
 */
export function createLedger(ctx: SchemaContext): Sql {
  const engine = ctx.cluster
    ? sql`ReplicatedMergeTree(${`/clickhouse/tables/all/${ctx.db}/schema_migrations`}, '{shard}-{replica}')`
    : sql`MergeTree`;
  return sql`CREATE TABLE IF NOT EXISTS ${tableName(ctx, 'schema_migrations')}${onCluster(ctx)} (version UInt32, name String, applied_at DateTime) ENGINE = ${engine} ORDER BY version`;
}

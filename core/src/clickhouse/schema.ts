import { sql, type Sql } from './sql.js';
import { addColumn, createTable, createView, dropTable, tableName as t, type SchemaContext } from './ddl.js';
import { GENAI_KEYS, TOKEN_KEYS, textExpression, tokenExpression } from '../queries/genai/conventions.js';

export type { SchemaContext } from './ddl.js';

/**
 * ClickHouse schema as ordered migrations. Every statement runs on 18.16 and on
 * current ClickHouse: no Map, DateTime64, TTL, CODEC or skipping indexes.
 * Each ORDER BY starts with (org_id, workspace_id) so a tenant reads only its granules.
 * Tables and views are made by ddl.ts's `createTable`/`createView`, which give the
 * single-node statements or, on a cluster, replicated local tables with Distributed
 * tables in front (sharded by trace) and per-node views.
 */
export interface ClickHouseMigration {
  version: number;
  name: string;
  statements: (ctx: SchemaContext) => Sql[];
}

/** Spans and everything derived from them live on the shard of their trace. */
const BY_TRACE = sql`cityHash64(trace_id)`;

/**
 * A trace-id → seconds lookup (fine 256-row granules) and the view that fills it from
 * spans. Migration 3 made it with daily partitions, migration 4 with monthly ones.
 */
function traceLookup(ctx: SchemaContext, name: string, partitionBy: Sql): Sql[] {
  return [
    ...createTable(ctx, {
      name,
      columns: sql`
        org_id String,
        workspace_id String,
        trace_id String,
        day Date,
        min_timestamp DateTime,
        max_timestamp DateTime`,
      engine: { family: 'MergeTree' },
      partitionBy,
      orderBy: sql`(org_id, workspace_id, trace_id)`,
      settings: sql`index_granularity = 256`,
      shardingKey: BY_TRACE,
    }),
    createView(ctx, {
      name: `${name}_mv`,
      to: name,
      from: 'spans',
      select: (spans) => sql`SELECT org_id, workspace_id, trace_id, toDate(timestamp) AS day, min(timestamp) AS min_timestamp, max(timestamp) AS max_timestamp
        FROM ${spans}
        GROUP BY org_id, workspace_id, trace_id, day`,
    }),
  ];
}
/**
 * The view that files each inserted batch in `ingest_batches`, the workers' "is this batch
 * stored" check. Migration 1 named it `ingest_batches_mv`; migration 7 renames it so that it
 * runs last (see there).
 */
function ingestBatchesView(ctx: SchemaContext, name: string): Sql {
  return createView(ctx, {
    name,
    to: 'ingest_batches',
    from: 'spans',
    select: (spans) => sql`SELECT org_id, workspace_id, batch_id, toDate(ingested_at) AS day, count() AS spans
        FROM ${spans}
        GROUP BY org_id, workspace_id, batch_id, day`,
  });
}
/** Rollups: the views place their rows with their spans; this only places direct inserts. */
const BY_TENANT = sql`cityHash64(org_id, workspace_id)`;

export const clickhouseMigrations: ClickHouseMigration[] = [
  {
    version: 1,
    name: 'spans, trace index, usage and batch ledger',
    statements: (ctx) => [
      ...createTable(ctx, {
        name: 'spans',
        columns: sql`
        org_id String,
        workspace_id String,
        timestamp DateTime,
        trace_id String,
        span_id String,
        parent_span_id String,
        trace_state String,
        flags UInt32,
        name String,
        kind UInt8,
        start_time_unix_nano UInt64,
        end_time_unix_nano UInt64,
        duration_ns UInt64,
        status_code UInt8,
        status_message String,
        service_name String,
        resource_keys Array(String),
        resource_types Array(UInt8),
        resource_values Array(String),
        resource_numbers Array(Float64),
        resource_dropped_attributes_count UInt32,
        resource_schema_url String,
        scope_name String,
        scope_version String,
        scope_attributes String,
        scope_dropped_attributes_count UInt32,
        scope_schema_url String,
        attr_keys Array(String),
        attr_types Array(UInt8),
        attr_values Array(String),
        attr_numbers Array(Float64),
        dropped_attributes_count UInt32,
        events_time_unix_nano Array(UInt64),
        events_name Array(String),
        events_attributes Array(String),
        events_dropped_attributes_count Array(UInt32),
        dropped_events_count UInt32,
        links_trace_id Array(String),
        links_span_id Array(String),
        links_trace_state Array(String),
        links_flags Array(UInt32),
        links_attributes Array(String),
        links_dropped_attributes_count Array(UInt32),
        dropped_links_count UInt32,
        size_bytes UInt32,
        batch_id String,
        ingested_at DateTime`,
        engine: { family: 'MergeTree' },
        partitionBy: sql`toYYYYMMDD(timestamp)`,
        orderBy: sql`(org_id, workspace_id, timestamp, trace_id, span_id)`,
        shardingKey: BY_TRACE,
      }),

      // One row per (trace, day) per insert block, so fetching a trace reads this small
      // table by primary key and then only the partitions the trace's spans live in.
      ...createTable(ctx, {
        name: 'trace_index',
        columns: sql`
        org_id String,
        workspace_id String,
        trace_id String,
        day Date,
        min_timestamp DateTime,
        max_timestamp DateTime,
        span_count UInt64`,
        engine: { family: 'MergeTree' },
        partitionBy: sql`toYYYYMMDD(day)`,
        orderBy: sql`(org_id, workspace_id, trace_id)`,
        shardingKey: BY_TRACE,
      }),
      createView(ctx, {
        name: 'trace_index_mv',
        to: 'trace_index',
        from: 'spans',
        select: (spans) => sql`SELECT org_id, workspace_id, trace_id, toDate(timestamp) AS day,
               min(timestamp) AS min_timestamp, max(timestamp) AS max_timestamp, count() AS span_count
        FROM ${spans}
        GROUP BY org_id, workspace_id, trace_id, day`,
      }),

      // Billing counts by the UTC day a span was accepted, and outlives span retention.
      // On a cluster each shard holds its own partial sums; readers sum() across them.
      ...createTable(ctx, {
        name: 'usage_daily',
        columns: sql`
        org_id String,
        workspace_id String,
        day Date,
        service_name String,
        spans UInt64,
        bytes UInt64`,
        engine: { family: 'SummingMergeTree', sum: sql`(spans, bytes)` },
        partitionBy: sql`toYYYYMM(day)`,
        orderBy: sql`(org_id, workspace_id, day, service_name)`,
        shardingKey: BY_TENANT,
      }),
      createView(ctx, {
        name: 'usage_daily_mv',
        to: 'usage_daily',
        from: 'spans',
        select: (spans) => sql`SELECT org_id, workspace_id, toDate(ingested_at) AS day, service_name,
               count() AS spans, sum(toUInt64(size_bytes)) AS bytes
        FROM ${spans}
        GROUP BY org_id, workspace_id, day, service_name`,
      }),

      // Written by the same insert as the spans (through the view), so "this batch is
      // stored" and "these spans are stored" can never disagree; workers read it to make
      // a retried batch harmless on plain MergeTree. On a cluster a batch's rows spread
      // over the shards, and sum(spans) says how many of them are stored.
      ...createTable(ctx, {
        name: 'ingest_batches',
        columns: sql`
        org_id String,
        workspace_id String,
        batch_id String,
        day Date,
        spans UInt64`,
        engine: { family: 'SummingMergeTree', sum: sql`spans` },
        partitionBy: sql`toYYYYMM(day)`,
        orderBy: sql`(org_id, workspace_id, batch_id)`,
        shardingKey: BY_TENANT,
      }),
      ingestBatchesView(ctx, 'ingest_batches_mv'),
    ],
  },
  {
    version: 2,
    name: 'GenAI calls: one row per span carrying token usage',
    statements: (ctx) => [
      // Billing data like usage_daily: `day` is the UTC day the span was accepted, monthly
      // partitions, kept past span retention. Small: only spans with token attributes.
      ...createTable(ctx, {
        name: 'genai_spans',
        columns: sql`
        org_id String,
        workspace_id String,
        day Date,
        timestamp DateTime,
        trace_id String,
        span_id String,
        parent_span_id String,
        service_name String,
        name String,
        status_code UInt8,
        duration_ns UInt64,
        size_bytes UInt32,
        model String,
        provider String,
        input_tokens UInt64,
        output_tokens UInt64,
        cache_read_tokens UInt64,
        cache_creation_tokens UInt64,
        reasoning_tokens UInt64,
        total_tokens UInt64,
        uncached_input_tokens UInt64,
        span_key UInt64,
        parent_key UInt64`,
        engine: { family: 'MergeTree' },
        partitionBy: sql`toYYYYMM(day)`,
        orderBy: sql`(org_id, workspace_id, day, trace_id, span_id)`,
        shardingKey: BY_TRACE,
      }),
      // The token attributes are read with the conventions of queries/genai/conventions.ts.
      // uncached_input_tokens: input minus cache read/creation (current OTel counts cache
      // tokens inside input); when input is smaller than the cache tokens the
      // instrumentation evidently reported input without them (Anthropic's API shape),
      // so all of input is uncached.
      // span_key/parent_key: (trace, span) and (trace, parent) as one UInt64 each (0: no
      // parent), for the wrapper rule's anti-join (see queries/genai/calls.ts). A parent is
      // in its child's trace, so on a cluster the anti-join finds it on the same shard.
      createView(ctx, {
        name: 'genai_spans_mv',
        to: 'genai_spans',
        from: 'spans',
        select: (spans) => sql`SELECT org_id, workspace_id, toDate(ingested_at) AS day, timestamp, trace_id, span_id, parent_span_id,
               service_name, name, status_code, duration_ns, size_bytes,
               ${textExpression(GENAI_KEYS.model)} AS model,
               ${textExpression(GENAI_KEYS.provider)} AS provider,
               ${tokenExpression(GENAI_KEYS.inputTokens)} AS input_tokens,
               ${tokenExpression(GENAI_KEYS.outputTokens)} AS output_tokens,
               ${tokenExpression(GENAI_KEYS.cacheReadTokens)} AS cache_read_tokens,
               ${tokenExpression(GENAI_KEYS.cacheCreationTokens)} AS cache_creation_tokens,
               ${tokenExpression(GENAI_KEYS.reasoningTokens)} AS reasoning_tokens,
               ${tokenExpression(GENAI_KEYS.totalTokens, sql`input_tokens + output_tokens`)} AS total_tokens,
               if(input_tokens >= cache_read_tokens + cache_creation_tokens,
                  toUInt64(input_tokens - cache_read_tokens - cache_creation_tokens), input_tokens) AS uncached_input_tokens,
               cityHash64(trace_id, span_id) AS span_key,
               if(parent_span_id = '', toUInt64(0), cityHash64(trace_id, parent_span_id)) AS parent_key
        FROM ${spans}
        WHERE hasAny(attr_keys, ${TOKEN_KEYS})`,
      }),
    ],
  },
  {
    version: 3,
    name: 'trace lookup with fine index granularity',
    statements: (ctx) => [
      // trace_index answers "which seconds does this trace live in", but with one daily part
      // per partition a lookup by trace id reads a whole 8192-row granule in every part
      // (~30 ms for 30 days). The same rows with 256-row granules read ~30× less; the
      // trace detail reads this table. Daily partitions, dropped with the spans'.
      ...traceLookup(ctx, 'trace_lookup', sql`toYYYYMMDD(day)`),
      // Traces stored before this migration. A trace inserted while it runs may get two
      // rows; readers take min/max, so that is harmless. On a cluster this goes through
      // the Distributed tables: rows return to their trace's shard.
      sql`INSERT INTO ${t(ctx, 'trace_lookup')}
        SELECT org_id, workspace_id, trace_id, day, min_timestamp, max_timestamp FROM ${t(ctx, 'trace_index')}`,
    ],
  },
  {
    version: 4,
    name: 'trace lookup partitioned by month',
    statements: (ctx) => [
      // A lookup by trace id probes every partition of the table: with daily partitions that
      // is ~90 parts for 30 days, most of trace-by-id's time. Monthly partitions keep it to a
      // handful. The daily table goes once the monthly one has its rows (a trace written in
      // between lands in both; readers take min/max, so that is harmless).
      ...traceLookup(ctx, 'trace_lookup_monthly', sql`toYYYYMM(day)`),
      sql`INSERT INTO ${t(ctx, 'trace_lookup_monthly')}
        SELECT org_id, workspace_id, trace_id, day, min_timestamp, max_timestamp FROM ${t(ctx, 'trace_lookup')}`,
      ...dropTable(ctx, { name: 'trace_lookup_mv', view: true }),
      ...dropTable(ctx, { name: 'trace_lookup' }),
    ],
  },
  {
    version: 5,
    name: 'API key on every span; spans stored per workspace, key and minute (ingest ledger)',
    statements: (ctx) => [
      // Rows queued before this column existed read ''.
      ...addColumn(ctx, { table: 'spans', column: sql`key_id String DEFAULT ''`, shardingKey: BY_TRACE }),
      // The ledger's "stored", counted by ClickHouse itself from the very INSERT that writes
      // the spans (like usage_daily), so it is independent of the collector's "accepted"
      // count: a batch lost between the two shows as a difference. \`minute\` is the minute
      // the collector accepted the batch (ingested_at), the same minute its accepted count
      // is filed under. Kept past span retention, like usage.
      ...createTable(ctx, {
        name: 'ingest_ledger_stored',
        columns: sql`
        org_id String,
        workspace_id String,
        key_id String,
        minute DateTime,
        spans UInt64,
        bytes UInt64`,
        engine: { family: 'SummingMergeTree', sum: sql`(spans, bytes)` },
        partitionBy: sql`toYYYYMM(minute)`,
        orderBy: sql`(org_id, workspace_id, minute, key_id)`,
        shardingKey: BY_TENANT,
      }),
      createView(ctx, {
        name: 'ingest_ledger_stored_mv',
        to: 'ingest_ledger_stored',
        from: 'spans',
        select: (spans) => sql`SELECT org_id, workspace_id, key_id, toStartOfMinute(ingested_at) AS minute,
               count() AS spans, sum(toUInt64(size_bytes)) AS bytes
        FROM ${spans}
        GROUP BY org_id, workspace_id, key_id, minute`,
      }),
    ],
  },
  {
    version: 6,
    name: 'spans say which fields the value limit cut, and their true sizes',
    statements: (ctx) => [
      // Parallel arrays (18.16 has no Map): the field paths the value limit cut (`name`,
      // `attributes.<key>`, `resource.<key>`, `events.<i>.name`, ...; see otlp/limits.ts) and
      // each one's UTF-8 size before the cut. Rows without a cut omit them and read [].
      ...addColumn(ctx, { table: 'spans', column: sql`truncated_fields Array(String)`, shardingKey: BY_TRACE }),
      ...addColumn(ctx, { table: 'spans', column: sql`truncated_original_bytes Array(UInt32)`, shardingKey: BY_TRACE }),
    ],
  },
  {
    version: 7,
    name: 'the stored-batch view runs after every other view',
    statements: (ctx) => [
      // ClickHouse writes an INSERT to `spans` and then to its views one after another, in
      // name order (checked on 18.16: a view that throws stops the ones sorting after it).
      // An insert cut off part-way (a server stopping, a view failing) could leave the batch
      // filed in ingest_batches while usage_daily or ingest_ledger_stored, which sort after
      // `ingest_batches_mv`, missed it; the retry then found the batch "stored" and the
      // rollups stayed short. Named to sort last, the view files a batch only once every
      // other view has its rows. The new view comes first: a batch inserted between the two
      // statements is filed twice, which the check's `sum(spans) >= spanCount` reads as stored.
      ingestBatchesView(ctx, 'zz_ingest_batches_mv'),
      ...dropTable(ctx, { name: 'ingest_batches_mv', view: true }),
    ],
  },
];

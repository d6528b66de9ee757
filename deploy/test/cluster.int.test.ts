import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  AllTenants,
  createClickHouse,
  createLogger,
  createPriceBook,
  dropClickHouseDatabase,
  genaiQuerySchema,
  genaiSummary,
  getTrace,
  groupsToJsonEachRow,
  loadConfig,
  loadUsageContext,
  migrateClickHouse,
  normalizeTraceRequest,
  searchTraces,
  sql,
  timeseries,
  timeseriesQuerySchema,
  traceSearchQuerySchema,
  usageQuerySchema,
  usageReport,
  type ClickHouse,
  type ClickHouseOptions,
  type OtlpTraceRequest,
  type SpanBatch,
  type TenantScope,
  type TraceSearchResult,
} from '@canopy/core';
import { createTestEnv, createTestOrg, freePort, startNodeProcess, waitFor, waitForHttp, type NodeProcess, type TestEnv } from '@canopy/core/testing';
import { checkStoredBatches, createBatchWriter, type WriteOutcome } from '@canopy/workers';
import { ensureZooKeeper, findClickHouseServer, startLocalCluster, type LocalCluster } from './cluster-local.js';

// Canopy on a real two-shard ClickHouse cluster (ZooKeeper + two clickhouse-servers on
// this machine, see cluster-local.ts): migrations in cluster mode, ingest through the
// collector and a worker, spans spread over both shards with every trace on one, the
// query functions giving the same answers as on one node holding the same rows, and a
// retried batch that a failed distributed insert left half-written stored exactly once.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLUSTER = 'canopy_test';
const TRACES = 40;
const SPANS_PER_TRACE = 5;
const TRACES_PER_REQUEST = 5;

const zookeeper = ensureZooKeeper((line) => console.log(line));
const clickhouseServer = findClickHouseServer();
const skipReason = !zookeeper.ok
  ? `ZooKeeper unavailable: ${zookeeper.reason}`
  : !clickhouseServer
    ? 'no clickhouse-server binary on this machine to start shards with (npm start/npm test install it with apt-get as root)'
    : null;
if (skipReason) console.warn(`cluster.int.test.ts skipped: ${skipReason}`);

let cluster: LocalCluster;
let env: TestEnv;
let org: Awaited<ReturnType<typeof createTestOrg>>;
let single: ClickHouse;
let singleOptions: ClickHouseOptions;
let viaShard2: ClickHouse;
const processes: NodeProcess[] = [];
const clients: ClickHouse[] = [];

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
const runTag = randomBytes(8).toString('hex');
const baseMs = Date.now() - 30 * 60_000;
const ns = (ms: number): string => (BigInt(Math.round(ms * 1000)) * 1000n).toString();
const traceIdOf = (k: number): string => `${runTag}${hex(k, 16)}`;
const isProd = (k: number): boolean => k % 4 === 0;
const isGenAi = (k: number): boolean => k % 3 === 1;

/**
 * Trace k: root → (2, 3), 2 → (4, 5), over three root services, with errors, HTTP status
 * attributes, and on every third trace LLM calls (span 4 always, and on every sixth also
 * its wrapper span 2, which the GenAI rule must not count again: a parent–child pair the
 * anti-join must find on one shard).
 */
function traceSpans(k: number): { service: string; spans: unknown[] }[] {
  const start = baseMs + k * 30_000;
  const total = (k + 1) * 7;
  const tokens = (input: number, output: number): unknown[] => [
    { key: 'gen_ai.request.model', value: { stringValue: k % 2 ? 'gpt-4o-mini' : 'claude-3-5-haiku' } },
    { key: 'gen_ai.usage.input_tokens', value: { intValue: String(input) } },
    { key: 'gen_ai.usage.output_tokens', value: { intValue: String(output) } },
  ];
  const span = (i: number, parent: number | null, o: { name: string; from: number; to: number; error?: boolean; attributes?: unknown[] }): unknown => ({
    traceId: traceIdOf(k),
    spanId: hex(k * SPANS_PER_TRACE + i, 16),
    parentSpanId: parent === null ? '' : hex(k * SPANS_PER_TRACE + parent, 16),
    name: o.name,
    kind: parent === null ? 2 : 3,
    startTimeUnixNano: ns(start + o.from),
    endTimeUnixNano: ns(start + o.to),
    status: o.error ? { code: 2, message: 'boom' } : { code: k % 2 === 0 ? 1 : 0 },
    attributes: o.attributes ?? [],
  });
  const genai = isGenAi(k);
  const wrapper = genai && k % 6 === 4;
  return [
    {
      service: `svc-${k % 3}`,
      spans: [
        span(1, null, {
          name: k % 2 ? 'GET /checkout' : 'POST /orders',
          from: 0,
          to: total,
          attributes: [
            { key: 'http.status_code', value: { intValue: String(k % 5 === 0 ? 500 : 200) } },
            { key: 'http.route', value: { stringValue: k % 2 ? '/checkout' : '/orders' } },
          ],
        }),
        span(2, 1, { name: 'handler', from: 1, to: total - 1, ...(wrapper ? { attributes: tokens(300 + k, 60 + k) } : {}) }),
      ],
    },
    {
      service: 'db',
      spans: [span(3, 1, { name: 'SELECT orders', from: 1, to: 3, error: k % 5 === 0 })],
    },
    {
      service: genai ? 'llm' : 'cache',
      spans: [
        span(4, 2, { name: genai ? 'chat gpt' : 'cache.get', from: 2, to: total - 2, ...(genai ? { attributes: tokens(100 + k, 20 + k) } : {}) }),
        span(5, 2, { name: 'cache.set', from: 3, to: 4 }),
      ],
    },
  ];
}

function exportRequest(traceNumbers: number[]): OtlpTraceRequest {
  const byService = new Map<string, unknown[]>();
  for (const k of traceNumbers) {
    for (const part of traceSpans(k)) byService.set(part.service, [...(byService.get(part.service) ?? []), ...part.spans]);
  }
  return {
    resourceSpans: [...byService].map(([service, spans]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{ scope: { name: 'cluster-test', version: '1' }, spans }],
    })),
  } as OtlpTraceRequest;
}

async function post(port: number, key: string, body: OtlpTraceRequest): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  await r.arrayBuffer();
  return r.status;
}

/** Rows of a ClickHouse HTTP answer in TabSeparated, which round-trips every type exactly. */
async function http(options: { url: string; user: string; password: string }, query: string, body?: string): Promise<string> {
  const url = new URL(options.url);
  url.searchParams.set('query', query);
  const r = await fetch(url, { method: 'POST', headers: { 'X-ClickHouse-User': options.user, 'X-ClickHouse-Key': options.password }, body: body ?? '' });
  const text = await r.text();
  if (!r.ok) throw new Error(`ClickHouse ${r.status}: ${text}`);
  return text;
}

/** Spans stored on one node of the cluster (its local table), per trace. */
async function localTraceCounts(nodeUrl: string): Promise<Map<string, number>> {
  const node = createClickHouse({ url: nodeUrl, database: env.config.clickhouse.database, user: 'default', password: '' });
  try {
    const rows = await node.query<{ trace_id: string; n: string }>(
      AllTenants,
      sql`SELECT trace_id, count() AS n FROM spans_local WHERE ${sql.allTenants()} AND org_id = ${org.orgId} GROUP BY trace_id`,
    );
    return new Map(rows.map((r) => [r.trace_id, Number(r.n)]));
  } finally {
    await node.close();
  }
}

describe.skipIf(skipReason !== null)('Canopy on a two-shard ClickHouse cluster', () => {
  beforeAll(async () => {
    cluster = await startLocalCluster({ name: CLUSTER, shards: 2, clickhouseServer: clickhouseServer! });
    const [shard1, shard2] = cluster.nodes as [LocalCluster['nodes'][number], LocalCluster['nodes'][number]];
    // Postgres database and queue prefix of its own; its ClickHouse database is on the cluster, migrated ON CLUSTER.
    env = await createTestEnv({ CANOPY_CLICKHOUSE_URL: shard1.httpUrl, CANOPY_CLICKHOUSE_USER: 'default', CANOPY_CLICKHOUSE_PASSWORD: '', CANOPY_CLICKHOUSE_CLUSTER: CLUSTER });
    org = await createTestOrg(env, ['dev', 'prod']);
    viaShard2 = createClickHouse({ ...env.config.clickhouse, url: shard2.httpUrl });
    clients.push(viaShard2);
    // The same schema on the ordinary single server, to hold the same rows for comparison.
    singleOptions = { ...loadConfig(process.env).clickhouse, database: `${env.config.clickhouse.database}_single`, cluster: undefined };
    await migrateClickHouse(singleOptions);
    single = createClickHouse(singleOptions);
    clients.push(single);
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    for (const c of clients) await c.close().catch(() => undefined);
    if (singleOptions) await dropClickHouseDatabase(singleOptions).catch(() => undefined);
    await env?.cleanup();
    await cluster?.stop();
  });

  it('migrates every node: replicated local tables, Distributed tables and per-node views, recorded in a ledger every node sees', async () => {
    const db = env.config.clickhouse.database;
    for (const node of cluster.nodes) {
      const tables = await http({ url: node.httpUrl, user: 'default', password: '' }, `SELECT name, engine FROM system.tables WHERE database = '${db}' ORDER BY name FORMAT JSONEachRow`);
      const engines = Object.fromEntries(tables.trim().split('\n').map((l) => JSON.parse(l) as { name: string; engine: string }).map((t) => [t.name, t.engine]));
      expect(engines).toMatchObject({
        spans: 'Distributed',
        spans_local: 'ReplicatedMergeTree',
        usage_daily: 'Distributed',
        usage_daily_local: 'ReplicatedSummingMergeTree',
        ingest_batches_local: 'ReplicatedSummingMergeTree',
        trace_lookup_monthly_local: 'ReplicatedMergeTree',
        genai_spans_mv: 'MaterializedView',
        schema_migrations: 'ReplicatedMergeTree',
      });
    }
    // The ledger written through shard 1 reaches shard 2, so migrating through it applies nothing.
    await waitFor(
      async () => (await http({ url: cluster.nodes[1]!.httpUrl, user: 'default', password: '' }, `SELECT count() FROM ${db}.schema_migrations`)).trim() !== '0',
      { what: 'the ledger on shard 2' },
    );
    expect((await migrateClickHouse({ ...env.config.clickhouse, url: cluster.nodes[1]!.httpUrl })).applied).toEqual([]);
  });

  it('drops a database on every node, so the same database can be created again', async () => {
    const scratch = { ...env.config.clickhouse, database: `${env.config.clickhouse.database}_scratch` };
    const databases = (url: string): Promise<string> => http({ url, user: 'default', password: '' }, `SELECT count() FROM system.databases WHERE name = '${scratch.database}'`);
    for (let round = 0; round < 2; round++) {
      expect((await migrateClickHouse(scratch)).applied.length).toBeGreaterThan(0);
      for (const node of cluster.nodes) expect((await databases(node.httpUrl)).trim()).toBe('1');
      await dropClickHouseDatabase(scratch);
      for (const node of cluster.nodes) expect((await databases(node.httpUrl)).trim()).toBe('0');
    }
  });

  it('ingests through the collector and a worker, spreading spans over both shards with every trace on one', async () => {
    const port = await freePort();
    const shared = { ...env.env, CANOPY_RETENTION_INTERVAL_MS: '0', CANOPY_BATCH_MAX_WAIT_MS: '200' };
    processes.push(startNodeProcess(`${ROOT}collector/dist/main.js`, { ...shared, CANOPY_COLLECTOR_PORT: String(port), CANOPY_COLLECTOR_HOST: '127.0.0.1' }));
    processes.push(startNodeProcess(`${ROOT}workers/dist/main.js`, shared));
    await waitForHttp(`http://127.0.0.1:${port}/readyz`);

    const ks = Array.from({ length: TRACES }, (_, k) => k);
    const requests: Array<{ key: string; traces: number[] }> = [];
    for (const [slug, list] of [['prod', ks.filter(isProd)], ['dev', ks.filter((k) => !isProd(k))]] as const) {
      for (let i = 0; i < list.length; i += TRACES_PER_REQUEST) requests.push({ key: org.workspaces[slug]!.ingestKey.key, traces: list.slice(i, i + TRACES_PER_REQUEST) });
    }
    const statuses = await Promise.all(requests.map((r) => post(port, r.key, exportRequest(r.traces))));
    expect(statuses).toEqual(requests.map(() => 200));

    const scope = { orgId: org.orgId, workspaceIds: [org.workspaces.dev!.id, org.workspaces.prod!.id] };
    const total = TRACES * SPANS_PER_TRACE;
    const counted = async (): Promise<number> =>
      Number((await env.clickhouse.query<{ n: string }>(scope, sql`SELECT count() AS n FROM spans WHERE ${sql.tenant(scope)}`))[0]?.n ?? 0);
    await waitFor(async () => (await counted()) >= total, { timeoutMs: 30_000, what: `${total} spans on the cluster` }).catch((err: Error) => {
      throw new Error(`${err.message}\nworker output:\n${processes[1]!.output().slice(-3_000)}\n${cluster.diagnostics()}`);
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(await counted()).toBe(total);

    const [onShard1, onShard2] = await Promise.all(cluster.nodes.map((n) => localTraceCounts(n.httpUrl)));
    const spansOn = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
    console.log(`cluster test: ${spansOn(onShard1!)} spans (${onShard1!.size} traces) on shard 1, ${spansOn(onShard2!)} spans (${onShard2!.size} traces) on shard 2`);
    expect(spansOn(onShard1!)).toBeGreaterThan(0);
    expect(spansOn(onShard2!)).toBeGreaterThan(0);
    expect(spansOn(onShard1!) + spansOn(onShard2!)).toBe(total);
    for (const k of ks) {
      const id = traceIdOf(k);
      const where = [onShard1!.get(id) ?? 0, onShard2!.get(id) ?? 0];
      expect(where.sort(), `trace ${k} spans per shard`).toEqual([0, SPANS_PER_TRACE]);
    }
    // Every batch was split over the shards, and ingest_batches adds up to its spans.
    const batches = await env.clickhouse.query<{ batch_id: string; spans: string }>(
      scope,
      sql`SELECT batch_id, sum(spans) AS spans FROM ingest_batches WHERE ${sql.tenant(scope)} GROUP BY batch_id`,
    );
    expect(batches.map((b) => Number(b.spans)).sort()).toEqual(requests.map((r) => r.traces.length * SPANS_PER_TRACE).sort());
  });

  it('answers trace search, trace detail, usage and analytics exactly as one node holding the same rows', async () => {
    // The same rows onto the single node; its views build the derived tables there.
    const db = env.config.clickhouse.database;
    const rows = await http({ url: cluster.nodes[0]!.httpUrl, user: 'default', password: '' }, `SELECT * FROM ${db}.spans WHERE org_id = '${org.orgId}' FORMAT TabSeparated`);
    expect(rows.trim().split('\n')).toHaveLength(TRACES * SPANS_PER_TRACE);
    await http(singleOptions, `INSERT INTO ${singleOptions.database}.spans FORMAT TabSeparated`, rows);

    const dev = org.workspaces.dev!.id;
    const prod = org.workspaces.prod!.id;
    const scopes: TenantScope[] = [
      { orgId: org.orgId, workspaceIds: [dev, prod] },
      { orgId: org.orgId, workspaceIds: [prod] },
    ];
    const range = { from: String(baseMs - 60_000), to: String(Date.now() + 60_000) };
    const both = async <T>(run: (clickhouse: ClickHouse) => Promise<T>): Promise<T> => {
      const [onCluster, onShard2, onOne] = await Promise.all([run(env.clickhouse), run(viaShard2), run(single)]);
      expect(onCluster).toEqual(onOne);
      expect(onShard2).toEqual(onOne);
      return onOne;
    };

    // Search: every page of several filters and both sorts.
    const searches: Array<Record<string, string | string[]>> = [
      {},
      { limit: '7' },
      { sort: 'duration', limit: '6' },
      { service: 'svc-1' },
      { status: 'error' },
      { service: ['db', 'llm'], minDurationMs: '100' },
      { 'attrNum.http.status_code': 'gte:500' },
      { 'attr.http.route': '/checkout', maxDurationMs: '150' },
      { q: 'chat' },
    ];
    let seen = 0;
    for (const scope of scopes) {
      for (const params of searches) {
        let cursor: string | undefined;
        do {
          const input = traceSearchQuerySchema.parse({ ...range, ...params, ...(cursor ? { cursor } : {}) });
          const page: TraceSearchResult = await both((c) => searchTraces(c, scope, input));
          seen += page.traces.length;
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
      }
    }
    expect(seen).toBeGreaterThan(TRACES);
    const all = await both((c) => searchTraces(c, scopes[0]!, traceSearchQuerySchema.parse({ ...range, limit: '100' })));
    expect(all.traces).toHaveLength(TRACES);
    expect(all.traces.every((t) => t.spanCount === SPANS_PER_TRACE)).toBe(true);

    // Detail of every trace, and an unknown one.
    for (let k = 0; k < TRACES; k++) {
      const trace = await both((c) => getTrace(c, scopes[0]!, traceIdOf(k)));
      expect(trace?.spanCount).toBe(SPANS_PER_TRACE);
    }
    expect(await both((c) => getTrace(c, scopes[0]!, `${runTag}${'f'.repeat(16)}`))).toBeNull();

    // Usage by every grouping (spans and bytes from usage_daily, tokens from the GenAI calls).
    const { context } = await loadUsageContext(env.pool, org.orgId);
    const today = new Date().toISOString().slice(0, 10);
    for (const groupBy of ['workspace,day', 'workspace,day,model', 'service', 'model', '']) {
      const input = usageQuerySchema.parse({ from: today, to: String(Date.now() + 86_400_000), ...(groupBy ? { groupBy } : { groupBy: [] }) });
      const report = await both((c) => usageReport({ clickhouse: c, context }, scopes[0]!, input));
      expect(report.totals.spans).toBe(TRACES * SPANS_PER_TRACE);
    }
    // Analytics and GenAI, whose quantiles and anti-join run per shard and merge.
    const prices = createPriceBook([]);
    const series = timeseriesQuerySchema.parse({ ...range, bucket: '5m', groupBy: 'service', metric: 'count,errors,p50Ms,p95Ms,calls,inputTokens' });
    await both((c) => timeseries({ clickhouse: c, prices }, scopes[0]!, series));
    const genai = await both((c) => genaiSummary({ clickhouse: c, prices }, scopes[0]!, genaiQuerySchema.parse({ ...range, groupBy: 'model' })));
    // Wrappers (span 2 of every sixth trace) are not counted: one call per GenAI trace.
    expect(genai.totals.calls).toBe(Array.from({ length: TRACES }, (_, k) => k).filter(isGenAi).length);
    expect(genai.wrapperSpansExcluded).toBe(Array.from({ length: TRACES }, (_, k) => k).filter((k) => isGenAi(k) && k % 6 === 4).length);
  });

  describe('a batch whose distributed insert failed', () => {
    const logger = createLogger({ level: 'silent', pretty: false }, 'cluster-test');
    const tenant = (): { orgId: string; workspaceId: string } => ({ orgId: org.orgId, workspaceId: org.workspaces.dev!.id });

    /** A queued batch of `traces` traces of 3 spans, as the collector makes it. */
    function makeBatch(traces: number): SpanBatch {
      const batchId = `batch_${randomBytes(8).toString('hex')}`;
      const t0 = Date.now() - 60_000;
      const traceIds = Array.from({ length: traces }, () => randomBytes(16).toString('hex'));
      const request = {
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'retry' } }] },
            scopeSpans: [
              {
                scope: { name: 'retry' },
                spans: Array.from({ length: traces * 3 }, (_, i) => ({
                  traceId: traceIds[Math.floor(i / 3)],
                  spanId: randomBytes(8).toString('hex'),
                  name: `op-${i}`,
                  kind: 1,
                  startTimeUnixNano: ns(t0 + i),
                  endTimeUnixNano: ns(t0 + i + 5),
                })),
              },
            ],
          },
        ],
      } as OtlpTraceRequest;
      const n = normalizeTraceRequest(request, { ...tenant(), batchId, ingestedAtSec: Math.floor(Date.now() / 1000) });
      return {
        v: 1,
        batchId,
        ...tenant(),
        keyId: 'key_test',
        receivedAtMs: Date.now(),
        spanCount: n.accepted,
        bytes: n.bytes,
        minTimestampSec: n.minTimestampSec,
        maxTimestampSec: n.maxTimestampSec,
        groups: n.groups,
      };
    }

    const stored = async (batchId: string): Promise<{ rows: number; distinct: number; ledger: number }> => {
      const scope = { orgId: org.orgId, workspaceIds: [org.workspaces.dev!.id] };
      const [r] = await env.clickhouse.query<{ rows: string; distinct: string }>(
        scope,
        sql`SELECT count() AS rows, uniqExact(trace_id, span_id) AS distinct FROM spans WHERE ${sql.tenant(scope)} AND batch_id = ${batchId}`,
      );
      const [l] = await env.clickhouse.query<{ spans: string }>(
        scope,
        sql`SELECT sum(spans) AS spans FROM ingest_batches WHERE ${sql.tenant(scope)} AND batch_id = ${batchId}`,
      );
      return { rows: Number(r?.rows ?? 0), distinct: Number(r?.distinct ?? 0), ledger: Number(l?.spans ?? 0) };
    };

    it('is completed on retry by inserting only the rows missing when some shards kept their part', async () => {
      const batch = makeBatch(12);
      const group = batch.groups[0]!;
      const lines = group.spans.split('\n');
      // What one shard of a failed insert kept: a third of the rows.
      const kept = { ...batch, groups: [{ prefix: group.prefix, spans: lines.slice(0, 12).join('\n') }] };
      await env.clickhouse.insertJsonEachRow('spans', groupsToJsonEachRow(kept.groups));
      expect(await stored(batch.batchId)).toEqual({ rows: 12, distinct: 12, ledger: 12 });

      const checked = await checkStoredBatches(env.clickhouse, [batch]);
      expect(checked.stored.size).toBe(0);
      expect(checked.remainders.get(batch.batchId)?.spanCount).toBe(batch.spanCount - 12);

      const write = createBatchWriter({ clickhouse: env.clickhouse, logger });
      expect(await write([{ batch, mayBeStored: true }], 'wait')).toEqual([{ status: 'ok', alreadyStored: false }]);
      expect(await stored(batch.batchId)).toEqual({ rows: batch.spanCount, distinct: batch.spanCount, ledger: batch.spanCount });
      // A further redelivery finds it whole.
      expect(await write([{ batch, mayBeStored: true }], 'wait')).toEqual([{ status: 'ok', alreadyStored: true }]);
      expect(await stored(batch.batchId)).toEqual({ rows: batch.spanCount, distinct: batch.spanCount, ledger: batch.spanCount });
    });

    it('is stored exactly once when a shard hangs past the client timeout and the job is retried', async () => {
      const batch = makeBatch(20);
      const impatient = createClickHouse({ ...env.config.clickhouse, requestTimeoutMs: 2_000 });
      clients.push(impatient);
      const write = createBatchWriter({ clickhouse: impatient, logger });
      const shard2 = cluster.nodes[1]!;
      shard2.pause();
      let first: WriteOutcome[];
      try {
        first = await write([{ batch, mayBeStored: false }], 'wait');
      } finally {
        shard2.resume();
      }
      expect(first[0]?.status).toBe('retryable');
      // Let the distributed insert that lost its client end on both shards before the retry.
      await waitFor(
        async () =>
          (await http({ url: cluster.nodes[0]!.httpUrl, user: 'default', password: '' }, "SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO%'")).trim() === '0',
        { timeoutMs: 30_000, what: 'the abandoned insert to end' },
      );
      const before = await stored(batch.batchId);
      console.log(`cluster test: after the failed insert ${before.rows} of ${batch.spanCount} spans of the batch were stored`);

      // Whatever the failed insert left, the retry writes exactly what is missing.
      const retry = createBatchWriter({ clickhouse: env.clickhouse, logger });
      const outcome = await retry([{ batch, mayBeStored: true }], 'wait');
      expect(outcome).toEqual([{ status: 'ok', alreadyStored: before.rows === batch.spanCount }]);
      expect(await stored(batch.batchId)).toEqual({ rows: batch.spanCount, distinct: batch.spanCount, ledger: batch.spanCount });
    });

    it('is stored exactly once when one shard refuses its part and the job is retried', async () => {
      const batch = makeBatch(20);
      const shard2 = { url: cluster.nodes[1]!.httpUrl, user: 'default', password: '' };
      const db = env.config.clickhouse.database;
      const write = createBatchWriter({ clickhouse: env.clickhouse, logger });
      await http(shard2, `DETACH TABLE ${db}.spans_local`);
      let first: WriteOutcome[];
      try {
        first = await write([{ batch, mayBeStored: false }], 'wait');
      } finally {
        await http(shard2, `ATTACH TABLE ${db}.spans_local`);
      }
      expect(first[0]?.status).not.toBe('ok');
      const before = await stored(batch.batchId);
      console.log(`cluster test: after shard 2 refused its part, ${before.rows} of ${batch.spanCount} spans of the batch were stored`);

      const outcome = await write([{ batch, mayBeStored: true }], 'wait');
      expect(outcome).toEqual([{ status: 'ok', alreadyStored: before.rows === batch.spanCount }]);
      expect(await stored(batch.batchId)).toEqual({ rows: batch.spanCount, distinct: batch.spanCount, ledger: batch.spanCount });
    });
  });
});

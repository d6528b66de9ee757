import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoBucket, createPriceBook, timeseries, timeseriesQuerySchema, timeseriesResultSchema, type TimeseriesResult } from '../../src/index.js';
import { createTestEnv, createTestOrg, type TestEnv } from '../../src/testing/index.js';
import { BASE_MS, insertSpans, newSpanId, newTraceId, scopeOf, type SpanSpec } from './helpers.js';

let env: TestEnv;
let orgId: string;
let ws: string;
let otherWs: string;
const MIN = 60_000;
const prices = createPriceBook([]);

beforeAll(async () => {
  env = await createTestEnv();
  const org = await createTestOrg(env, ['a', 'b']);
  orgId = org.orgId;
  ws = org.workspaces.a!.id;
  otherWs = org.workspaces.b!.id;
  const spans: SpanSpec[] = [];
  // minute 0: 100 api spans of 1..100 ms, every tenth an error
  for (let i = 1; i <= 100; i++) {
    spans.push({ traceId: newTraceId(), spanId: newSpanId(), name: i % 2 ? 'GET /a' : 'GET /b', service: 'api', startMs: BASE_MS + i * 100, durationMs: i, status: i % 10 === 0 ? 'error' : 'unset' });
  }
  // minute 2: 4 db spans of 10, 20, 30, 40 ms
  for (let i = 1; i <= 4; i++) spans.push({ traceId: newTraceId(), spanId: newSpanId(), name: 'SELECT', service: 'db', startMs: BASE_MS + 2 * MIN + i, durationMs: i * 10 });
  await insertSpans(env, { orgId, workspaceId: ws }, spans);
  await insertSpans(env, { orgId, workspaceId: otherWs }, [{ traceId: newTraceId(), spanId: newSpanId(), name: 'x', service: 'api', startMs: BASE_MS + 1, durationMs: 1 }]);
});
afterAll(() => env?.cleanup());

async function series(query: Record<string, string>): Promise<TimeseriesResult> {
  const input = timeseriesQuerySchema.parse({ from: String(BASE_MS), to: String(BASE_MS + 5 * MIN), ...query });
  const result = await timeseries({ clickhouse: env.clickhouse, prices }, scopeOf(orgId, ws), input);
  expect(timeseriesResultSchema.parse(result)).toEqual(result);
  return result;
}

describe('analytics time series', () => {
  it('counts spans and errors and computes latency percentiles per bucket', async () => {
    const r = await series({ bucket: '1m' });
    expect(r).toMatchObject({ bucket: '1m', bucketSeconds: 60, groupBy: 'none' });
    expect(r.series).toHaveLength(1);
    const points = r.series[0]!.points;
    expect(points.map((p) => p.time)).toEqual([0, 1, 2, 3, 4].map((m) => new Date(BASE_MS + m * MIN).toISOString()));
    expect(points[0]).toEqual({ time: new Date(BASE_MS).toISOString(), count: 100, errors: 10, errorRate: 0.1, p50Ms: 50.5, p90Ms: 90.1, p95Ms: 95.05, p99Ms: 99.01 });
    expect(points[1]).toEqual({ time: new Date(BASE_MS + MIN).toISOString(), count: 0, errors: 0, errorRate: null, p50Ms: null, p90Ms: null, p95Ms: null, p99Ms: null });
    expect(points[2]).toMatchObject({ count: 4, errors: 0, errorRate: 0, p50Ms: 25 });
  });

  it('returns only the metrics asked for', async () => {
    const r = await series({ bucket: '5m', metric: 'count,p99Ms' });
    expect(r.series[0]!.points).toEqual([{ time: new Date(BASE_MS).toISOString(), count: 104, p99Ms: expect.any(Number) as number }]);
  });

  it('groups by service and by span name, largest first, up to limit', async () => {
    const byService = await series({ bucket: '5m', groupBy: 'service', metric: 'count,errors' });
    expect(byService.series.map((s) => [s.group, s.points[0]!.count, s.points[0]!.errors])).toEqual([
      ['api', 100, 10],
      ['db', 4, 0],
    ]);
    expect(byService).toMatchObject({ totalGroups: 2, truncated: false });
    const top1 = await series({ bucket: '5m', groupBy: 'service', metric: 'count', limit: '1' });
    expect(top1.series.map((s) => s.group)).toEqual(['api']);
    expect(top1).toMatchObject({ totalGroups: 2, truncated: true });
    const byName = await series({ bucket: '5m', groupBy: 'name', metric: 'count', service: 'api' });
    expect(byName.series.map((s) => [s.group, s.points[0]!.count])).toEqual([
      ['GET /a', 50],
      ['GET /b', 50],
    ]);
    // a tie is broken by name, and the count of groups holds whatever the limit
    const byName1 = await series({ bucket: '5m', groupBy: 'name', metric: 'count', limit: '1' });
    expect(byName1.series.map((s) => s.group)).toEqual(['GET /a']);
    expect(byName1).toMatchObject({ totalGroups: 3, truncated: true });
    expect(await series({ bucket: '5m', metric: 'count' })).toMatchObject({ totalGroups: 1, truncated: false });
    expect(await series({ bucket: '5m', groupBy: 'service', service: 'nope' })).toMatchObject({ series: [], totalGroups: 0, truncated: false });
  });

  it('says how many models there are when groupBy=model keeps only the largest', async () => {
    const genai = (await createTestOrg(env, ['genai'])).workspaces.genai!.id;
    const call = (model: string, i: number): SpanSpec => ({
      traceId: newTraceId(), spanId: newSpanId(), name: 'chat', service: 'bot', startMs: BASE_MS + i * 1_000, durationMs: 10,
      attrs: { 'gen_ai.request.model': model, 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 1 },
    });
    await insertSpans(env, { orgId, workspaceId: genai }, [call('m-big', 1), call('m-big', 2), call('m-big', 3), call('m-mid', 4), call('m-mid', 5), call('m-small', 6)]);
    const run = (limit: string, metric: string): Promise<TimeseriesResult> =>
      timeseries({ clickhouse: env.clickhouse, prices }, scopeOf(orgId, genai), timeseriesQuerySchema.parse({ from: String(BASE_MS), to: String(BASE_MS + 5 * MIN), bucket: '5m', groupBy: 'model', metric, limit }));
    for (const metric of ['count', 'inputTokens']) {
      const top2 = await run('2', metric);
      expect(top2.series.map((s) => s.group), metric).toEqual(['m-big', 'm-mid']);
      expect(top2, metric).toMatchObject({ totalGroups: 3, truncated: true });
      expect(await run('3', metric), metric).toMatchObject({ totalGroups: 3, truncated: false });
    }
  });

  it('lines buckets up with the clock whatever the range start', async () => {
    const input = timeseriesQuerySchema.parse({ from: String(BASE_MS + 5_000), to: String(BASE_MS + 150_000), bucket: '1m', metric: 'count' });
    const r = await timeseries({ clickhouse: env.clickhouse, prices }, scopeOf(orgId, ws), input);
    expect(r.series[0]!.points.map((p) => [p.time, p.count])).toEqual([
      [new Date(BASE_MS).toISOString(), 51],
      [new Date(BASE_MS + MIN).toISOString(), 0],
      [new Date(BASE_MS + 2 * MIN).toISOString(), 4],
    ]);
  });

  it("sees only the scope's workspace", async () => {
    const input = timeseriesQuerySchema.parse({ from: String(BASE_MS), to: String(BASE_MS + 5 * MIN), bucket: '5m', metric: 'count' });
    const other = await timeseries({ clickhouse: env.clickhouse, prices }, scopeOf(orgId, otherWs), input);
    expect(other.series[0]!.points[0]!.count).toBe(1);
    const none = await timeseries({ clickhouse: env.clickhouse, prices }, scopeOf(orgId), input);
    expect(none.series[0]!.points[0]!.count).toBe(0);
  });

  it('picks the bucket from the range when none is given', () => {
    const h = 3_600_000;
    expect([1 * h, 6 * h, 24 * h, 7 * 24 * h, 8 * 24 * h].map(autoBucket)).toEqual(['1m', '5m', '15m', '1h', '1d']);
    expect(timeseriesQuerySchema.parse({ from: '0', to: String(3 * h) })).toMatchObject({ bucket: '5m', bucketSeconds: 300 });
  });

  it('refuses a bad bucket, too many buckets and unknown metrics, naming the parameter', () => {
    const path = (q: Record<string, string>): string | undefined => {
      const r = timeseriesQuerySchema.safeParse({ from: '0', to: String(7 * 86_400_000), ...q });
      return r.success ? undefined : r.error.issues[0]!.path.join('.');
    };
    expect(path({ bucket: '7m' })).toBe('bucket');
    expect(path({ bucket: '1m' })).toBe('bucket');
    expect(path({ bucket: '1h' })).toBeUndefined();
    expect(path({ metric: 'count,p42' })).toBe('metric.1');
    expect(path({ groupBy: 'host' })).toBe('groupBy');
    expect(path({ interval: '1m' })).toBe('');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchTraces, traceSearchQuerySchema, type TraceSearchInput, type TraceSearchResult, type TraceSummary } from '../../src/index.js';
import { createTestEnv, createTestOrg, type TestEnv } from '../../src/testing/index.js';
import { BASE_MS, insertSpans, newSpanId, newTraceId, scopeOf, type SpanSpec } from './helpers.js';

let env: TestEnv;
let orgId: string;
let wsA: string;
let wsB: string;

const ids = {
  users: newTraceId(),
  orders: newTraceId(),
  checkout: newTraceId(),
  early: newTraceId(),
  otherWs: newTraceId(),
};

function input(query: Record<string, string | string[]>): TraceSearchInput {
  return traceSearchQuerySchema.parse({ from: String(BASE_MS - 3_600_000), to: String(BASE_MS + 3_600_000), ...query });
}

async function search(query: Record<string, string | string[]>, workspaces: string[] = [wsA]): Promise<TraceSearchResult> {
  return searchTraces(env.clickhouse, scopeOf(orgId, ...workspaces), input(query));
}

const traceIds = (r: TraceSearchResult): string[] => r.traces.map((t) => t.traceId);

beforeAll(async () => {
  env = await createTestEnv();
  const org = await createTestOrg(env, ['a', 'b']);
  orgId = org.orgId;
  wsA = org.workspaces.a!.id;
  wsB = org.workspaces.b!.id;
  const usersRoot = newSpanId();
  const ordersRoot = newSpanId();
  const checkoutRoot = newSpanId();
  const spans: SpanSpec[] = [
    // GET /users: api → db, 100 ms, ok
    { traceId: ids.users, spanId: usersRoot, name: 'GET /Users', service: 'api', startMs: BASE_MS + 1_000, durationMs: 100, status: 'ok', kind: 2,
      attrs: { 'http.route': '/users', 'http.response.status_code': 200, 'http.request.duration_s': 0.1 }, resource: { 'deployment.environment': 'prod' } },
    { traceId: ids.users, spanId: newSpanId(), parentSpanId: usersRoot, name: 'SELECT users', service: 'db', startMs: BASE_MS + 1_010, durationMs: 50, attrs: { 'db.system': 'postgresql' } },
    // POST /orders: api → payments (error), 500 ms
    { traceId: ids.orders, spanId: ordersRoot, name: 'POST /orders', service: 'api', startMs: BASE_MS + 2_000, durationMs: 500, kind: 2,
      attrs: { 'http.route': '/orders', 'http.response.status_code': 500 }, resource: { 'deployment.environment': 'staging', 'k8s.pod.name': 'api-1' } },
    { traceId: ids.orders, spanId: newSpanId(), parentSpanId: ordersRoot, name: 'charge', service: 'payments', startMs: BASE_MS + 2_100, durationMs: 300, status: 'error', statusMessage: 'card declined',
      attrs: { 'payment.amount': { double: 12.5 }, 'retry': true } },
    // checkout: web → api, 2 s, with a string attribute that looks like a number
    { traceId: ids.checkout, spanId: checkoutRoot, name: 'GET /checkout', service: 'web', startMs: BASE_MS + 3_000, durationMs: 2_000, attrs: { 'http.response.status_code': '503' } },
    { traceId: ids.checkout, spanId: newSpanId(), parentSpanId: checkoutRoot, name: 'GET /cart', service: 'api', startMs: BASE_MS + 3_100, durationMs: 1_000 },
    // before the searched range
    { traceId: ids.early, spanId: newSpanId(), name: 'GET /users', service: 'api', startMs: BASE_MS - 7_200_000, durationMs: 10 },
  ];
  await insertSpans(env, { orgId, workspaceId: wsA }, spans);
  await insertSpans(env, { orgId, workspaceId: wsB }, [
    { traceId: ids.otherWs, spanId: newSpanId(), name: 'GET /Users', service: 'api', startMs: BASE_MS + 4_000, durationMs: 5, attrs: { 'http.route': '/users' } },
  ]);
});
afterAll(() => env?.cleanup());

describe('trace search', () => {
  it('returns traces newest first with their summary', async () => {
    const r = await search({});
    expect(traceIds(r)).toEqual([ids.checkout, ids.orders, ids.users]);
    expect(r.nextCursor).toBeNull();
    const orders = r.traces.find((t) => t.traceId === ids.orders)!;
    expect(orders).toEqual<TraceSummary>({
      traceId: ids.orders,
      rootServiceName: 'api',
      rootSpanName: 'POST /orders',
      startTimeUnixNano: (BigInt(BASE_MS + 2_000) * 1_000_000n).toString(),
      endTimeUnixNano: (BigInt(BASE_MS + 2_500) * 1_000_000n).toString(),
      durationMs: 500,
      spanCount: 2,
      errorCount: 1,
      services: ['api', 'payments'],
      truncated: false,
      totalSpanCount: 2,
    });
  });

  it('says when a summary misses spans of a trace longer than the 1 h pad, with the true span count', async () => {
    const ws = (await createTestOrg(env, ['long'])).workspaces.long!.id;
    const t0 = BASE_MS + 20 * 86_400_000;
    const long = newTraceId();
    const short = newTraceId();
    const root = newSpanId();
    await insertSpans(env, { orgId, workspaceId: ws }, [
      { traceId: long, spanId: root, name: 'batch', service: 'etl', startMs: t0, durationMs: 4 * 3_600_000 },
      { traceId: long, spanId: newSpanId(), parentSpanId: root, name: 'load', service: 'db', startMs: t0 + 3 * 3_600_000, durationMs: 10, status: 'error' },
      { traceId: long, spanId: newSpanId(), parentSpanId: root, name: 'report', service: 'mail', startMs: t0 + 3 * 3_600_000 + 5, durationMs: 10 },
      { traceId: short, spanId: newSpanId(), name: 'tick', service: 'etl', startMs: t0 + 60_000, durationMs: 10 },
    ]);
    for (const sort of ['start', 'duration']) {
      const q = traceSearchQuerySchema.parse({ from: String(t0 - 600_000), to: String(t0 + 600_000), sort });
      const r = await searchTraces(env.clickhouse, scopeOf(orgId, ws), q);
      const byId = Object.fromEntries(r.traces.map((t) => [t.traceId, t]));
      expect(byId[long], sort).toMatchObject({ spanCount: 1, errorCount: 0, services: ['etl'], truncated: true, totalSpanCount: 3 });
      expect(byId[short], sort).toMatchObject({ spanCount: 1, truncated: false, totalSpanCount: 1 });
    }
    // searched over a range that reaches its last spans, the same trace is whole
    const whole = await searchTraces(env.clickhouse, scopeOf(orgId, ws), traceSearchQuerySchema.parse({ from: String(t0 - 600_000), to: String(t0 + 3 * 3_600_000) }));
    expect(whole.traces.find((t) => t.traceId === long)).toMatchObject({ spanCount: 3, errorCount: 1, truncated: false, totalSpanCount: 3 });
  });

  it('sorts by duration, longest first', async () => {
    expect(traceIds(await search({ sort: 'duration' }))).toEqual([ids.checkout, ids.orders, ids.users]);
    expect(traceIds(await search({ sort: 'duration', maxDurationMs: '600' }))).toEqual([ids.orders, ids.users]);
  });

  it('filters by service of any span, returning the whole trace', async () => {
    const r = await search({ service: 'payments' });
    expect(traceIds(r)).toEqual([ids.orders]);
    expect(r.traces[0]!.spanCount).toBe(2);
    expect(traceIds(await search({ service: ['db', 'web'] }))).toEqual([ids.checkout, ids.users]);
  });

  it('filters by exact span name and by case-insensitive name substring', async () => {
    expect(traceIds(await search({ name: 'GET /Users' }))).toEqual([ids.users]);
    expect(traceIds(await search({ name: 'GET /users' }))).toEqual([]);
    expect(traceIds(await search({ q: 'users' }))).toEqual([ids.users]);
    expect(traceIds(await search({ q: 'GET /C' }))).toEqual([ids.checkout]);
  });

  it('filters by span status', async () => {
    expect(traceIds(await search({ status: 'error' }))).toEqual([ids.orders]);
    expect(traceIds(await search({ status: 'ok' }))).toEqual([ids.users]);
    expect(traceIds(await search({ status: 'unset' }))).toEqual([ids.checkout, ids.orders, ids.users]);
  });

  it('bounds the trace duration', async () => {
    expect(traceIds(await search({ minDurationMs: '500' }))).toEqual([ids.checkout, ids.orders]);
    expect(traceIds(await search({ minDurationMs: '100', maxDurationMs: '499.9' }))).toEqual([ids.users]);
  });

  it('matches span attributes by text, by number and by presence', async () => {
    expect(traceIds(await search({ 'attr.http.route': '/users' }))).toEqual([ids.users]);
    // equality compares the text form, so an int matches its digits and a string its text
    expect(traceIds(await search({ 'attr.http.response.status_code': '500' }))).toEqual([ids.orders]);
    expect(traceIds(await search({ 'attr.http.response.status_code': '503' }))).toEqual([ids.checkout]);
    expect(traceIds(await search({ 'attr.retry': 'true' }))).toEqual([ids.orders]);
    // numeric comparison only sees int/double attributes: the string "503" is not >= 500
    expect(traceIds(await search({ 'attrNum.http.response.status_code': 'gte:500' }))).toEqual([ids.orders]);
    expect(traceIds(await search({ 'attrNum.http.response.status_code': 'lt:300' }))).toEqual([ids.users]);
    expect(traceIds(await search({ 'attrNum.http.response.status_code': ['gt:100', 'lte:200'] }))).toEqual([ids.users]);
    expect(traceIds(await search({ 'attrNum.payment.amount': 'eq:12.5' }))).toEqual([ids.orders]);
    expect(traceIds(await search({ 'attrNum.http.request.duration_s': 'ne:0.2' }))).toEqual([ids.users]);
    expect(traceIds(await search({ attrExists: 'db.system' }))).toEqual([ids.users]);
    expect(traceIds(await search({ attrExists: ['db.system', 'http.route'] }))).toEqual([]);
  });

  it('matches resource attributes', async () => {
    expect(traceIds(await search({ 'resource.deployment.environment': 'prod' }))).toEqual([ids.users]);
    expect(traceIds(await search({ resourceExists: 'k8s.pod.name' }))).toEqual([ids.orders]);
    expect(traceIds(await search({ 'resource.service.name': 'payments' }))).toEqual([ids.orders]);
    expect(traceIds(await search({ 'resourceNum.deployment.environment': 'gt:0' }))).toEqual([]);
  });

  it('requires all span filters to hold on one and the same span', async () => {
    expect(traceIds(await search({ service: 'db', 'attr.http.route': '/users' }))).toEqual([]);
    expect(traceIds(await search({ service: 'api', 'attr.http.route': '/users' }))).toEqual([ids.users]);
    expect(traceIds(await search({ service: 'api', status: 'error' }))).toEqual([]);
  });

  it('keeps to the time range', async () => {
    const r = await searchTraces(
      env.clickhouse,
      scopeOf(orgId, wsA),
      traceSearchQuerySchema.parse({ from: new Date(BASE_MS + 1_500).toISOString(), to: new Date(BASE_MS + 2_500).toISOString() }),
    );
    expect(traceIds(r)).toEqual([ids.orders]);
    const early = await searchTraces(env.clickhouse, scopeOf(orgId, wsA), traceSearchQuerySchema.parse({ from: String(BASE_MS - 8_000_000), to: String(BASE_MS) }));
    expect(traceIds(early)).toEqual([ids.early]);
  });

  it("never shows another workspace's traces, and shows several workspaces when the scope has them", async () => {
    expect(traceIds(await search({ 'attr.http.route': '/users' }, [wsB]))).toEqual([ids.otherWs]);
    expect(traceIds(await search({ 'attr.http.route': '/users' }, [wsA, wsB]))).toEqual([ids.otherWs, ids.users]);
    expect(traceIds(await search({}, []))).toEqual([]);
    const otherOrg = await searchTraces(env.clickhouse, scopeOf('org_nope', wsA), input({}));
    expect(otherOrg).toEqual({ traces: [], nextCursor: null });
  });

  it('answers an empty page for nothing found', async () => {
    expect(await search({ service: 'nope' })).toEqual({ traces: [], nextCursor: null });
  });
});

describe('trace search pagination', () => {
  let ws: string;
  const all: string[] = [];
  const t0 = BASE_MS + 86_400_000;

  beforeAll(async () => {
    ws = (await createTestOrg(env, ['p'])).workspaces.p!.id;
    const specs: SpanSpec[] = [];
    for (let i = 0; i < 53; i++) {
      const traceId = newTraceId();
      all.push(traceId);
      // groups of three traces share a start and a duration, so the trace id breaks ties
      const start = t0 + Math.floor(i / 3) * 1_000;
      const duration = 10 + (i % 5) * 10;
      const root = newSpanId();
      specs.push({ traceId, spanId: root, name: 'job', service: 'worker', startMs: start, durationMs: duration });
      specs.push({ traceId, spanId: newSpanId(), parentSpanId: root, name: 'step', service: 'worker', startMs: start + 1, durationMs: duration - 2 });
    }
    await insertSpans(env, { orgId, workspaceId: ws }, specs);
  });

  async function pages(sort: 'start' | 'duration', limit: number, between?: (page: number) => Promise<void>): Promise<string[][]> {
    const out: string[][] = [];
    let cursor: string | null = null;
    do {
      const q: Record<string, string> = { from: String(t0), to: String(t0 + 3_600_000), sort, limit: String(limit) };
      if (cursor) q.cursor = cursor;
      const r = await searchTraces(env.clickhouse, scopeOf(orgId, ws), traceSearchQuerySchema.parse(q));
      out.push(traceIds(r));
      cursor = r.nextCursor;
      if (between) await between(out.length);
    } while (cursor);
    return out;
  }

  for (const sort of ['start', 'duration'] as const) {
    it(`pages through every trace exactly once, in the one-page order (sort=${sort})`, async () => {
      const [whole] = await pages(sort, 100);
      expect(whole).toHaveLength(53);
      const paged = await pages(sort, 7);
      expect(paged).toHaveLength(8);
      expect(paged.slice(0, -1).every((p) => p.length === 7)).toBe(true);
      expect(paged.flat()).toEqual(whole);
      expect(new Set(paged.flat())).toEqual(new Set(all));
    });
  }

  it('neither repeats nor skips a trace when newer traces arrive while paging', async () => {
    const [before] = await pages('start', 100);
    const paged = await pages('start', 10, async (page) => {
      if (page === 1) {
        await insertSpans(env, { orgId, workspaceId: ws }, [
          { traceId: newTraceId(), spanId: newSpanId(), name: 'late', service: 'worker', startMs: t0 + 60_000, durationMs: 5 },
        ]);
      }
    });
    const flat = paged.flat();
    expect(new Set(flat).size).toBe(flat.length);
    expect(flat).toEqual(before);
  });

  it('widens its window until a page is certain, across sparse and long ranges', async () => {
    const sparse = (await createTestOrg(env, ['sparse'])).workspaces.sparse!.id;
    const t1 = BASE_MS + 10 * 86_400_000;
    const rare: string[] = [];
    const specs: SpanSpec[] = [];
    for (let i = 0; i < 60; i++) {
      const traceId = newTraceId();
      // every 40 minutes over 40 hours; one trace in seven is "rare", the last 20 hours hold none
      const isRare = i % 7 === 0 && i < 30;
      if (isRare) rare.push(traceId);
      specs.push({ traceId, spanId: newSpanId(), name: 'tick', service: 'cron', startMs: t1 + i * 40 * 60_000, durationMs: 3, attrs: isRare ? { rare: 'yes' } : {} });
    }
    await insertSpans(env, { orgId, workspaceId: sparse }, specs);
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const q: Record<string, string> = { from: String(t1 - 3_600_000), to: String(t1 + 3 * 86_400_000), 'attr.rare': 'yes', limit: '2' };
      if (cursor) q.cursor = cursor;
      const r = await searchTraces(env.clickhouse, scopeOf(orgId, sparse), traceSearchQuerySchema.parse(q));
      all.push(...traceIds(r));
      cursor = r.nextCursor;
    } while (cursor);
    expect(all).toEqual([...rare].reverse());
    const newest = await searchTraces(env.clickhouse, scopeOf(orgId, sparse), traceSearchQuerySchema.parse({ from: String(t1), to: String(t1 + 3 * 86_400_000), limit: '3' }));
    expect(newest.traces.map((t) => t.traceId)).toEqual(specs.slice(-3).map((x) => x.traceId).reverse());
  });

  it('caps the page size', () => {
    const r = traceSearchQuerySchema.safeParse({ from: '0', to: '1000', limit: '101' });
    expect(r.success).toBe(false);
    expect(traceSearchQuerySchema.parse({ from: '0', to: '1000' }).limit).toBe(20);
  });
});

describe('trace search parameters', () => {
  const issuePath = (q: Record<string, unknown>): string | undefined => {
    const r = traceSearchQuerySchema.safeParse({ from: '1000', to: '2000', ...q });
    return r.success ? undefined : r.error.issues.map((i) => i.path.join('.')).join(',');
  };

  it('parses the attribute grammar', () => {
    const parsed = traceSearchQuerySchema.parse({
      from: '2026-11-02T10:00:00Z',
      to: '2026-11-02T11:00:00Z',
      'attr.http.route': '/x',
      'resource.host.name': ['a', 'b'],
      'attrNum.http.status_code': 'gte:500',
      'resourceNum.process.pid': 'lt:-1.5e3',
      attrExists: 'error.type',
      resourceExists: ['k8s.pod.name'],
    });
    expect(parsed.attributes).toEqual([
      { target: 'span', key: 'http.route', kind: 'equals', value: '/x' },
      { target: 'resource', key: 'host.name', kind: 'equals', value: 'a' },
      { target: 'resource', key: 'host.name', kind: 'equals', value: 'b' },
      { target: 'span', key: 'http.status_code', kind: 'compare', op: 'gte', value: 500 },
      { target: 'resource', key: 'process.pid', kind: 'compare', op: 'lt', value: -1500 },
      { target: 'span', key: 'error.type', kind: 'exists' },
      { target: 'resource', key: 'k8s.pod.name', kind: 'exists' },
    ]);
  });

  it('names the parameter at fault', () => {
    expect(issuePath({ from: 'yesterday' })).toBe('from');
    expect(issuePath({ to: '500' })).toBe('to');
    expect(issuePath({ to: String(1000 + 32 * 86_400_000) })).toBe('to');
    expect(issuePath({ status: 'broken' })).toBe('status');
    expect(issuePath({ 'attrNum.http.status_code': '>=500' })).toBe('attrNum.http.status_code');
    expect(issuePath({ 'attrNum.x': 'gte:abc' })).toBe('attrNum.x');
    expect(issuePath({ 'attr.': 'x' })).toBe('attr.');
    expect(issuePath({ servce: 'api' })).toBe('servce');
    expect(issuePath({ cursor: 'not-a-cursor' })).toBe('cursor');
    expect(issuePath({ minDurationMs: '-1' })).toBe('minDurationMs');
    expect(issuePath({ minDurationMs: '10', maxDurationMs: '5' })).toBe('maxDurationMs');
  });

  it('refuses a cursor from the other sort', async () => {
    const ws = (await createTestOrg(env, ['c'])).workspaces.c!.id;
    await insertSpans(env, { orgId, workspaceId: ws }, [0, 1].map((i) => ({ traceId: newTraceId(), spanId: newSpanId(), name: 'x', service: 's', startMs: 1_500 + i, durationMs: 1 })));
    const r = await searchTraces(env.clickhouse, scopeOf(orgId, ws), traceSearchQuerySchema.parse({ from: '1000', to: '2000', limit: '1' }));
    expect(r.nextCursor).not.toBeNull();
    expect(issuePath({ cursor: r.nextCursor, sort: 'duration' })).toBe('cursor');
    expect(issuePath({ cursor: r.nextCursor })).toBeUndefined();
  });
});

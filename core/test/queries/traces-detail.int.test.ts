import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTree, getTrace, MAX_TRACE_SPANS, traceDetailSchema, type SpanDetail } from '../../src/index.js';
import { createTestEnv, createTestOrg, type TestEnv } from '../../src/testing/index.js';
import { BASE_MS, insertSpans, newSpanId, newTraceId, scopeOf } from './helpers.js';

let env: TestEnv;
let orgId: string;
let wsA: string;
let wsB: string;
const traceId = newTraceId();
const linkedTrace = newTraceId();
const root = newSpanId();
const child = newSpanId();
const grandchild = newSpanId();
const sibling = newSpanId();
const orphan = newSpanId();
const missingParent = newSpanId();

beforeAll(async () => {
  env = await createTestEnv();
  const org = await createTestOrg(env, ['a', 'b']);
  orgId = org.orgId;
  wsA = org.workspaces.a!.id;
  wsB = org.workspaces.b!.id;
  // The trace crosses midnight, so its spans live in two daily partitions, and arrives in two inserts.
  const midnight = Date.UTC(2026, 10, 3);
  await insertSpans(env, { orgId, workspaceId: wsA }, [
    {
      traceId, spanId: root, name: 'GET /checkout', service: 'web', startMs: midnight - 1_000, durationMs: 3_000.5, kind: 2, status: 'ok',
      attrs: {
        'http.route': '/checkout', 'http.status_code': 200, 'ratio': 0.25, 'cached': false,
        'big': { int: '9007199254740993' }, 'tags': ['a', 'b'], 'nested': { kv: { inner: 1, deep: { kv: { x: true } } } }, 'raw': { bytes: 'AAEC' },
      },
      resource: { 'service.version': '1.2.3', 'host.name': 'web-1' },
      scope: { name: '@opentelemetry/instrumentation-http', version: '0.57.0', attributes: { 'lib.flag': true } },
      events: [{ timeUnixNano: String(BigInt(midnight - 500) * 1_000_000n), name: 'cache.miss', attributes: [{ key: 'cache.key', value: { stringValue: 'cart:1' } }], droppedAttributesCount: 2 }],
      links: [{ traceId: linkedTrace, spanId: 'a1a2a3a4a5a6a7a8', traceState: 'k=v', attributes: [{ key: 'link.kind', value: { stringValue: 'follows' } }], droppedAttributesCount: 1 }],
    },
    { traceId, spanId: child, parentSpanId: root, name: 'POST /cart', service: 'api', startMs: midnight - 900, durationMs: 500, kind: 3 },
  ]);
  await insertSpans(env, { orgId, workspaceId: wsA }, [
    { traceId, spanId: grandchild, parentSpanId: child, name: 'INSERT cart', service: 'db', startMs: midnight + 100, durationMs: 20, status: 'error', statusMessage: 'deadlock' },
    { traceId, spanId: sibling, parentSpanId: root, name: 'render', service: 'web', startMs: midnight - 950, durationMs: 10 },
    { traceId, spanId: orphan, parentSpanId: missingParent, name: 'late child', service: 'worker', startMs: midnight + 1_500, durationMs: 5 },
  ]);
});
afterAll(() => env?.cleanup());

describe('trace detail', () => {
  it('returns every span by start time, with depth and children for a waterfall', async () => {
    const trace = (await getTrace(env.clickhouse, scopeOf(orgId, wsA), traceId))!;
    expect(traceDetailSchema.parse(trace)).toEqual(trace);
    expect(trace.spans.map((s) => [s.name, s.depth])).toEqual([
      ['GET /checkout', 0],
      ['render', 1],
      ['POST /cart', 1],
      ['INSERT cart', 2],
      ['late child', 0],
    ]);
    const byName = Object.fromEntries(trace.spans.map((s) => [s.name, s])) as Record<string, SpanDetail>;
    expect(byName['GET /checkout']!.children).toEqual([sibling, child]);
    expect(byName['POST /cart']!.children).toEqual([grandchild]);
    expect(byName['INSERT cart']!.children).toEqual([]);
    expect(trace.rootSpanIds).toEqual([root, orphan]);
    expect(trace).toMatchObject({ traceId, spanCount: 5, services: ['api', 'db', 'web', 'worker'], truncated: false, durationMs: 3_000.5 });
  });

  it('gives each span its identity, timing, kind and status', async () => {
    const trace = (await getTrace(env.clickhouse, scopeOf(orgId, wsA), traceId))!;
    const r = trace.spans[0];
    const c = trace.spans.find((s) => s.spanId === child);
    const midnightNs = BigInt(Date.UTC(2026, 10, 3)) * 1_000_000n;
    expect(r).toMatchObject({
      traceId,
      spanId: root,
      parentSpanId: '',
      name: 'GET /checkout',
      kind: 'server',
      serviceName: 'web',
      startTimeUnixNano: (midnightNs - 1_000_000_000n).toString(),
      endTimeUnixNano: (midnightNs + 2_000_500_000n).toString(),
      durationMs: 3_000.5,
      status: { code: 'ok', message: '' },
    });
    expect(c).toMatchObject({ parentSpanId: root, kind: 'client', status: { code: 'unset', message: '' } });
    expect(trace.spans.find((s) => s.spanId === grandchild)!.status).toEqual({ code: 'error', message: 'deadlock' });
  });

  it('returns attributes and resource typed as sent, and scope, events and links', async () => {
    const r = (await getTrace(env.clickhouse, scopeOf(orgId, wsA), traceId))!.spans[0]!;
    expect(r.attributes).toEqual({
      'http.route': '/checkout',
      'http.status_code': 200,
      ratio: 0.25,
      cached: false,
      big: '9007199254740993',
      tags: ['a', 'b'],
      nested: { inner: 1, deep: { x: true } },
      raw: 'AAEC',
    });
    expect(r.resource).toEqual({ 'service.name': 'web', 'service.version': '1.2.3', 'host.name': 'web-1' });
    expect(r.scope).toEqual({ name: '@opentelemetry/instrumentation-http', version: '0.57.0', attributes: { 'lib.flag': true }, droppedAttributesCount: 0, schemaUrl: '' });
    expect(r.events).toEqual([
      { timeUnixNano: (BigInt(Date.UTC(2026, 10, 3) - 500) * 1_000_000n).toString(), name: 'cache.miss', attributes: { 'cache.key': 'cart:1' }, droppedAttributesCount: 2 },
    ]);
    expect(r.links).toEqual([{ traceId: linkedTrace, spanId: 'a1a2a3a4a5a6a7a8', traceState: 'k=v', flags: 0, attributes: { 'link.kind': 'follows' }, droppedAttributesCount: 1 }]);
    expect(r).toMatchObject({ droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0 });
  });

  it("answers null for an unknown trace and for another workspace's trace", async () => {
    expect(await getTrace(env.clickhouse, scopeOf(orgId, wsA), newTraceId())).toBeNull();
    expect(await getTrace(env.clickhouse, scopeOf(orgId, wsB), traceId)).toBeNull();
    expect(await getTrace(env.clickhouse, scopeOf('org_other', wsA), traceId)).toBeNull();
    expect(await getTrace(env.clickhouse, scopeOf(orgId), traceId)).toBeNull();
  });
});

describe('a trace larger than the detail returns', () => {
  it('returns its first spans by start time, truncated, with the true span count', async () => {
    const big = newTraceId();
    const extra = 7;
    const rootId = newSpanId();
    // Spread over two minutes in two inserts, like a long batch job's trace arriving in parts.
    const specs = Array.from({ length: MAX_TRACE_SPANS + extra }, (_, i) => ({
      traceId: big, spanId: i === 0 ? rootId : newSpanId(), parentSpanId: i === 0 ? '' : rootId,
      name: `step ${i}`, service: 'batch', startMs: BASE_MS + i * 12, durationMs: 1,
    }));
    const half = Math.floor(specs.length / 2);
    await insertSpans(env, { orgId, workspaceId: wsA }, specs.slice(0, half));
    await insertSpans(env, { orgId, workspaceId: wsA }, specs.slice(half));

    const trace = (await getTrace(env.clickhouse, scopeOf(orgId, wsA), big))!;
    expect(trace).toMatchObject({ truncated: true, spanCount: MAX_TRACE_SPANS, totalSpanCount: MAX_TRACE_SPANS + extra });
    expect(trace.spans.at(-1)!.name).toBe(`step ${MAX_TRACE_SPANS - 1}`);
    expect(traceDetailSchema.parse(trace).totalSpanCount).toBe(MAX_TRACE_SPANS + extra);
  });

  it('gives a complete trace a total equal to its span count', async () => {
    const trace = (await getTrace(env.clickhouse, scopeOf(orgId, wsA), traceId))!;
    expect(trace).toMatchObject({ truncated: false, spanCount: 5, totalSpanCount: 5 });
  });
});

describe('trace tree', () => {
  const span = (spanId: string, parentSpanId: string, start: number): Parameters<typeof buildTree>[0][number] =>
    ({ spanId, parentSpanId, startTimeUnixNano: String(start), name: spanId }) as Parameters<typeof buildTree>[0][number];

  it('breaks a parent cycle instead of losing its spans', () => {
    const { spans, rootSpanIds } = buildTree([span('a', 'b', 1), span('b', 'a', 2), span('c', 'c', 3)]);
    expect(spans.map((s) => s.spanId)).toEqual(['a', 'b', 'c']);
    expect(rootSpanIds).toEqual(['a', 'c']);
    expect(spans.map((s) => s.depth)).toEqual([0, 1, 0]);
  });

  it('keeps the first of two spans with the same id', () => {
    const { spans } = buildTree([span('a', '', 1), span('a', '', 1), span('b', 'a', 2)]);
    expect(spans.map((s) => [s.spanId, s.depth, s.children])).toEqual([
      ['a', 0, ['b']],
      ['b', 1, []],
    ]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bootstrapOrganization, createOrgUsageKey, normalizeTraceRequest, type BootstrapResult, type OtlpTraceRequest } from '@canopy/core';
import { createTestEnv, type TestEnv } from '@canopy/core/testing';
import { DATA_ROUTES } from '../../src/data/router.js';
import { errorOf, startApi, unique, type Reply, type RunningApi } from '../helpers.js';

type Json = Record<string, unknown>;

let env: TestEnv;
let api: RunningApi;
let acme: BootstrapResult;
let other: BootstrapResult;
let usageKey: string;
let doc: Json;

const BASE_MS = Date.UTC(2026, 10, 2, 10);
const DAY_SEC = Date.UTC(2026, 10, 2, 12) / 1000;
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
const traceIds = { a: hex(0xa1, 32), b: hex(0xb1, 32), other: hex(0xc1, 32) };
const ns = (ms: number): string => (BigInt(ms) * 1_000_000n).toString();

function request(traceId: string, service: string, attrs: Record<string, string | number> = {}): OtlpTraceRequest {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'test' },
            spans: [
              {
                traceId,
                spanId: hex(1, 16),
                name: 'GET /users',
                kind: 2,
                startTimeUnixNano: ns(BASE_MS + 1_000),
                endTimeUnixNano: ns(BASE_MS + 1_250),
                attributes: Object.entries(attrs).map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: v } : { stringValue: v } })),
              },
              { traceId, spanId: hex(2, 16), parentSpanId: hex(1, 16), name: 'SELECT', startTimeUnixNano: ns(BASE_MS + 1_010), endTimeUnixNano: ns(BASE_MS + 1_020), status: { code: 2 } },
            ],
          },
        ],
      },
    ],
  };
}

async function ingest(org: BootstrapResult, workspace: number, req: OtlpTraceRequest): Promise<void> {
  const r = normalizeTraceRequest(req, { orgId: org.org.id, workspaceId: org.workspaces[workspace]!.id, batchId: unique('b'), ingestedAtSec: DAY_SEC });
  await env.clickhouse.insertJsonEachRow('spans', r.rows);
}

beforeAll(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  acme = await bootstrapOrganization(env.pool, { name: unique('acme'), workspaceSlugs: ['prod', 'dev'] });
  other = await bootstrapOrganization(env.pool, { name: unique('other'), workspaceSlugs: ['prod'] });
  usageKey = (await createOrgUsageKey(env.pool, { type: 'system', id: 'test' }, { orgId: acme.org.id, name: 'finance' })).key;
  await api.policy.reload();
  await ingest(acme, 0, request(traceIds.a, 'api', { 'http.route': '/users', 'http.response.status_code': 500, 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 100 }));
  await ingest(acme, 1, request(traceIds.b, 'api'));
  await ingest(other, 0, request(traceIds.other, 'api'));
  doc = (await api.request('GET', '/openapi.json')).json as Json;
});
afterAll(async () => {
  await api?.close();
  await env?.cleanup();
});

const range = `from=${BASE_MS}&to=${BASE_MS + 3_600_000}`;
const prod = (): string => `/api/v1/workspaces/${acme.workspaces[0]!.id}`;
const dev = (): string => `/api/v1/workspaces/${acme.workspaces[1]!.id}`;
const usage = (): string => `/api/v1/orgs/${acme.org.id}/usage?from=2026-11-01&to=2026-12-01`;

/** Validates a real response against the JSON Schema /openapi.json gives for it. */
function expectDocumented(reply: Reply, method: string, path: string): void {
  const op = (doc.paths as Record<string, Record<string, Json>>)[path]?.[method];
  expect(op, `${method} ${path}`).toBeDefined();
  const schema = ((op!.responses as Record<string, Json>)[String(reply.status)]?.content as Record<string, { schema: Json }>)['application/json']!.schema;
  const result = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(reply.json);
  expect(result.success ? 'conforms' : result.error.issues).toBe('conforms');
}

describe('trace routes', () => {
  it('search and detail answer the owner, with documented shapes', async () => {
    const search = await api.request('GET', `${prod()}/traces?${range}&attr.http.route=/users&attrNum.http.response.status_code=gte:500&service=api`, { token: acme.ownerToken });
    expect(search.status).toBe(200);
    expect(search.json).toMatchObject({ traces: [{ traceId: traceIds.a, rootServiceName: 'api', rootSpanName: 'GET /users', spanCount: 2, errorCount: 1, durationMs: 250 }], nextCursor: null });
    expectDocumented(search, 'get', '/api/v1/workspaces/{ws}/traces');
    const detail = await api.request('GET', `${prod()}/traces/${traceIds.a.toUpperCase()}`, { token: acme.ownerToken });
    expect(detail.status).toBe(200);
    expect((detail.json as { spans: Array<{ name: string; depth: number }> }).spans.map((s) => [s.name, s.depth])).toEqual([['GET /users', 0], ['SELECT', 1]]);
    expectDocumented(detail, 'get', '/api/v1/workspaces/{ws}/traces/{traceId}');
  });

  it("answers 404 for an unknown trace and for another workspace's or org's", async () => {
    for (const path of [`${prod()}/traces/${hex(0xdead, 32)}`, `${prod()}/traces/${traceIds.b}`, `${prod()}/traces/${traceIds.other}`]) {
      const reply = await api.request('GET', path, { token: acme.ownerToken });
      expect(reply.status, path).toBe(404);
      expect(errorOf(reply)).toMatchObject({ code: 'not_found', field: 'traceId' });
    }
    const foreign = await api.request('GET', `/api/v1/workspaces/${other.workspaces[0]!.id}/traces/${traceIds.other}`, { token: acme.ownerToken });
    expect(foreign.status).toBe(404);
  });

  it("lets a workspace read key search its own workspace only", async () => {
    const own = await api.request('GET', `${prod()}/traces?${range}`, { token: acme.workspaces[0]!.readKey });
    expect((own.json as { traces: Array<{ traceId: string }> }).traces.map((t) => t.traceId)).toEqual([traceIds.a]);
    expect((await api.request('GET', `${dev()}/traces?${range}`, { token: acme.workspaces[0]!.readKey })).status).toBe(403);
    expect((await api.request('GET', `${prod()}/traces?${range}`, { token: acme.workspaces[0]!.ingestKey })).status).toBe(403);
  });

  it('answers 400 naming the bad parameter', async () => {
    const cases: Array<[string, string]> = [
      [`${prod()}/traces?to=${BASE_MS}`, 'from'],
      [`${prod()}/traces?${range}&limit=101`, 'limit'],
      [`${prod()}/traces?${range}&attrNum.http.status_code=>=500`, 'attrNum.http.status_code'],
      [`${prod()}/traces?${range}&cursor=garbage`, 'cursor'],
      [`${prod()}/traces?${range}&status=fine`, 'status'],
      [`${prod()}/traces?${range}&sevice=api`, 'sevice'],
      [`${prod()}/traces?from=0&to=${40 * 86_400_000}`, 'to'],
      [`${prod()}/traces/not-a-trace-id`, 'traceId'],
      [`${prod()}/analytics/timeseries?${range}&bucket=2m`, 'bucket'],
      [`${prod()}/analytics/timeseries?${range}&metric=count,p42`, 'metric.1'],
      [`${prod()}/analytics/genai?${range}&groupBy=colour`, 'groupBy.0'],
      [`/api/v1/orgs/${acme.org.id}/usage?groupBy=workspace,planet`, 'groupBy.1'],
      [`/api/v1/orgs/${acme.org.id}/usage?from=2026-11-02&to=2026-11-01`, 'to'],
    ];
    for (const [path, field] of cases) {
      const reply = await api.request('GET', path, { token: acme.ownerToken });
      expect(reply.status, path).toBe(400);
      expect(errorOf(reply), path).toMatchObject({ code: 'invalid', field });
      expect(errorOf(reply).message, path).toContain(field);
    }
  });
});

describe('analytics routes', () => {
  it('serve time series and GenAI usage', async () => {
    const series = await api.request('GET', `${prod()}/analytics/timeseries?${range}&groupBy=service&metric=count,errorRate,p95Ms,inputTokens,costUsd`, { token: acme.ownerToken });
    expect(series.status).toBe(200);
    expect(series.json).toMatchObject({ bucket: '1m', groupBy: 'service', series: [{ group: 'api' }] });
    const first = (series.json as { series: Array<{ points: Json[] }> }).series[0]!.points[0];
    expect(first).toMatchObject({ count: 2, errorRate: 0.5, inputTokens: 1000, costUsd: '0.0035' });
    expect(series.json).toMatchObject({ priceVersion: 1 });
    expectDocumented(series, 'get', '/api/v1/workspaces/{ws}/analytics/timeseries');
    const genai = await api.request('GET', `${prod()}/analytics/genai?${range}`, { token: acme.workspaces[0]!.readKey });
    expect(genai.status).toBe(200);
    expect(genai.json).toMatchObject({ rows: [{ model: 'gpt-4o', calls: 1, inputTokens: 1000, outputTokens: 100, costUsd: '0.0035' }], priceVersion: 1 });
    expectDocumented(genai, 'get', '/api/v1/workspaces/{ws}/analytics/genai');
  });
});

describe('usage and prices', () => {
  it('serve finance JSON and CSV; the billing role reads usage and no trace content', async () => {
    const json = await api.request('GET', usage(), { token: acme.billingToken });
    expect(json.status).toBe(200);
    expect(json.json).toMatchObject({
      groupBy: ['workspace', 'day'],
      totals: { spans: 4, inputTokens: 1000, outputTokens: 100, costUsd: '0.0035' },
      quota: { monthlySpanQuota: null },
    });
    expect((json.json as { rows: Json[] }).rows.map((r) => [r.workspaceSlug, r.day, r.spans])).toEqual([
      ['dev', '2026-11-02', 2],
      ['prod', '2026-11-02', 2],
    ]);
    expectDocumented(json, 'get', '/api/v1/orgs/{org}/usage');
    const csv = await api.request('GET', `${usage()}&format=csv&groupBy=workspace,day,model`, { token: acme.billingToken });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="?canopy-usage-[^"]*\.csv"?$/);
    expect(csv.text.split('\r\n')[0]).toBe(
      'workspace_id,workspace_slug,day,model,spans,bytes,calls,input_tokens,output_tokens,cache_read_tokens,cache_creation_tokens,reasoning_tokens,cost_usd,price_versions,provisional',
    );
    for (const path of [`${prod()}/traces?${range}`, `${prod()}/traces/${traceIds.a}`, `${prod()}/analytics/timeseries?${range}`, `${prod()}/analytics/genai?${range}`]) {
      expect((await api.request('GET', path, { token: acme.billingToken })).status, path).toBe(403);
    }
    expect((await api.request('GET', `/api/v1/orgs/${acme.org.id}/prices`, { token: acme.billingToken })).status).toBe(200);
    expect((await api.request('PUT', `/api/v1/orgs/${acme.org.id}/prices`, { token: acme.billingToken, body: { prices: [] } })).status).toBe(403);
  });

  it('lets an org usage key read usage and nothing of the traces', async () => {
    expect((await api.request('GET', usage(), { token: usageKey })).status).toBe(200);
    expect((await api.request('GET', `${prod()}/traces?${range}`, { token: usageKey })).status).toBe(403);
    expect((await api.request('GET', `${prod()}/traces/${traceIds.a}`, { token: usageKey })).status).toBe(403);
  });

  it("hides another organization's usage behind 404", async () => {
    const reply = await api.request('GET', `/api/v1/orgs/${other.org.id}/usage`, { token: acme.ownerToken });
    expect(reply.status).toBe(404);
    expect((await api.request('GET', `/api/v1/orgs/${other.org.id}/usage`, { token: usageKey })).status).toBe(404);
  });

  it('lets the owner replace the org prices, audited, and bills with them', async () => {
    const put = await api.request('PUT', `/api/v1/orgs/${acme.org.id}/prices`, {
      token: acme.ownerToken,
      body: { prices: [{ model: 'gpt-4o', inputPerMillion: '1.5', outputPerMillion: '3' }] },
    });
    expect(put.status).toBe(200);
    expect((put.json as { prices: Json[] }).prices.find((p) => p.model === 'gpt-4o')).toMatchObject({ inputPerMillion: '1.50', source: 'org' });
    expectDocumented(put, 'put', '/api/v1/orgs/{org}/prices');
    const audit = await env.pool.query<{ action: string }>('SELECT action FROM audit_log WHERE org_id = $1 AND action = $2', [acme.org.id, 'prices.update']);
    expect(audit.rowCount).toBe(1);
    const after = await api.request('GET', usage(), { token: acme.billingToken });
    // 1000 × $1.50 + 100 × $3 per million
    expect((after.json as { totals: Json }).totals.costUsd).toBe('0.0018');
    const bad = await api.request('PUT', `/api/v1/orgs/${acme.org.id}/prices`, { token: acme.ownerToken, body: { prices: [{ model: 'x', inputPerMillion: 1.5, outputPerMillion: '1' }] } });
    expect(bad.status).toBe(400);
    expect(errorOf(bad).field).toBe('prices.0.inputPerMillion');
  });

  it('list and read price table versions; billing reads them but may not re-price', async () => {
    const versions = await api.request('GET', `/api/v1/orgs/${acme.org.id}/prices/versions`, { token: acme.billingToken });
    expect(versions.status).toBe(200);
    expect(versions.json).toMatchObject({ current: 2, versions: [{ version: 2 }, { version: 1, createdBy: 'system:prices' }] });
    expectDocumented(versions, 'get', '/api/v1/orgs/{org}/prices/versions');
    const v1 = await api.request('GET', `/api/v1/orgs/${acme.org.id}/prices/versions/1`, { token: acme.billingToken });
    expect(v1.status).toBe(200);
    expect(v1.json).toMatchObject({ version: 1, current: false });
    expect((v1.json as { prices: Json[] }).prices.find((p) => p.model === 'gpt-4o')).toMatchObject({ inputPerMillion: '2.50', source: 'default' });
    expectDocumented(v1, 'get', '/api/v1/orgs/{org}/prices/versions/{version}');
    const missing = await api.request('GET', `/api/v1/orgs/${acme.org.id}/prices/versions/9`, { token: acme.billingToken });
    expect([missing.status, errorOf(missing).field]).toEqual([404, 'version']);
    const bad = await api.request('GET', `/api/v1/orgs/${acme.org.id}/prices/versions/first`, { token: acme.billingToken });
    expect([bad.status, errorOf(bad).field]).toEqual([400, 'version']);
    expect((await api.request('GET', `/api/v1/orgs/${acme.org.id}/prices`, { token: acme.billingToken })).json).toMatchObject({ version: 2 });
    const refused = await api.request('POST', `/api/v1/orgs/${acme.org.id}/prices/reprice`, { token: acme.billingToken, body: { from: '2026-11-02', to: '2026-11-02' } });
    expect(refused.status).toBe(403);
    expect((await api.request('GET', `/api/v1/orgs/${other.org.id}/prices/versions`, { token: acme.billingToken })).status).toBe(404);
  });

  it('lets the owner re-price closed days with a version: stored, audited, and what the finance view reads', async () => {
    const reprice = (body: Json) => api.request('POST', `/api/v1/orgs/${acme.org.id}/prices/reprice`, { token: acme.ownerToken, body });
    const res = await reprice({ from: '2026-11-01', to: '2026-11-30', version: 1 });
    expect(res.status).toBe(200);
    // 1000 × $2.50 + 100 × $10 per million with version 1, though version 2 is current
    expect(res.json).toEqual({ from: '2026-11-01', to: '2026-11-30', version: 1, days: 30, before: { costUsd: '0.00', priceVersions: [] }, after: { costUsd: '0.0035' } });
    expectDocumented(res, 'post', '/api/v1/orgs/{org}/prices/reprice');
    const report = (await api.request('GET', usage(), { token: acme.billingToken })).json as { totals: Json; rows: Json[]; currentPriceVersion: number };
    expect(report.totals).toMatchObject({ costUsd: '0.0035', priceVersions: [1], provisional: false });
    expect(report.currentPriceVersion).toBe(2);
    const audit = await env.pool.query('SELECT 1 FROM audit_log WHERE org_id = $1 AND action = $2', [acme.org.id, 'prices.reprice']);
    expect(audit.rowCount).toBe(1);
    const cases: Array<[Json, number, string]> = [
      [{ from: '2026-11-01', to: '2026-11-30', version: 12 }, 404, 'version'],
      [{ from: '2026-13-01', to: '2026-11-30' }, 400, 'from'],
      [{ from: '2026-11-30', to: '2026-11-01' }, 400, 'to'],
      [{ from: '2025-01-01', to: '2026-01-02' }, 400, 'to'],
      [{ from: '2026-11-01', to: new Date().toISOString().slice(0, 10) }, 400, 'to'],
      [{ from: '2026-11-01' }, 400, 'to'],
    ];
    for (const [body, status, field] of cases) {
      const r = await reprice(body);
      expect([r.status, errorOf(r).field], JSON.stringify(body)).toEqual([status, field]);
    }
  });
});

describe('OpenAPI', () => {
  it('documents every data route with its parameters', () => {
    const paths = doc.paths as Record<string, Record<string, Json>>;
    for (const route of DATA_ROUTES) {
      const op = paths[`/api/v1${route.path.replace(/:(\w+)/g, '{$1}')}`]?.[route.method];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(op!['x-canopy-action']).toBe(route.action);
    }
    const search = paths['/api/v1/workspaces/{ws}/traces']!.get!;
    const names = (search.parameters as Array<{ name: string; in: string; required: boolean }>).filter((p) => p.in === 'query');
    expect(names.map((p) => p.name)).toEqual(expect.arrayContaining(['from', 'to', 'service', 'name', 'q', 'status', 'minDurationMs', 'maxDurationMs', 'sort', 'limit', 'cursor']));
    expect(names.filter((p) => p.required).map((p) => p.name).sort()).toEqual(['from', 'to']);
    expect(String(search.description)).toContain('attrNum.<key>');
  });
});

describe('limits are never silent', () => {
  it('flag a value cut at ingest with its true size and groups left out of a time series, in documented shapes', async () => {
    const org = await bootstrapOrganization(env.pool, { name: unique('cut'), workspaceSlugs: ['prod'] });
    await api.policy.reload();
    const ws = `/api/v1/workspaces/${org.workspaces[0]!.id}`;
    const as = { token: org.ownerToken };
    const cut = hex(0xe1, 32);
    await ingest(org, 0, request(cut, 'api', { prompt: 'é'.repeat(70_000) })); // 140 000 bytes, over the 128 KiB value limit
    await ingest(org, 0, request(hex(0xe2, 32), 'worker'));

    const detail = await api.request('GET', `${ws}/traces/${cut}`, { token: org.ownerToken });
    expect(detail.status).toBe(200);
    const [root, child] = (detail.json as { spans: Array<{ truncatedFields: unknown[]; attributes: Json }> }).spans;
    expect(root!.truncatedFields).toEqual([{ field: 'attributes.prompt', originalBytes: 140_000 }]);
    expect(root!.attributes.prompt).toMatch(/…\[truncated \d+ bytes\]$/);
    expect(child!.truncatedFields).toEqual([]);
    expectDocumented(detail, 'get', '/api/v1/workspaces/{ws}/traces/{traceId}');

    const series = await api.request('GET', `${ws}/analytics/timeseries?${range}&groupBy=service&metric=count&limit=1`, as);
    expect(series.status).toBe(200);
    expect(series.json).toMatchObject({ totalGroups: 2, truncated: true, series: [{ group: 'api' }] });
    expect((series.json as { series: unknown[] }).series).toHaveLength(1);
    expectDocumented(series, 'get', '/api/v1/workspaces/{ws}/analytics/timeseries');

    // a trace within the searched range is summarised whole, and says so
    const search = await api.request('GET', `${ws}/traces?${range}&service=api`, as);
    expect(search.json).toMatchObject({ traces: [{ traceId: cut, spanCount: 2, truncated: false, totalSpanCount: 2 }] });
    expectDocumented(search, 'get', '/api/v1/workspaces/{ws}/traces');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { decodeStoredAttributes, plainValue, sql } from '@canopy/core';
import { createTestEnv, createTestOrg, freePort, startNodeProcess, waitFor, waitForHttp, type NodeProcess, type TestEnv } from '@canopy/core/testing';

// The whole spine with real processes: the standard OTel Node SDK (configured only through
// the OTEL_* variables `npm start` prints) → collector → BullMQ → workers → ClickHouse.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVICE_FIXTURE = fileURLToPath(new URL('./fixtures/otel-service.mjs', import.meta.url));

let env: TestEnv;
let org: Awaited<ReturnType<typeof createTestOrg>>;
let port: number;
const processes: NodeProcess[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  org = await createTestOrg(env, ['dev', 'prod']);
  port = await freePort();
  const serviceEnv = { ...env.env, CANOPY_COLLECTOR_PORT: String(port), CANOPY_COLLECTOR_HOST: '127.0.0.1', CANOPY_BATCH_MAX_WAIT_MS: '50' };
  processes.push(startNodeProcess(`${ROOT}collector/dist/main.js`, serviceEnv), startNodeProcess(`${ROOT}workers/dist/main.js`, serviceEnv));
  await waitForHttp(`http://127.0.0.1:${port}/readyz`);
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await env?.cleanup();
});

interface ServiceRun {
  traceId: string;
  rootSpanId: string;
  childSpanId: string;
  grandchildSpanId: string;
  linkedTraceId: string;
  linkedSpanId: string;
}

async function runInstrumentedService(exporter: 'json' | 'proto', key: string, serviceName: string): Promise<ServiceRun> {
  const service = startNodeProcess(SERVICE_FIXTURE, {
    EXPORTER: exporter,
    OTEL_SERVICE_NAME: serviceName,
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer%20${key}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: exporter === 'proto' ? 'http/protobuf' : 'http/json',
  });
  const code = await service.exited;
  expect(code, service.output()).toBe(0);
  return JSON.parse(service.output().trim().split('\n').pop()!) as ServiceRun;
}

interface StoredSpan {
  org_id: string;
  workspace_id: string;
  timestamp: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  name: string;
  kind: number;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  duration_ns: string;
  status_code: number;
  status_message: string;
  service_name: string;
  resource_keys: string[];
  resource_types: number[];
  resource_values: string[];
  scope_name: string;
  scope_version: string;
  attr_keys: string[];
  attr_types: number[];
  attr_values: string[];
  attr_numbers: number[];
  events_name: string[];
  events_time_unix_nano: string[];
  events_attributes: string[];
  links_trace_id: string[];
  links_span_id: string[];
  links_attributes: string[];
}

async function storedSpans(workspaceId: string, traceId: string, expected: number): Promise<StoredSpan[]> {
  const scope = { orgId: org.orgId, workspaceIds: [workspaceId] };
  return waitFor(
    async () => {
      const rows = await env.clickhouse.query<StoredSpan>(scope, sql`SELECT * FROM spans WHERE ${sql.tenant(scope)} AND trace_id = ${traceId}`);
      return rows.length >= expected ? rows : null;
    },
    { timeoutMs: 30_000, what: `${expected} spans of trace ${traceId}` },
  );
}

const plainKeyValues = (json: string): Record<string, unknown> =>
  Object.fromEntries((JSON.parse(json) as Array<{ key: string; value: Record<string, unknown> }>).map((kv) => [kv.key, plainValue(kv.value)]));

function checkTrace(rows: StoredSpan[], run: ServiceRun, expected: { workspaceId: string; serviceName: string }): void {
  const { workspaceId, serviceName } = expected;
  expect(rows).toHaveLength(3);
  const byId = new Map(rows.map((r) => [r.span_id, r]));
  const root = byId.get(run.rootSpanId)!;
  const child = byId.get(run.childSpanId)!;
  const grandchild = byId.get(run.grandchildSpanId)!;
  for (const r of rows) {
    expect(r).toMatchObject({ org_id: org.orgId, workspace_id: workspaceId, service_name: serviceName, scope_name: 'canopy-e2e', scope_version: '1.2.3' });
    expect(BigInt(r.end_time_unix_nano)).toBeGreaterThanOrEqual(BigInt(r.start_time_unix_nano));
    expect(r.duration_ns).toBe((BigInt(r.end_time_unix_nano) - BigInt(r.start_time_unix_nano)).toString());
    expect(r.start_time_unix_nano).toMatch(/^\d{19}$/);
    expect(new Date(`${r.timestamp}Z`).getTime() / 1000).toBe(Number(BigInt(r.start_time_unix_nano) / 1_000_000_000n));
    const resource = decodeStoredAttributes(r.resource_keys, r.resource_types, r.resource_values);
    expect(resource).toMatchObject({ 'service.name': serviceName, 'telemetry.sdk.language': 'nodejs', 'telemetry.sdk.name': 'opentelemetry' });
  }
  expect(root).toMatchObject({ name: 'GET /checkout', kind: 2, parent_span_id: '', status_code: 0 });
  expect(decodeStoredAttributes(root.attr_keys, root.attr_types, root.attr_values)).toEqual({
    'http.method': 'GET',
    'http.status_code': 500,
    'cart.total': 12.75,
    'user.vip': true,
    'items.ids': [1, 2, 3],
    'items.names': ['apple', 'pear'],
    'items.weights': [0.5, 1.25],
    'items.flags': [true, false],
  });
  expect(root.attr_numbers[root.attr_keys.indexOf('http.status_code')]).toBe(500);

  expect(child).toMatchObject({ name: 'charge card', kind: 3, parent_span_id: run.rootSpanId, status_code: 2, status_message: 'card declined' });
  expect(child.events_name).toEqual(['retry']);
  expect(BigInt(child.events_time_unix_nano[0]!)).toBeGreaterThanOrEqual(BigInt(child.start_time_unix_nano));
  expect(plainKeyValues(child.events_attributes[0]!)).toEqual({ attempt: 2, 'retry.reason': 'timeout' });
  expect(child.links_trace_id).toEqual([run.linkedTraceId]);
  expect(child.links_span_id).toEqual([run.linkedSpanId]);
  expect(plainKeyValues(child.links_attributes[0]!)).toEqual({ 'link.reason': 'batch' });

  expect(grandchild).toMatchObject({ name: 'db query', kind: 1, parent_span_id: run.childSpanId });
  expect(decodeStoredAttributes(grandchild.attr_keys, grandchild.attr_types, grandchild.attr_values)).toEqual({ 'db.statement': "SELECT 'x'" });
}

describe('an OTel SDK service exporting to Canopy', () => {
  it('lands every field of a JSON export (exporter-trace-otlp-http) in ClickHouse, tagged with the key’s workspace', async () => {
    const ws = org.workspaces.dev!;
    const run = await runInstrumentedService('json', ws.ingestKey.key, 'checkout-json');
    checkTrace(await storedSpans(ws.id, run.traceId, 3), run, { workspaceId: ws.id, serviceName: 'checkout-json' });
    expect(await storedSpans(ws.id, run.linkedTraceId, 1)).toMatchObject([{ name: 'linked-producer', kind: 4 }]);
  });

  it('lands every field of a protobuf export (exporter-trace-otlp-proto) the same way', async () => {
    const ws = org.workspaces.dev!;
    const run = await runInstrumentedService('proto', ws.ingestKey.key, 'checkout-proto');
    checkTrace(await storedSpans(ws.id, run.traceId, 3), run, { workspaceId: ws.id, serviceName: 'checkout-proto' });
  });

  it('keeps two workspaces’ spans apart when each service uses its own key', async () => {
    const dev = org.workspaces.dev!;
    const prod = org.workspaces.prod!;
    const [devRun, prodRun] = await Promise.all([
      runInstrumentedService('proto', dev.ingestKey.key, 'svc-dev'),
      runInstrumentedService('json', prod.ingestKey.key, 'svc-prod'),
    ]);
    checkTrace(await storedSpans(dev.id, devRun.traceId, 3), devRun, { workspaceId: dev.id, serviceName: 'svc-dev' });
    checkTrace(await storedSpans(prod.id, prodRun.traceId, 3), prodRun, { workspaceId: prod.id, serviceName: 'svc-prod' });
    const scope = { orgId: org.orgId, workspaceIds: [dev.id, prod.id] };
    const placement = await env.clickhouse.query<{ workspace_id: string; service_name: string; n: string }>(
      scope,
      sql`SELECT workspace_id, service_name, count() AS n FROM spans WHERE ${sql.tenant(scope)} AND service_name IN ('svc-dev', 'svc-prod') GROUP BY workspace_id, service_name ORDER BY service_name`,
    );
    expect(placement).toEqual([
      { workspace_id: dev.id, service_name: 'svc-dev', n: '4' },
      { workspace_id: prod.id, service_name: 'svc-prod', n: '4' },
    ]);
  });

  it('counts exactly the stored spans in the daily usage rollup', async () => {
    const scope = { orgId: org.orgId, workspaceIds: [org.workspaces.dev!.id, org.workspaces.prod!.id] };
    // Every span sent above: 4 per service run, 4 runs. A read can fall between the spans
    // part and its views' parts of one insert, so wait for the whole count, then compare.
    const stored = await waitFor(async () => {
      const [row] = await env.clickhouse.query<{ n: string; bytes: string }>(scope, sql`SELECT count() AS n, sum(size_bytes) AS bytes FROM spans WHERE ${sql.tenant(scope)}`);
      return row?.n === '16' ? row : null;
    });
    const usage = await waitFor(async () => {
      const [row] = await env.clickhouse.query<{ n: string; bytes: string }>(scope, sql`SELECT sum(spans) AS n, sum(bytes) AS bytes FROM usage_daily WHERE ${sql.tenant(scope)}`);
      return row?.n === '16' ? row : null;
    });
    expect(usage).toEqual(stored);
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteWorkspace,
  loadUsageContext,
  normalizeTraceRequest,
  setOrgPrices,
  usageQuerySchema,
  usageReport,
  type OtlpTraceRequest,
  type UsageReport,
} from '@canopy/core';
import { createTestEnv, createTestOrg, type TestEnv } from '@canopy/core/testing';
import { runPricing, type PricingReport } from '../src/index.js';
import { quietLogger } from './helpers.js';

// The pricing job against the real ClickHouse and Postgres: closed days are priced once
// with the version current then, and spans that arrive after their day was priced are
// caught up with that day's version.

let env: TestEnv;
let orgId: string;
let prod: string;
let dev: string;
const owner = { type: 'user', id: 'usr_owner' } as const;
const hex = (n: number): string => randomBytes(n).toString('hex');

interface Call {
  model: string;
  input: number;
  output: number;
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
}

/** GenAI calls accepted at noon of `day` (UTC), written as the pipeline writes them. */
async function ingest(workspaceId: string, day: string, calls: Call[]): Promise<void> {
  const request: OtlpTraceRequest = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agent' } }] },
        scopeSpans: [
          {
            scope: { name: 'test' },
            spans: calls.map((c) => ({
              traceId: c.traceId ?? hex(16),
              spanId: c.spanId ?? hex(8),
              parentSpanId: c.parentSpanId ?? '',
              name: 'chat',
              kind: 1,
              startTimeUnixNano: `${Date.parse(`${day}T11:00:00Z`)}000000`,
              endTimeUnixNano: `${Date.parse(`${day}T11:00:01Z`)}000000`,
              attributes: [
                { key: 'gen_ai.request.model', value: { stringValue: c.model } },
                { key: 'gen_ai.usage.input_tokens', value: { intValue: c.input } },
                { key: 'gen_ai.usage.output_tokens', value: { intValue: c.output } },
              ],
            })),
          },
        ],
      },
    ],
  };
  const n = normalizeTraceRequest(request, { orgId, workspaceId, batchId: hex(8), ingestedAtSec: Date.parse(`${day}T12:00:00Z`) / 1000 });
  await env.clickhouse.insertJsonEachRow('spans', n.rows);
}

const run = (now: string): Promise<PricingReport> => runPricing({ clickhouse: env.clickhouse, pool: env.pool, logger: quietLogger() }, { now: new Date(now) });

async function stored(): Promise<Record<string, Array<[string, string, number]>>> {
  const { rows } = await env.pool.query<{ day: string; model: string; cost_pico: string; price_version: number }>(
    'SELECT day::text AS day, model, cost_pico::text AS cost_pico, price_version FROM genai_costs WHERE org_id = $1 ORDER BY day, workspace_id, model',
    [orgId],
  );
  const out: Record<string, Array<[string, string, number]>> = {};
  for (const r of rows) (out[r.day] ??= []).push([r.model, r.cost_pico, r.price_version]);
  return out;
}

async function pricedDays(): Promise<Record<string, number>> {
  const { rows } = await env.pool.query<{ day: string; price_version: number }>('SELECT day::text AS day, price_version FROM genai_cost_days WHERE org_id = $1 ORDER BY day', [orgId]);
  return Object.fromEntries(rows.map((r) => [r.day, r.price_version]));
}

async function november(): Promise<UsageReport> {
  const { scope, context } = await loadUsageContext(env.pool, orgId);
  return usageReport({ clickhouse: env.clickhouse, context }, scope, usageQuerySchema.parse({ from: '2026-11-01', to: '2026-12-01', groupBy: 'workspace,day' }));
}

const parent = { traceId: hex(16), spanId: hex(8) };

beforeAll(async () => {
  env = await createTestEnv();
  const org = await createTestOrg(env, ['prod', 'dev']);
  orgId = org.orgId;
  prod = org.workspaces.prod!.id;
  dev = org.workspaces.dev!.id;
  await ingest(prod, '2026-11-17', [{ model: 'gpt-4o', input: 1000, output: 100 }]);
  // a wrapper-like call whose child will only arrive after its day was priced
  await ingest(dev, '2026-11-18', [{ model: 'gpt-4o', input: 500, output: 50, ...parent }]);
  await ingest(prod, '2026-11-19', [{ model: 'claude-3-haiku', input: 4000, output: 400 }]);
  await ingest(prod, '2026-11-20', [{ model: 'gpt-4o', input: 2000, output: 200 }]);
});
afterAll(() => env?.cleanup());

describe('pricing job', () => {
  it('prices each closed day once, with the version current then, leaving today and a day not settled yet', async () => {
    // 00:30 on the 20th: the 19th ended half an hour ago, not yet settled
    const first = await run('2026-11-20T00:30:00Z');
    expect(first).toMatchObject({ daysPriced: 2, daysCaughtUp: 0, failedOrgs: [] });
    expect(await pricedDays()).toEqual({ '2026-11-17': 1, '2026-11-18': 1 });
    const second = await run('2026-11-20T06:00:00Z');
    expect(second).toMatchObject({ daysPriced: 1, daysCaughtUp: 0 });
    expect(await stored()).toEqual({
      '2026-11-17': [['gpt-4o', '3500000000', 1]],
      '2026-11-18': [['gpt-4o', '1750000000', 1]],
      '2026-11-19': [['claude-3-haiku', '1500000000', 1]],
    });
    // priced once: nothing to do on the next runs
    expect(await run('2026-11-20T07:00:00Z')).toMatchObject({ daysPriced: 0, daysCaughtUp: 0 });
    const audit = await env.pool.query("SELECT 1 FROM audit_log WHERE org_id = $1 AND action = 'costs.catch_up'", [orgId]);
    expect(audit.rowCount).toBe(0);
  });

  it('keeps stored days on their version when the prices change; the next day gets the new one', async () => {
    const before = await stored();
    await setOrgPrices(env.pool, owner, { orgId, prices: [{ model: 'gpt-4o', inputPerMillion: '1', outputPerMillion: '2' }] });
    expect(await run('2026-11-21T06:00:00Z')).toMatchObject({ daysPriced: 1, daysCaughtUp: 0 });
    expect(await stored()).toEqual({ ...before, '2026-11-20': [['gpt-4o', '2400000000', 2]] });
    const report = await november();
    expect(report.rows.map((r) => [r.day, r.costUsd, r.priceVersions, r.provisional])).toEqual([
      ['2026-11-17', '0.0035', [1], false],
      ['2026-11-18', '0.00175', [1], false],
      ['2026-11-19', '0.0015', [1], false],
      ['2026-11-20', '0.0024', [2], false],
    ]);
  });

  it('catches up spans that arrived after their day was priced with that day’s version, audited', async () => {
    // late: another call on the 17th, and the child of the 18th's call (the parent no longer counts)
    await ingest(prod, '2026-11-17', [{ model: 'gpt-4o', input: 1000, output: 100 }]);
    await ingest(dev, '2026-11-18', [{ model: 'gpt-4o-mini', input: 300, output: 30, traceId: parent.traceId, parentSpanId: parent.spanId }]);
    // the report shows the late tokens at once, priced with the day's version, as not final
    const pending = await november();
    expect(pending.rows.slice(0, 2).map((r) => [r.day, r.calls, r.costUsd, r.priceVersions, r.provisional])).toEqual([
      ['2026-11-17', 2, '0.007', [1], true],
      ['2026-11-18', 1, '0.000063', [1], true],
    ]);

    expect(await run('2026-11-21T06:15:00Z')).toMatchObject({ daysPriced: 0, daysCaughtUp: 2 });
    // version 1, although version 2 is current: only a re-price moves a day to another version
    const now = await stored();
    expect(now['2026-11-17']).toEqual([['gpt-4o', '7000000000', 1]]);
    expect(now['2026-11-18']).toEqual([['gpt-4o-mini', '63000000', 1]]);
    expect(await pricedDays()).toMatchObject({ '2026-11-17': 1, '2026-11-18': 1, '2026-11-20': 2 });
    const final = await november();
    expect(final.rows.slice(0, 2).map((r) => [r.costUsd, r.provisional])).toEqual([
      ['0.007', false],
      ['0.000063', false],
    ]);

    const { rows: audit } = await env.pool.query<{ actor_type: string; actor_id: string; target_id: string; before: unknown; after: unknown }>(
      "SELECT actor_type, actor_id, target_id, before, after FROM audit_log WHERE org_id = $1 AND action = 'costs.catch_up'",
      [orgId],
    );
    expect(audit).toEqual([
      {
        actor_type: 'system',
        actor_id: 'pricing',
        target_id: '2026-11-17..2026-11-18',
        before: { days: { '2026-11-17': { version: 1, costUsd: '0.0035' }, '2026-11-18': { version: 1, costUsd: '0.00175' } } },
        after: { days: { '2026-11-17': { version: 1, costUsd: '0.007' }, '2026-11-18': { version: 1, costUsd: '0.000063' } } },
      },
    ]);
    expect(await run('2026-11-21T06:30:00Z')).toMatchObject({ daysPriced: 0, daysCaughtUp: 0 });
  });

  it('keeps the stored costs of a deleted workspace', async () => {
    await deleteWorkspace(env.pool, owner, { orgId, workspaceId: dev });
    expect(await run('2026-11-21T07:00:00Z')).toMatchObject({ daysPriced: 0, daysCaughtUp: 0 });
    expect((await stored())['2026-11-18']).toEqual([['gpt-4o-mini', '63000000', 1]]);
  });

  it('prices a day whose model names are 5,000 characters long or hold NUL (as the usage report names them)', async () => {
    const long = `acme-${'x'.repeat(4995)}`;
    await ingest(prod, '2026-11-22', [
      { model: long, input: 10, output: 1 },
      { model: 'gpt-4o\u0000-mini', input: 1_000_000, output: 0 },
    ]);
    expect(await run('2026-11-23T06:00:00Z')).toMatchObject({ failedOrgs: [] });
    expect(await pricedDays()).toMatchObject({ '2026-11-22': 2 });
    expect((await stored())['2026-11-22']).toEqual([
      [`acme-${'x'.repeat(195)}…[truncated 4800 bytes]`, '0', 2],
      ['gpt-4o-mini', '150000000000', 2],
    ]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadUsageContext,
  repriceCosts,
  setOrgPrices,
  usageQuerySchema,
  usageReport,
  usageReportSchema,
  usageToCsv,
  type UsageReport,
} from '../../src/index.js';
import { createTestEnv, createTestOrg, type TestEnv } from '../../src/testing/index.js';
import { csvRecords, insertSpans, newSpanId, newTraceId, type SpanSpec } from './helpers.js';

// Stored GenAI costs through the explicit re-price, and how the finance report reads them.

let env: TestEnv;
let orgId: string;
let prod: string;
let dev: string;
const owner = { type: 'user', id: 'usr_owner' } as const;
const DAY1 = '2026-11-10';
const DAY2 = '2026-11-11';
const sec = (day: string): number => Date.parse(`${day}T12:00:00Z`) / 1000;
const today = (): string => new Date().toISOString().slice(0, 10);

const call = (model: string, input: number, output: number): SpanSpec => ({
  traceId: newTraceId(),
  spanId: newSpanId(),
  name: 'chat',
  service: 'agent',
  startMs: Date.UTC(2026, 10, 10, 11),
  durationMs: 5,
  attrs: { 'gen_ai.request.model': model, 'gen_ai.usage.input_tokens': input, 'gen_ai.usage.output_tokens': output },
});

async function report(query: Record<string, string>): Promise<UsageReport> {
  const { scope, context } = await loadUsageContext(env.pool, orgId);
  const r = await usageReport({ clickhouse: env.clickhouse, context }, scope, usageQuerySchema.parse(query));
  expect(usageReportSchema.parse(r)).toEqual(r);
  return r;
}
const november = (groupBy = 'workspace,day'): Promise<UsageReport> => report({ from: DAY1, to: '2026-11-12', groupBy });

const stored = async (): Promise<Array<{ workspace_id: string; day: string; model: string; cost_pico: string; price_version: number }>> =>
  (
    await env.pool.query(
      'SELECT workspace_id, day::text AS day, model, cost_pico::text AS cost_pico, price_version FROM genai_costs WHERE org_id = $1 ORDER BY day, workspace_id, model',
      [orgId],
    )
  ).rows;

beforeAll(async () => {
  env = await createTestEnv();
  const org = await createTestOrg(env, ['prod', 'dev']);
  orgId = org.orgId;
  prod = org.workspaces.prod!.id;
  dev = org.workspaces.dev!.id;
  await insertSpans(env, { orgId, workspaceId: prod, ingestedAtSec: sec(DAY1) }, [call('gpt-4o', 1000, 100), call('gpt-4o-2024-08-06', 1000, 100)]);
  await insertSpans(env, { orgId, workspaceId: dev, ingestedAtSec: sec(DAY2) }, [call('claude-3-haiku', 4000, 400), call('acme-7b', 10, 10)]);
});
afterAll(() => env?.cleanup());

describe('stored GenAI costs and re-pricing', () => {
  it('computes closed days that are not priced yet with the current version, provisional', async () => {
    const r = await november();
    expect(r.currentPriceVersion).toBe(1);
    expect(r.rows.map((x) => [x.day, x.workspaceSlug, x.costUsd, x.priceVersions, x.provisional])).toEqual([
      [DAY1, 'prod', '0.007', [1], true],
      [DAY2, 'dev', '0.0015', [1], true],
    ]);
    expect(await stored()).toEqual([]);
  });

  it('stores the costs of a period with an explicit re-price, audited, and the report then reads them as final', async () => {
    const result = await repriceCosts({ pg: env.pool, clickhouse: env.clickhouse }, owner, { orgId, from: DAY1, to: DAY2 });
    expect(result).toEqual({ from: DAY1, to: DAY2, version: 1, days: 2, before: { costUsd: '0.00', priceVersions: [] }, after: { costUsd: '0.0085' } });
    // 1000 × $2.50 + 100 × $10 per million, twice (both names match gpt-4o)
    expect(await stored()).toEqual([
      { workspace_id: prod, day: DAY1, model: 'gpt-4o', cost_pico: '3500000000', price_version: 1 },
      { workspace_id: prod, day: DAY1, model: 'gpt-4o-2024-08-06', cost_pico: '3500000000', price_version: 1 },
      { workspace_id: dev, day: DAY2, model: 'acme-7b', cost_pico: '0', price_version: 1 },
      { workspace_id: dev, day: DAY2, model: 'claude-3-haiku', cost_pico: '1500000000', price_version: 1 },
    ]);
    const r = await november('workspace,day,model');
    expect(r.rows.filter((x) => x.calls > 0).map((x) => [x.model, x.costUsd, x.priceVersions, x.provisional])).toEqual([
      ['gpt-4o', '0.0035', [1], false],
      ['gpt-4o-2024-08-06', '0.0035', [1], false],
      ['acme-7b', '0.00', [1], false],
      ['claude-3-haiku', '0.0015', [1], false],
    ]);
    expect(r.unpricedModels).toEqual(['acme-7b']);
    expect(r.totals).toMatchObject({ costUsd: '0.0085', priceVersions: [1], provisional: false });
  });

  it('keeps stored costs when the prices change; only a re-price with the new version changes them, audited with before and after', async () => {
    const v2 = await setOrgPrices(env.pool, owner, { orgId, prices: [{ model: 'gpt-4o', inputPerMillion: '1', outputPerMillion: '2' }] });
    expect(v2.version).toBe(2);
    const kept = await november();
    expect(kept.totals).toMatchObject({ costUsd: '0.0085', priceVersions: [1], provisional: false });
    expect(kept.currentPriceVersion).toBe(2);

    const result = await repriceCosts({ pg: env.pool, clickhouse: env.clickhouse }, owner, { orgId, from: DAY1, to: DAY1, version: 2 });
    // 1000 × $1 + 100 × $2 per million, twice
    expect(result).toEqual({ from: DAY1, to: DAY1, version: 2, days: 1, before: { costUsd: '0.007', priceVersions: [1] }, after: { costUsd: '0.0024' } });
    const after = await november();
    expect(after.rows.map((x) => [x.day, x.costUsd, x.priceVersions, x.provisional])).toEqual([
      [DAY1, '0.0024', [2], false],
      [DAY2, '0.0015', [1], false],
    ]);
    expect(after.totals).toMatchObject({ costUsd: '0.0039', priceVersions: [1, 2], provisional: false });
    const csv = csvRecords(usageToCsv(after));
    expect(csv.map((x) => [x.price_versions, x.provisional])).toEqual([
      ['2', 'false'],
      ['1', 'false'],
    ]);
    expect(csvRecords(usageToCsv(await report({ from: DAY1, to: '2026-11-12', groupBy: 'none' })))[0]).toMatchObject({ price_versions: '1;2' });

    const { rows: audit } = await env.pool.query<{ actor_id: string; target_id: string; before: unknown; after: unknown }>(
      "SELECT actor_id, target_id, before, after FROM audit_log WHERE org_id = $1 AND action = 'prices.reprice' ORDER BY id",
      [orgId],
    );
    expect(audit).toHaveLength(2);
    expect(audit[1]).toEqual({
      actor_id: 'usr_owner',
      target_id: `${DAY1}..${DAY1}`,
      before: { priceVersions: [1], costUsd: '0.007', workspaces: { [prod]: '0.007' } },
      after: { version: 2, days: 1, costUsd: '0.0024', workspaces: { [prod]: '0.0024' } },
    });
  });

  it('splits a stored cost by service exactly', async () => {
    await insertSpans(env, { orgId, workspaceId: dev, ingestedAtSec: sec(DAY2) }, [{ ...call('claude-3-haiku', 2000, 200), service: 'batch' }]);
    await repriceCosts({ pg: env.pool, clickhouse: env.clickhouse }, owner, { orgId, from: DAY2, to: DAY2, version: 1 });
    const r = await report({ from: DAY2, to: '2026-11-12', groupBy: 'service,model' });
    expect(r.rows.filter((x) => x.calls > 0).map((x) => [x.service, x.model, x.costUsd, x.provisional])).toEqual([
      ['agent', 'acme-7b', '0.00', false],
      ['agent', 'claude-3-haiku', '0.0015', false],
      ['batch', 'claude-3-haiku', '0.00075', false],
    ]);
    expect(r.totals.costUsd).toBe('0.00225');
  });

  it('marks today provisional and computes it with the current version', async () => {
    await insertSpans(env, { orgId, workspaceId: prod }, [call('gpt-4o', 1000, 100)]);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const r = await report({ from: DAY1, to: tomorrow, groupBy: 'day' });
    const last = r.rows[r.rows.length - 1]!;
    expect(last).toMatchObject({ day: today(), costUsd: '0.0012', priceVersions: [2], provisional: true });
    expect(r.rows[0]).toMatchObject({ day: DAY1, provisional: false });
    expect(r.totals).toMatchObject({ priceVersions: [1, 2], provisional: true });
  });

  it('keeps money exact where floating point would not be', async () => {
    const { orgId: tinyOrg, workspaces } = await createTestOrg(env, ['w']);
    await setOrgPrices(env.pool, owner, { orgId: tinyOrg, prices: [{ model: 'tiny', inputPerMillion: '1.234567', outputPerMillion: '0.000001' }] });
    const calls = Array.from({ length: 3000 }, () => call('tiny', 1, 1));
    await insertSpans(env, { orgId: tinyOrg, workspaceId: workspaces.w!.id, ingestedAtSec: sec(DAY1) }, calls);
    let float = 0;
    for (let i = 0; i < calls.length; i++) float += (1 * 1.234567 + 1 * 0.000001) / 1e6;
    // 3000 × (1.234567 + 0.000001) µUSD = 0.003703704 USD; the float sum misses it
    expect(float).not.toBe(0.003703704);
    const result = await repriceCosts({ pg: env.pool, clickhouse: env.clickhouse }, owner, { orgId: tinyOrg, from: DAY1, to: DAY1 });
    expect(result.after.costUsd).toBe('0.003703704');
    const { rows } = await env.pool.query<{ cost_pico: string }>('SELECT cost_pico::text AS cost_pico FROM genai_costs WHERE org_id = $1', [tinyOrg]);
    expect(rows).toEqual([{ cost_pico: '3703704000' }]);
  });

  it('refuses an unknown version, bad days, open days and too long a range, naming the parameter', async () => {
    const reprice = (input: Record<string, unknown>) => repriceCosts({ pg: env.pool, clickhouse: env.clickhouse }, owner, { orgId, ...input } as never);
    await expect(reprice({ from: DAY1, to: DAY2, version: 9 })).rejects.toMatchObject({ code: 'not_found', field: 'version', message: 'price table version 9 not found' });
    await expect(reprice({ from: '2026-11-31', to: DAY2 })).rejects.toMatchObject({ code: 'invalid', field: 'from' });
    await expect(reprice({ from: '11/10/2026', to: DAY2 })).rejects.toMatchObject({ code: 'invalid', field: 'from' });
    await expect(reprice({ from: DAY2, to: DAY1 })).rejects.toMatchObject({ code: 'invalid', field: 'to' });
    await expect(reprice({ from: DAY1, to: today() })).rejects.toMatchObject({ code: 'invalid', field: 'to' });
    await expect(reprice({ from: '2025-01-01', to: '2026-01-02' })).rejects.toMatchObject({ code: 'invalid', field: 'to' });
    await expect(reprice({ from: DAY1, to: DAY2, version: 0 })).rejects.toMatchObject({ code: 'invalid', field: 'version' });
  });
});

describe('model names a stored cost cannot hold as they are', () => {
  const long = `acme-${'x'.repeat(4995)}`; // 5,000 characters, over a Postgres index row
  const capped = `acme-${'x'.repeat(195)}…[truncated 4800 bytes]`;

  it('stores and reports a 5,000-character model name cut to 200 characters and marked, and one with NUL without it', async () => {
    const { orgId: odd, workspaces } = await createTestOrg(env, ['w']);
    const ws = workspaces.w!.id;
    await insertSpans(env, { orgId: odd, workspaceId: ws, ingestedAtSec: sec(DAY1) }, [call(long, 10, 1), call(long, 20, 2), call('gpt-4o\u0000-mini', 1_000_000, 0)]);
    const result = await repriceCosts({ pg: env.pool, clickhouse: env.clickhouse }, owner, { orgId: odd, from: DAY1, to: DAY1 });
    expect(result.after.costUsd).toBe('0.15'); // 1M input tokens of gpt-4o-mini at $0.15
    const { rows } = await env.pool.query<{ model: string; calls: string; input_tokens: string }>(
      'SELECT model, calls::text, input_tokens::text FROM genai_costs WHERE org_id = $1 ORDER BY model',
      [odd],
    );
    expect(rows).toEqual([
      { model: capped, calls: '2', input_tokens: '30' },
      { model: 'gpt-4o-mini', calls: '1', input_tokens: '1000000' },
    ]);
    // the usage report groups by the same names, and reads the stored costs as final
    const { scope, context } = await loadUsageContext(env.pool, odd);
    const r = await usageReport({ clickhouse: env.clickhouse, context }, scope, usageQuerySchema.parse({ from: DAY1, to: DAY2, groupBy: 'model' }));
    expect(r.rows.filter((x) => x.calls > 0).map((x) => [x.model, x.calls, x.costUsd, x.provisional])).toEqual([
      [capped, 2, '0.00', false],
      ['gpt-4o-mini', 1, '0.15', false],
    ]);
  });

  it('answers a Postgres refusal while re-pricing as a conflict, and a Postgres that cannot answer as unavailable', async () => {
    const { orgId: refused, workspaces } = await createTestOrg(env, ['w']);
    await insertSpans(env, { orgId: refused, workspaceId: workspaces.w!.id, ingestedAtSec: sec(DAY1) }, [call('gpt-4o', 10, 1)]);
    // Postgres refusing this organization's cost rows with a given SQLSTATE: 54000 is what a
    // key over the index row limit gets, 57P01 what a shutdown does.
    const refuseWith = (sqlState: string): Promise<unknown> =>
      env.pool.query(`CREATE OR REPLACE FUNCTION test_refuse_costs() RETURNS trigger AS $$
        BEGIN
          IF NEW.org_id = '${refused}' THEN RAISE EXCEPTION 'refused for the test' USING ERRCODE = '${sqlState}'; END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql`);
    await refuseWith('54000');
    await env.pool.query('CREATE TRIGGER test_refuse_costs BEFORE INSERT ON genai_costs FOR EACH ROW EXECUTE FUNCTION test_refuse_costs()');
    try {
      const reprice = (): Promise<unknown> => repriceCosts({ pg: env.pool, clickhouse: env.clickhouse }, owner, { orgId: refused, from: DAY1, to: DAY1 });
      await expect(reprice()).rejects.toMatchObject({ name: 'TenancyError', code: 'conflict', message: expect.stringContaining('SQLSTATE 54000') });
      await refuseWith('57P01');
      await expect(reprice()).rejects.toMatchObject({ name: 'StorageError', code: 'postgres_unavailable' });
    } finally {
      await env.pool.query('DROP TRIGGER test_refuse_costs ON genai_costs');
      await env.pool.query('DROP FUNCTION test_refuse_costs()');
    }
    // nothing was stored by the refused attempts
    expect((await env.pool.query('SELECT 1 FROM genai_costs WHERE org_id = $1', [refused])).rowCount).toBe(0);
  });
});

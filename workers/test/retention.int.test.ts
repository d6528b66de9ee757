import { randomBytes } from 'node:crypto';
import { AllTenants, groupsToJsonEachRow, listAudit, newId, normalizeTraceRequest, sql, updateWorkspace, type AuditEntry, type OtlpSpan } from '@canopy/core';
import { createTestEnv, createTestOrg, type TestEnv } from '@canopy/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETENTION_ACTOR, runRetention, type RetentionReport } from '../src/index.js';
import { quietLogger } from './helpers.js';

// A clock we control: "now" is 2025-06-15 12:00 UTC; spans are written at fixed days around it.
const NOW = new Date('2025-06-15T12:00:00Z');
const DAYS = ['2025-05-01', '2025-05-20', '2025-06-05', '2025-06-14'] as const;
type Day = (typeof DAYS)[number];
const SPANS_PER_DAY = 5;

let env: TestEnv;
let org1: Awaited<ReturnType<typeof createTestOrg>>;
let org2: Awaited<ReturnType<typeof createTestOrg>>;
/** workspace id → who it is in this test */
const ws: Record<'short' | 'long' | 'mid' | 'gone', { orgId: string; id: string }> = {} as never;

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** Spans at noon of `day`, one of them a GenAI call (so genai_spans, a billing table, gets a row too). */
async function writeSpans(target: { orgId: string; id: string }, day: Day): Promise<void> {
  const startNs = BigInt(Date.parse(`${day}T12:00:00Z`)) * 1_000_000n;
  const traceId = hex(16);
  const spans: OtlpSpan[] = Array.from({ length: SPANS_PER_DAY }, (_, i) => ({
    traceId,
    spanId: hex(8),
    name: `op-${i}`,
    kind: 1,
    startTimeUnixNano: String(startNs + BigInt(i) * 1_000_000n),
    endTimeUnixNano: String(startNs + BigInt(i + 1) * 1_000_000n),
    attributes: i === 0 ? [{ key: 'gen_ai.usage.input_tokens', value: { intValue: '100' } }] : [],
  }));
  const normalized = normalizeTraceRequest(
    { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ spans }] }] },
    { orgId: target.orgId, workspaceId: target.id, batchId: newId('batch'), ingestedAtSec: Math.floor(Date.now() / 1000) },
  );
  await env.clickhouse.insertJsonEachRow('spans', groupsToJsonEachRow(normalized.groups));
}

/** Days (YYYY-MM-DD) a workspace has spans on, and its trace index days. */
async function daysOf(target: { orgId: string; id: string }): Promise<{ spans: string[]; traceIndex: string[] }> {
  const scope = { orgId: target.orgId, workspaceIds: [target.id] };
  const spans = await env.clickhouse.query<{ d: string; n: string }>(
    scope,
    sql`SELECT toString(toDate(timestamp)) AS d, count() AS n FROM spans WHERE ${sql.tenant(scope)} GROUP BY d ORDER BY d`,
  );
  for (const r of spans) expect(Number(r.n), `${target.id} ${r.d}`).toBe(SPANS_PER_DAY);
  const index = await env.clickhouse.query<{ d: string }>(scope, sql`SELECT DISTINCT toString(day) AS d FROM trace_index WHERE ${sql.tenant(scope)} ORDER BY d`);
  return { spans: spans.map((r) => r.d), traceIndex: index.map((r) => r.d) };
}

/** Everything billing reads, per workspace: usage_daily and genai_spans. */
async function billing(): Promise<unknown> {
  const usage = await env.clickhouse.query(AllTenants, sql`SELECT org_id, workspace_id, sum(spans) AS spans, sum(bytes) AS bytes FROM usage_daily WHERE ${sql.allTenants()} GROUP BY org_id, workspace_id ORDER BY org_id, workspace_id`);
  const genai = await env.clickhouse.query(AllTenants, sql`SELECT org_id, workspace_id, count() AS calls, sum(input_tokens) AS tokens FROM genai_spans WHERE ${sql.allTenants()} GROUP BY org_id, workspace_id ORDER BY org_id, workspace_id`);
  return { usage, genai };
}

async function partitions(table: string): Promise<string[]> {
  const rows = await env.clickhouse.query<{ partition: string }>(
    AllTenants,
    sql`SELECT DISTINCT partition FROM system.parts WHERE database = ${env.clickhouse.database} AND table = ${table} AND active ORDER BY partition`,
  );
  return rows.map((r) => r.partition);
}

async function purgeEntries(orgId: string): Promise<AuditEntry[]> {
  return (await listAudit(env.pool, orgId, { action: 'retention.purge' })).entries;
}

const deps = () => ({ clickhouse: env.clickhouse, pool: env.pool, logger: quietLogger() });
let billingBefore: unknown;
let first: RetentionReport;

beforeAll(async () => {
  env = await createTestEnv();
  org1 = await createTestOrg(env, ['short', 'long', 'gone']);
  org2 = await createTestOrg(env, ['mid']);
  ws.short = { orgId: org1.orgId, id: org1.workspaces.short!.id };
  ws.long = { orgId: org1.orgId, id: org1.workspaces.long!.id };
  ws.gone = { orgId: org1.orgId, id: org1.workspaces.gone!.id };
  ws.mid = { orgId: org2.orgId, id: org2.workspaces.mid!.id };
  const actor = { type: 'system' as const, id: 'test' };
  await updateWorkspace(env.pool, actor, { orgId: ws.short.orgId, workspaceId: ws.short.id, retentionDays: 7 });
  await updateWorkspace(env.pool, actor, { orgId: ws.long.orgId, workspaceId: ws.long.id, retentionDays: 30 });
  await updateWorkspace(env.pool, actor, { orgId: ws.mid.orgId, workspaceId: ws.mid.id, retentionDays: 14 });
  for (const target of [ws.short, ws.long, ws.mid, ws.gone]) for (const day of DAYS) await writeSpans(target, day);
  // A workspace deleted since it sent spans: Postgres no longer knows its retention.
  await env.pool.query('DELETE FROM workspaces WHERE id = $1', [ws.gone.id]);
  billingBefore = await billing();
  first = await runRetention(deps(), { now: NOW, pollIntervalMs: 100 });
});
afterAll(async () => {
  await env?.cleanup();
});

describe('retention', () => {
  it('drops the day partitions older than the longest retention (30 days) from spans and trace_index, for every tenant', async () => {
    expect(first.dropBefore).toBe('2025-05-16T00:00:00.000Z');
    expect(first.partitionsDropped).toEqual({ spans: ['20250501'], trace_index: ['20250501'] });
    expect(await partitions('spans')).toEqual(['20250520', '20250605', '20250614']);
    expect(await partitions('trace_index')).toEqual(['20250520', '20250605', '20250614']);
    expect(await daysOf(ws.gone)).toEqual({ spans: ['2025-05-20', '2025-06-05', '2025-06-14'], traceIndex: ['2025-05-20', '2025-06-05', '2025-06-14'] });
  });

  it('deletes the older rows of workspaces with a shorter retention and keeps the fresh ones', async () => {
    expect(first).toMatchObject({ deletesDeferred: false, mutationsDone: true });
    expect(first.deleteStatements).toBe(2); // one DELETE per table for both short workspaces
    expect(await daysOf(ws.short)).toEqual({ spans: ['2025-06-14'], traceIndex: ['2025-06-14'] }); // 7 days: cut at 06-08
    expect(await daysOf(ws.mid)).toEqual({ spans: ['2025-06-05', '2025-06-14'], traceIndex: ['2025-06-05', '2025-06-14'] }); // 14 days: cut at 06-01
    expect(await daysOf(ws.long)).toEqual({ spans: ['2025-05-20', '2025-06-05', '2025-06-14'], traceIndex: ['2025-05-20', '2025-06-05', '2025-06-14'] });
  });

  it('leaves usage rollups and GenAI usage untouched: billing outlives span retention', async () => {
    expect(await billing()).toEqual(billingBefore);
    const usage = await env.clickhouse.query<{ spans: string }>(AllTenants, sql`SELECT sum(spans) AS spans FROM usage_daily WHERE ${sql.allTenants()}`);
    expect(Number(usage[0]?.spans)).toBe(4 * DAYS.length * SPANS_PER_DAY);
  });

  it('writes one audit entry per workspace that lost data, as the system actor "retention"', async () => {
    const byTarget = (entries: AuditEntry[]) => Object.fromEntries(entries.map((e) => [e.targetId, e]));
    const org1Entries = byTarget(await purgeEntries(org1.orgId));
    expect(Object.keys(org1Entries).sort()).toEqual([ws.short.id, ws.long.id, ws.gone.id].sort());
    for (const e of Object.values(org1Entries)) expect(e).toMatchObject({ actorType: RETENTION_ACTOR.type, actorId: RETENTION_ACTOR.id, action: 'retention.purge', targetType: 'workspace' });
    expect(org1Entries[ws.short.id]!.after).toEqual({ retentionDays: 7, cutoff: '2025-06-08T00:00:00.000Z', partitionsDropped: ['20250501'], rowsDeleted: 3 * SPANS_PER_DAY });
    expect(org1Entries[ws.long.id]!.after).toEqual({ retentionDays: 30, cutoff: '2025-05-16T00:00:00.000Z', partitionsDropped: ['20250501'], rowsDeleted: SPANS_PER_DAY });
    expect(org1Entries[ws.gone.id]!.after).toEqual({ retentionDays: null, cutoff: '2025-05-16T00:00:00.000Z', partitionsDropped: ['20250501'], rowsDeleted: SPANS_PER_DAY });
    const org2Entries = await purgeEntries(org2.orgId);
    expect(org2Entries.map((e) => [e.targetId, e.after])).toEqual([
      [ws.mid.id, { retentionDays: 14, cutoff: '2025-06-01T00:00:00.000Z', partitionsDropped: ['20250501'], rowsDeleted: 2 * SPANS_PER_DAY }],
    ]);
  });

  it('removes nothing and audits nothing when run again with the same clock', async () => {
    const again = await runRetention(deps(), { now: NOW, pollIntervalMs: 100 });
    expect(again).toMatchObject({ partitionsDropped: { spans: [], trace_index: [] }, deleteStatements: 0, workspaces: [] });
    expect(await purgeEntries(org1.orgId)).toHaveLength(3);
  });

  it('follows the clock: a day later the next day ages out of the 7-day workspace only', async () => {
    await writeSpans(ws.short, '2025-06-14');
    const later = await runRetention(deps(), { now: new Date('2025-06-22T00:30:00Z'), pollIntervalMs: 100 });
    // 06-22 minus 7 days = 06-15: both batches of 06-14 go; 30 days = 05-23: the 05-20 partition goes for everyone.
    expect(later.partitionsDropped.spans).toEqual(['20250520']);
    expect(await daysOf(ws.short)).toEqual({ spans: [], traceIndex: [] });
    expect(await daysOf(ws.mid)).toEqual({ spans: ['2025-06-14'], traceIndex: ['2025-06-14'] });
    expect(later.workspaces.find((w) => w.workspaceId === ws.short.id)).toMatchObject({ rowsDeleted: 2 * SPANS_PER_DAY, partitionsDropped: [] });
  });
});

import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  addMember,
  bootstrapOrganization,
  cellField,
  createRedis,
  flushLedger,
  markPending,
  newId,
  normalizeTraceRequest,
  recordRefusals,
  saveReconciliation,
  setWorkspaceMember,
  type BootstrapResult,
  type LedgerCell,
  type RedisClient,
} from '@canopy/core';
import { createTestEnv, type TestEnv } from '@canopy/core/testing';
import { createQueryApi } from '@canopy/query-api';
import { errorOf, silentLog, startApi, SYSTEM, unique, userWithToken, type Reply, type RunningApi } from '../helpers.js';

// GET /workspaces/:ws/ingest and GET /orgs/:org/ingest over real counts: accepted and
// refused in Postgres (flushed from Redis), stored in ClickHouse, dead letters, pending
// batches in Redis, reconciliation rows.

type Json = Record<string, unknown>;

let env: TestEnv;
let api: RunningApi;
let redis: RedisClient;
let acme: BootstrapResult;
let other: BootstrapResult;
let viewer: string;
let doc: Json;
const M = Date.UTC(2026, 10, 2, 10, 5);
const M1 = M + 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const range = `from=${iso(M)}&to=${M + 10 * 60_000}`;

const prodOf = (o: BootstrapResult): { orgId: string; workspaceId: string } => ({ orgId: o.org.id, workspaceId: o.workspaces[0]!.id });
const devOf = (o: BootstrapResult): { orgId: string; workspaceId: string } => ({ orgId: o.org.id, workspaceId: o.workspaces[1]!.id });

async function accepted(tenant: { orgId: string; workspaceId: string }, at: { minuteMs: number; keyId: string; spans: number }): Promise<void> {
  const cell: LedgerCell = { ...tenant, minuteMs: at.minuteMs, keyId: at.keyId, kind: 'accepted', measure: 'spans' };
  await redis.hincrby(`${env.config.redis.queuePrefix}:ledger:live`, cellField(cell), at.spans);
}

async function stored(tenant: { orgId: string; workspaceId: string }, at: { minuteMs: number; keyId: string; spans: number }): Promise<void> {
  const spans = Array.from({ length: at.spans }, (_, i) => ({ traceId: 'ab'.repeat(16), spanId: (i + 1).toString(16).padStart(16, '0'), name: 'op', startTimeUnixNano: '1700000000000000000' }));
  const n = normalizeTraceRequest({ resourceSpans: [{ scopeSpans: [{ spans }] }] }, { ...tenant, keyId: at.keyId, batchId: newId('batch'), ingestedAtSec: at.minuteMs / 1000 + 7 });
  await env.clickhouse.insertJsonEachRow('spans', n.rows);
}

async function deadLetter(tenant: { orgId: string; workspaceId: string }, at: { minuteMs: number; keyId: string; spans: number; status: 'open' | 'discarded' | 'replayed' }): Promise<void> {
  await env.pool.query(
    `INSERT INTO dead_letters (id, org_id, workspace_id, key_id, batch_id, received_at, spans, bytes, attempts, error_code, error_message, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 3, 'clickhouse_rejected', 'refused', $8)`,
    [newId('batch'), tenant.orgId, tenant.workspaceId, at.keyId, newId('batch'), new Date(at.minuteMs + 30_000), at.spans, at.status],
  );
}

beforeAll(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  redis = createRedis(env.config.redis.url, { forWorker: true });
  acme = await bootstrapOrganization(env.pool, { name: unique('acme'), workspaceSlugs: ['prod', 'dev'] });
  other = await bootstrapOrganization(env.pool, { name: unique('other'), workspaceSlugs: ['prod', 'dev'] });
  const v = await userWithToken(env.pool, 'viewer');
  await addMember(env.pool, SYSTEM, { orgId: acme.org.id, userId: v.id, role: 'member' });
  await setWorkspaceMember(env.pool, SYSTEM, { orgId: acme.org.id, workspaceId: prodOf(acme).workspaceId, userId: v.id, role: 'viewer' });
  viewer = v.token;
  await api.policy.reload();

  const prod = prodOf(acme);
  // minute M: key k1 10 accepted and stored, 2 invalid, 7 over quota; key k2 5 accepted: 2 stored, 1 dead letter open, 1 discarded, 1 still queued
  await accepted(prod, { minuteMs: M, keyId: 'k1', spans: 10 });
  await accepted(prod, { minuteMs: M, keyId: 'k2', spans: 5 });
  await recordRefusals(redis, env.config.redis.queuePrefix, { slot: { ...prod, minuteMs: M, keyId: 'k1' }, counts: { rejected_invalid: { spans: 2, requests: 1 }, rejected_quota: { spans: 7, requests: 1 } } });
  await stored(prod, { minuteMs: M, keyId: 'k1', spans: 10 });
  await stored(prod, { minuteMs: M, keyId: 'k2', spans: 2 });
  await deadLetter(prod, { minuteMs: M, keyId: 'k2', spans: 1, status: 'open' });
  await deadLetter(prod, { minuteMs: M, keyId: 'k2', spans: 1, status: 'discarded' });
  await deadLetter(prod, { minuteMs: M, keyId: 'k2', spans: 50, status: 'replayed' });
  // minute M+1: key k1 4 accepted and stored, 3 over the rate limit, one request too large
  await accepted(prod, { minuteMs: M1, keyId: 'k1', spans: 4 });
  await stored(prod, { minuteMs: M1, keyId: 'k1', spans: 4 });
  await recordRefusals(redis, env.config.redis.queuePrefix, { slot: { ...prod, minuteMs: M1, keyId: 'k1' }, counts: { rejected_rate_limit: { spans: 3, requests: 1 }, rejected_too_large: { requests: 1 } } });
  // dev: 1 accepted and stored in M; the other org: lots, which acme must never see
  await accepted(devOf(acme), { minuteMs: M, keyId: 'k3', spans: 1 });
  await stored(devOf(acme), { minuteMs: M, keyId: 'k3', spans: 1 });
  await accepted(prodOf(other), { minuteMs: M, keyId: 'k9', spans: 100 });
  await stored(prodOf(other), { minuteMs: M, keyId: 'k9', spans: 90 });
  await flushLedger({ redis, pool: env.pool }, env.config.redis.queuePrefix);
  // one batch of prod accepted 5 s ago and not stored yet
  await markPending(redis, env.config.redis.queuePrefix, { workspaceId: prod.workspaceId, batchId: 'batch_pending', receivedAtMs: Date.now() - 5_000 });
  // reconciliation found prod's minute M short (before its dead letters were counted, say), and M+1 and the other org's minute fine
  await saveReconciliation(env.pool, [{ ...prod, minuteMs: M, accepted: 15, stored: 12, deadLettered: 0, discarded: 0 }], new Date(M + 180_000));
  await saveReconciliation(env.pool, [{ ...prod, minuteMs: M1, accepted: 4, stored: 4, deadLettered: 0, discarded: 0 }], new Date(M + 240_000));
  await saveReconciliation(env.pool, [{ ...prodOf(other), minuteMs: M + 5 * 60_000, accepted: 100, stored: 90, deadLettered: 0, discarded: 0 }], new Date(M + 480_000));
  doc = (await api.request('GET', '/openapi.json')).json as Json;
});
afterAll(async () => {
  await api?.close();
  redis?.disconnect();
  await env?.cleanup();
});

const wsPath = (w: { workspaceId: string }): string => `/api/v1/workspaces/${w.workspaceId}/ingest`;
const orgPath = (o: BootstrapResult): string => `/api/v1/orgs/${o.org.id}/ingest`;

function expectDocumented(reply: Reply, path: string): void {
  const op = (doc.paths as Record<string, Record<string, Json>>)[path]?.get;
  expect(op, path).toBeDefined();
  const schema = ((op!.responses as Record<string, Json>)[String(reply.status)]?.content as Record<string, { schema: Json }>)['application/json']!.schema;
  const result = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(reply.json);
  expect(result.success ? 'conforms' : result.error.issues).toBe('conforms');
}

const none = { invalid: 0, quota: 0, rateLimit: 0, tooLargeRequests: 0 };
const flaggedM = { accepted: 15, stored: 12, deadLettered: 0, discarded: 0, difference: 3, firstFlaggedAt: iso(M + 180_000), checkedAt: iso(M + 180_000), minute: iso(M) };

describe('GET /workspaces/:ws/ingest', () => {
  it('gives the series per minute from every source, totals, the lag and the flagged minutes', async () => {
    const reply = await api.request('GET', `${wsPath(prodOf(acme))}?${range}`, { token: acme.ownerToken });
    expect(reply.status, reply.text).toBe(200);
    const body = reply.json as Json;
    expect(body).toMatchObject({ workspaceId: prodOf(acme).workspaceId, from: iso(M), to: iso(M + 10 * 60_000) });
    expect(body.series).toEqual([
      { minute: iso(M), keyId: null, accepted: 15, rejected: { ...none, invalid: 2, quota: 7 }, stored: 12, deadLettered: 1, discarded: 1, queued: 1 },
      { minute: iso(M1), keyId: null, accepted: 4, rejected: { ...none, rateLimit: 3, tooLargeRequests: 1 }, stored: 4, deadLettered: 0, discarded: 0, queued: 0 },
    ]);
    expect(body.totals).toEqual({ accepted: 19, rejected: { invalid: 2, quota: 7, rateLimit: 3, tooLargeRequests: 1 }, stored: 16, deadLettered: 1, discarded: 1, queued: 1 });
    const lag = body.lag as { pendingBatches: number; oldestPendingReceivedAt: string; lagMs: number };
    expect(lag.pendingBatches).toBe(1);
    expect(lag.lagMs).toBeGreaterThanOrEqual(5_000);
    expect(lag.lagMs).toBeLessThan(60_000);
    expect(Date.now() - Date.parse(lag.oldestPendingReceivedAt)).toBeGreaterThanOrEqual(lag.lagMs);
    expect(body.reconciliation).toEqual({ checkedThrough: iso(M1 + 60_000), flagged: [{ workspaceId: prodOf(acme).workspaceId, ...flaggedM }], flaggedTotal: 1 });
    expectDocumented(reply, '/api/v1/workspaces/{ws}/ingest');
  });

  it('splits the series by API key with groupBy=key', async () => {
    const reply = await api.request('GET', `${wsPath(prodOf(acme))}?${range}&groupBy=key`, { token: viewer });
    expect(reply.status, reply.text).toBe(200);
    const rows = (reply.json as { series: Array<Json> }).series.map((r) => [r.minute, r.keyId, r.accepted, r.stored, r.deadLettered, r.discarded, r.queued]);
    expect(rows).toEqual([
      [iso(M), 'k1', 10, 10, 0, 0, 0],
      [iso(M), 'k2', 5, 2, 1, 1, 1],
      [iso(M1), 'k1', 4, 4, 0, 0, 0],
    ]);
    expectDocumented(reply, '/api/v1/workspaces/{ws}/ingest');
  });

  it('omits minutes without activity, and answers an empty ledger with zeros and no lag', async () => {
    const reply = await api.request('GET', `${wsPath(prodOf(acme))}?from=${M + 2 * 60_000}&to=${M + 3 * 60_000}`, { token: acme.ownerToken });
    expect(reply.json).toMatchObject({ series: [], totals: { accepted: 0, stored: 0, queued: 0 }, reconciliation: { flagged: [] } });
    const dev = await api.request('GET', `${wsPath(devOf(acme))}?${range}`, { token: acme.ownerToken });
    expect(dev.json).toMatchObject({ lag: { pendingBatches: 0, oldestPendingReceivedAt: null, lagMs: 0 }, reconciliation: { checkedThrough: null, flagged: [] } });
    const recent = await api.request('GET', wsPath(devOf(acme)), { token: acme.ownerToken });
    expect(recent.status).toBe(200);
    const { from, to } = recent.json as { from: string; to: string };
    expect(Date.parse(to) - Date.parse(from)).toBeGreaterThanOrEqual(60 * 60_000);
    expect(Date.parse(to) - Date.parse(from)).toBeLessThan(61 * 60_000);
  });

  it('lets workspace roles read their own workspace only: 403 for a sibling, 404 for another org', async () => {
    expect((await api.request('GET', `${wsPath(prodOf(acme))}?${range}`, { token: viewer })).status).toBe(200);
    const sibling = await api.request('GET', `${wsPath(devOf(acme))}?${range}`, { token: viewer });
    expect([sibling.status, errorOf(sibling).code]).toEqual([403, 'forbidden']);
    const foreign = await api.request('GET', `${wsPath(prodOf(other))}?${range}`, { token: viewer });
    expect([foreign.status, errorOf(foreign).code]).toEqual([404, 'not_found']);
    expect((await api.request('GET', `${wsPath(prodOf(other))}?${range}`, { token: acme.ownerToken })).status).toBe(404);
    // keys and finance do not read the ledger
    expect((await api.request('GET', `${wsPath(prodOf(acme))}?${range}`, { token: acme.workspaces[0]!.readKey })).status).toBe(403);
    expect((await api.request('GET', `${wsPath(prodOf(acme))}?${range}`, { token: acme.billingToken })).status).toBe(403);
  });

  it('answers 400 naming the bad parameter', async () => {
    const cases: Array<[string, string]> = [
      [`from=${M}&to=${M}`, 'to'],
      [`from=${M}&to=${M + 8 * 86_400_000}`, 'to'],
      [`from=yesterday`, 'from'],
      [`${range}&groupBy=service`, 'groupBy'],
      [`${range}&limit=5`, 'limit'],
    ];
    for (const [query, field] of cases) {
      const reply = await api.request('GET', `${wsPath(prodOf(acme))}?${query}`, { token: acme.ownerToken });
      expect(reply.status, query).toBe(400);
      expect(errorOf(reply), query).toMatchObject({ code: 'invalid', field });
    }
  });

  it('answers 503 with Retry-After when it cannot read the lag from Redis', async () => {
    const app = createQueryApi({ pg: env.pool, clickhouse: env.clickhouse, policy: api.policy, keys: api.keys, log: silentLog });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${wsPath(prodOf(acme))}?${range}`, { headers: { authorization: `Bearer ${acme.ownerToken}` } });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unavailable');
      expect(res.headers.get('retry-after')).not.toBeNull();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('GET /orgs/:org/ingest', () => {
  it('gives every workspace of the organization, with slugs, each lag and the flags across the org', async () => {
    const reply = await api.request('GET', `${orgPath(acme)}?${range}`, { token: acme.ownerToken });
    expect(reply.status, reply.text).toBe(200);
    const body = reply.json as Json;
    const [prod, dev] = [prodOf(acme).workspaceId, devOf(acme).workspaceId];
    expect((body.series as Array<Json>).map((r) => [r.minute, r.workspaceSlug, r.workspaceId, r.keyId, r.accepted, r.stored, r.queued])).toEqual(
      [
        [iso(M), 'prod', prod, null, 15, 12, 1],
        [iso(M), 'dev', dev, null, 1, 1, 0],
        [iso(M1), 'prod', prod, null, 4, 4, 0],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0])) || String(a[2]).localeCompare(String(b[2]))),
    );
    expect(body.totals).toEqual({ accepted: 20, rejected: { invalid: 2, quota: 7, rateLimit: 3, tooLargeRequests: 1 }, stored: 17, deadLettered: 1, discarded: 1, queued: 1 });
    expect((body.workspaces as Array<{ workspaceSlug: string; lag: { pendingBatches: number } }>).map((w) => [w.workspaceSlug, w.lag.pendingBatches]).sort()).toEqual([
      ['dev', 0],
      ['prod', 1],
    ]);
    expect(body.reconciliation).toEqual({ checkedThrough: iso(M1 + 60_000), flagged: [{ workspaceId: prod, ...flaggedM }], flaggedTotal: 1 });
    expectDocumented(reply, '/api/v1/orgs/{org}/ingest');
  });

  it('is for owners and admins: 403 for billing and workspace roles, 404 for another organization', async () => {
    expect((await api.request('GET', `${orgPath(acme)}?${range}`, { token: acme.billingToken })).status).toBe(403);
    expect((await api.request('GET', `${orgPath(acme)}?${range}`, { token: viewer })).status).toBe(403);
    expect((await api.request('GET', `${orgPath(other)}?${range}`, { token: acme.ownerToken })).status).toBe(404);
    const theirs = await api.request('GET', `${orgPath(other)}?${range}`, { token: other.ownerToken });
    expect((theirs.json as { totals: { accepted: number; stored: number } }).totals).toMatchObject({ accepted: 100, stored: 90 });
  });
});

import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapOrganization, createRedis, createSpanQueue, listAudit, markPending, pendingKey, replayJobId, spanBatchSchema, type BootstrapResult, type SpanQueue } from '@canopy/core';
import { createTestEnv, freePort, type TestEnv } from '@canopy/core/testing';
import { createQueryApi } from '@canopy/query-api';
import { openDeadLetter } from './dead-letter-fixtures.js';
import { errorOf, silentLog, startApi, unique, type RunningApi } from './helpers.js';
import { startReplyHoldProxy } from './reply-hold-proxy.js';

let env: TestEnv;
let api: RunningApi;
let acme: BootstrapResult;
let other: BootstrapResult;
let queue: SpanQueue;
let redis: ReturnType<typeof createRedis>;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  acme = await bootstrapOrganization(env.pool, { name: unique('acme'), workspaceSlugs: ['prod', 'dev'] });
  other = await bootstrapOrganization(env.pool, { name: unique('other'), workspaceSlugs: ['prod'] });
  await api.policy.reload();
  redis = createRedis(env.config.redis.url);
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  queue = createSpanQueue(redis, env.config.redis.queuePrefix);
});
afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await api?.close();
  await env?.cleanup();
});

const prod = () => ({ orgId: acme.org.id, workspaceId: acme.workspaces[0]!.id });
const base = (ws = prod().workspaceId): string => `/api/v1/workspaces/${ws}/dead-letters`;
const asOwner = (): { token: string } => ({ token: acme.ownerToken });

describe('dead letters through the API', () => {
  it('lists open dead letters newest first with their error and size, and inspects one with its first rows', async () => {
    const older = await openDeadLetter(env.pool, prod(), 3);
    const newer = await openDeadLetter(env.pool, prod(), 25);
    const list = await api.request('GET', base(), asOwner());
    expect(list.status).toBe(200);
    const body = list.json as { deadLetters: Array<Record<string, unknown>>; nextCursor: string | null };
    const ids = body.deadLetters.map((d) => d.id);
    expect(ids.indexOf(newer.id)).toBeLessThan(ids.indexOf(older.id));
    expect(body.deadLetters.find((d) => d.id === older.id)).toEqual({
      id: older.id,
      batchId: older.batchId,
      workspaceId: prod().workspaceId,
      keyId: 'key_test',
      receivedAt: new Date(older.batch.receivedAtMs).toISOString(),
      deadLetteredAt: older.deadLetteredAt,
      updatedAt: older.updatedAt,
      spans: 3,
      bytes: older.batch.bytes,
      attempts: 3,
      replayCount: 0,
      status: 'open',
      error: { code: 'clickhouse_rejected', message: 'insert into spans failed: Code: 395' },
    });

    const detail = await api.request('GET', `${base()}/${newer.id}`, asOwner());
    expect(detail.status).toBe(200);
    const d = detail.json as { firstRows: Array<Record<string, unknown>>; rowCount: number; status: string };
    expect(d.rowCount).toBe(25);
    expect(d.firstRows).toHaveLength(20);
    expect(d.firstRows[0]).toMatchObject({ org_id: acme.org.id, workspace_id: prod().workspaceId, batch_id: newer.batchId, name: 'op-0', service_name: 'checkout' });

    const paged = await api.request('GET', `${base()}?limit=1`, asOwner());
    expect((paged.json as { nextCursor: string | null }).nextCursor).toEqual(expect.any(String));
  });

  it('replays an open dead letter onto the span queue under a new job id, marks it pending, audits it, and refuses a second replay with 409', async () => {
    const dl = await openDeadLetter(env.pool, prod());
    const reply = await api.request('POST', `${base()}/${dl.id}/replay`, asOwner());
    expect(reply.status, reply.text).toBe(202);
    expect(reply.json).toMatchObject({ id: dl.id, status: 'replayed', replayCount: 1 });

    const job = await queue.queue.getJob(`${dl.batchId}-replay-1`);
    expect(job).toBeDefined();
    expect(spanBatchSchema.parse(job!.data)).toEqual(dl.batch);
    expect(job!.opts.attempts).toBe(40);
    expect(await redis.zscore(pendingKey(env.config.redis.queuePrefix, prod().workspaceId), dl.batchId)).toBe(String(dl.batch.receivedAtMs));

    const again = await api.request('POST', `${base()}/${dl.id}/replay`, asOwner());
    expect(again.status).toBe(409);
    expect(errorOf(again)).toMatchObject({ code: 'conflict', message: expect.stringContaining('replayed') });
    expect(await queue.queue.getJob(`${dl.batchId}-replay-2`)).toBeUndefined();

    const audit = await listAudit(env.pool, acme.org.id, { action: 'dead_letter.replay', targetId: dl.id });
    expect(audit.entries).toHaveLength(1);
    expect(audit.entries[0]).toMatchObject({ actorType: 'user', before: { status: 'open' }, after: { status: 'replayed', replayCount: 1 } });
    expect((await api.request('GET', `${base()}?status=replayed`, asOwner())).json).toMatchObject({ deadLetters: expect.arrayContaining([expect.objectContaining({ id: dl.id })]) });
  });

  it('discards an open dead letter (payload gone, record kept, audited) and answers 409 to a second discard', async () => {
    const dl = await openDeadLetter(env.pool, prod());
    const reply = await api.request('DELETE', `${base()}/${dl.id}`, asOwner());
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ id: dl.id, status: 'discarded' });
    expect((await api.request('GET', `${base()}/${dl.id}`, asOwner())).json).toMatchObject({ status: 'discarded', firstRows: [], rowCount: 0 });
    expect((await api.request('DELETE', `${base()}/${dl.id}`, asOwner())).status).toBe(409);
    expect((await api.request('POST', `${base()}/${dl.id}/replay`, asOwner())).status).toBe(409);
    const audit = await listAudit(env.pool, acme.org.id, { action: 'dead_letter.discard', targetId: dl.id });
    expect(audit.entries.map((e) => e.after)).toEqual([expect.objectContaining({ status: 'discarded' })]);
  });

  it('takes back a pending mark a failed replay left when the dead letter is discarded (a discarded batch never settles)', async () => {
    const dl = await openDeadLetter(env.pool, prod());
    await markPending(redis, env.config.redis.queuePrefix, dl.batch);
    expect((await api.request('DELETE', `${base()}/${dl.id}`, asOwner())).status).toBe(200);
    expect(await redis.zscore(pendingKey(env.config.redis.queuePrefix, prod().workspaceId), dl.batchId)).toBeNull();
  });

  it('answers 404 for a dead letter of another workspace or organization, and for an unknown one', async () => {
    const foreign = await openDeadLetter(env.pool, { orgId: other.org.id, workspaceId: other.workspaces[0]!.id });
    const sibling = await openDeadLetter(env.pool, { orgId: acme.org.id, workspaceId: acme.workspaces[1]!.id });
    for (const id of [foreign.id, sibling.id, 'dl_unknown']) {
      for (const [method, path] of [['GET', `${base()}/${id}`], ['POST', `${base()}/${id}/replay`], ['DELETE', `${base()}/${id}`]] as const) {
        const reply = await api.request(method, path, asOwner());
        expect({ method, status: reply.status }).toEqual({ method, status: 404 });
      }
    }
    // The workspace of another organization is unknown to this owner.
    expect((await api.request('GET', base(other.workspaces[0]!.id), asOwner())).status).toBe(404);
    const listed = ((await api.request('GET', `${base()}?status=all&limit=200`, asOwner())).json as { deadLetters: Array<{ id: string }> }).deadLetters.map((d) => d.id);
    expect(listed).not.toContain(sibling.id);
    expect(listed).not.toContain(foreign.id);
  });

  it('names the bad parameter with 400', async () => {
    const status = await api.request('GET', `${base()}?status=lost`, asOwner());
    expect([status.status, errorOf(status).field]).toEqual([400, 'status']);
    const limit = await api.request('GET', `${base()}?limit=5000`, asOwner());
    expect([limit.status, errorOf(limit).field]).toEqual([400, 'limit']);
    const cursor = await api.request('GET', `${base()}?cursor=garbage`, asOwner());
    expect([cursor.status, errorOf(cursor).field]).toEqual([400, 'cursor']);
  });
});

describe('replay while the queue is unavailable', () => {
  async function apiWith(redisUrl: string | null, options: { ready?: boolean } = {}): Promise<{ url: string; close(): Promise<void> }> {
    const deadRedis = redisUrl === null ? undefined : createRedis(redisUrl);
    deadRedis?.on('error', () => undefined);
    if (options.ready && deadRedis && deadRedis.status !== 'ready') await new Promise((resolve) => deadRedis.once('ready', resolve));
    const app = createQueryApi({ pg: env.pool, clickhouse: env.clickhouse, policy: api.policy, keys: api.keys, log: silentLog, ...(deadRedis ? { redis: deadRedis } : {}), queuePrefix: env.config.redis.queuePrefix });
    const server: Server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      async close() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        deadRedis?.disconnect();
      },
    };
  }

  const isPending = async (batchId: string): Promise<boolean> => (await redis.zscore(pendingKey(env.config.redis.queuePrefix, prod().workspaceId), batchId)) !== null;
  const replay = (url: string, id: string): Promise<Response> => fetch(`${url}${base()}/${id}/replay`, { method: 'POST', headers: { authorization: `Bearer ${acme.ownerToken}` } });
  /** The queued (not yet written) jobs of a batch: no worker runs in these tests. */
  const queuedJobsOf = async (batchId: string): Promise<string[]> =>
    (await queue.queue.getJobs(['waiting', 'delayed', 'prioritized'])).filter((j) => (j.data as { batchId?: string }).batchId === batchId).map((j) => j.id!);

  it('treats an add whose answer timed out as done when the queue holds the job: replayed, pending kept, audited once', async () => {
    const proxy = await startReplyHoldProxy(new URL(env.config.redis.url));
    const running = await apiWith(proxy.url, { ready: true });
    try {
      // The queue's first add loads its scripts; do it before answers go missing.
      expect((await replay(running.url, (await openDeadLetter(env.pool, prod())).id)).status).toBe(202);
      const dl = await openDeadLetter(env.pool, prod());
      // The add reaches Redis; its answer comes after the 5 s timeout, the queue's answer to "is it there?" within 2 s more.
      proxy.holdRepliesAfter(replayJobId(dl.batchId, 1), { forMs: 6_000 });
      const res = await replay(running.url, dl.id);
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ id: dl.id, status: 'replayed', replayCount: 1 });
      expect(await queuedJobsOf(dl.batchId)).toEqual([replayJobId(dl.batchId, 1)]);
      expect(await isPending(dl.batchId)).toBe(true);
      expect((await listAudit(env.pool, acme.org.id, { action: 'dead_letter.replay', targetId: dl.id })).entries).toHaveLength(1);
    } finally {
      proxy.release();
      await running.close();
      await proxy.close();
    }
  }, 30_000);

  it('answers 503 when it cannot tell whether the add landed, keeps the pending mark, and a retry does not queue the batch twice', async () => {
    const proxy = await startReplyHoldProxy(new URL(env.config.redis.url));
    const running = await apiWith(proxy.url, { ready: true });
    try {
      expect((await replay(running.url, (await openDeadLetter(env.pool, prod())).id)).status).toBe(202);
      const dl = await openDeadLetter(env.pool, prod());
      proxy.holdRepliesAfter(replayJobId(dl.batchId, 1));
      const res = await replay(running.url, dl.id);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await api.request('GET', `${base()}/${dl.id}`, asOwner())).json).toMatchObject({ status: 'open', replayCount: 0 });
      // The add did land: its batch stays marked pending.
      expect(await queuedJobsOf(dl.batchId)).toEqual([replayJobId(dl.batchId, 1)]);
      expect(await isPending(dl.batchId)).toBe(true);

      proxy.release();
      const retried = await replay(running.url, dl.id);
      expect(retried.status).toBe(202);
      expect(await retried.json()).toMatchObject({ status: 'replayed', replayCount: 1 });
      expect(await queuedJobsOf(dl.batchId)).toEqual([replayJobId(dl.batchId, 1)]);
      expect((await listAudit(env.pool, acme.org.id, { action: 'dead_letter.replay', targetId: dl.id })).entries).toHaveLength(1);
    } finally {
      proxy.release();
      await running.close();
      await proxy.close();
    }
  }, 30_000);

  it.each([
    ['Redis is down', 'down'],
    ['the API has no Redis', 'none'],
  ])('answers 503 with Retry-After when %s, and leaves the dead letter open and unaudited', async (_label, kind) => {
    const running = await apiWith(kind === 'none' ? null : `redis://127.0.0.1:${await freePort()}`);
    try {
      const dl = await openDeadLetter(env.pool, prod());
      const res = await fetch(`${running.url}${base()}/${dl.id}/replay`, { method: 'POST', headers: { authorization: `Bearer ${acme.ownerToken}` } });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unavailable');
      expect((await api.request('GET', `${base()}/${dl.id}`, asOwner())).json).toMatchObject({ status: 'open', replayCount: 0 });
      expect((await listAudit(env.pool, acme.org.id, { action: 'dead_letter.replay', targetId: dl.id })).entries).toEqual([]);
      // Listing and inspecting need no Redis.
      const list = await fetch(`${running.url}${base()}`, { headers: { authorization: `Bearer ${acme.ownerToken}` } });
      expect(list.status).toBe(200);
    } finally {
      await running.close();
    }
  });
});

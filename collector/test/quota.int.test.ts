import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyCache, createLogger, createRedis, createSpanQueue, updatePlan, type KeyCache, type SpanQueue } from '@canopy/core';
import { createTestEnv, createTestOrg, waitFor, type TestEnv } from '@canopy/core/testing';
import type { Redis } from 'ioredis';
import { createCollector, createPlanAdmit, encodeProtobufTraceRequest, type Collector } from '../src/index.js';

// The org's plan is enforced at the door: over the ingest rate limit or the monthly span
// quota the collector answers 429 with Retry-After and queues nothing.

let env: TestEnv;
let redis: Redis;
let queue: SpanQueue;
let keys: KeyCache;
let collector: Collector;
let url: string;
const log = createLogger({ level: 'silent', pretty: false }, 'collector');

beforeAll(async () => {
  env = await createTestEnv();
  keys = await createKeyCache({ pool: env.pool, log }, { ttlMs: 60_000, negativeTtlMs: 1_000 });
  redis = createRedis(env.config.redis.url, { forWorker: true });
  queue = createSpanQueue(redis, env.config.redis.queuePrefix);
  await waitFor(async () => redis.status === 'ready');
  const admit = createPlanAdmit({ pool: env.pool, redis, clickhouse: env.clickhouse, log }, { prefix: env.config.redis.queuePrefix, planCacheTtlMs: 0 });
  collector = createCollector({ queue, keys, redis, log, admit }, { maxBodyBytes: 1024 * 1024 });
  url = `http://127.0.0.1:${(await collector.listen(0, '127.0.0.1')).port}`;
});

afterAll(async () => {
  await collector?.close();
  await queue?.close();
  redis?.disconnect();
  await keys?.close();
  await env?.cleanup();
});

let seq = 0;
function body(spans: number): Uint8Array {
  const base = BigInt(Date.now()) * 1_000_000n + BigInt(seq++) * 1_000n;
  return encodeProtobufTraceRequest({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'quota' } }] },
        scopeSpans: [
          {
            spans: Array.from({ length: spans }, (_, i) => ({
              traceId: `${String(seq).padStart(16, '0')}${String(i + 1).padStart(16, '0')}`,
              spanId: `${String(i + 1).padStart(16, '0')}`,
              name: 'op',
              startTimeUnixNano: (base + BigInt(i)).toString(),
              endTimeUnixNano: (base + BigInt(i) + 1000n).toString(),
            })),
          },
        ],
      },
    ],
  });
}

const post = (key: string, spans: number): Promise<Response> =>
  fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}` }, body: body(spans) });

describe('plan enforcement in the collector', () => {
  it('answers 429 with Retry-After once the monthly span quota would be exceeded, and queues nothing for it', async () => {
    const org = await createTestOrg(env, ['dev']);
    await updatePlan(env.pool, { type: 'system', id: 'test' }, { orgId: org.orgId, monthlySpanQuota: 100 });
    const key = org.workspaces.dev!.ingestKey.key;
    expect((await post(key, 60)).status).toBe(200);
    expect((await post(key, 40)).status).toBe(200);
    const refused = await post(key, 1);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const jobs = (await queue.queue.getJobs(['wait'])).filter((j) => (j.data as { orgId: string }).orgId === org.orgId);
    expect(jobs.map((j) => (j.data as { spanCount: number }).spanCount).sort()).toEqual([40, 60]);
  });

  it('answers 429 with a Retry-After of about a second over the ingest rate limit, then admits again', async () => {
    const org = await createTestOrg(env, ['dev']);
    await updatePlan(env.pool, { type: 'system', id: 'test' }, { orgId: org.orgId, ingestRateLimitPerS: 50 });
    const key = org.workspaces.dev!.ingestKey.key;
    // Start at the beginning of a second so both requests fall in one window.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    expect((await post(key, 40)).status).toBe(200);
    const refused = await post(key, 40);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    await new Promise((r) => setTimeout(r, 1100));
    expect((await post(key, 40)).status).toBe(200);
  });

  it('leaves an org without limits alone', async () => {
    const org = await createTestOrg(env, ['dev']);
    for (let i = 0; i < 3; i++) expect((await post(org.workspaces.dev!.ingestKey.key, 200)).status).toBe(200);
  });
});

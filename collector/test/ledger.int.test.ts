import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKeyCache,
  createLogger,
  createRedis,
  createSpanQueue,
  ledgerKeys,
  minuteOf,
  pendingKey,
  updatePlan,
  type KeyCache,
  type SpanQueue,
} from '@canopy/core';
import { createTestEnv, createTestOrg, waitFor, type TestEnv } from '@canopy/core/testing';
import type { Redis } from 'ioredis';
import { createCollector, createPlanAdmit, type Collector, type CollectorDeps } from '../src/index.js';
import { encodeRequest, postTraces, span, traceRequest } from './helpers.js';

// The collector's half of the ingest ledger against a real Redis: what it answers 2xx is
// counted as accepted exactly once (a re-sent request included), and every refusal of an
// authenticated request is counted by reason, without ever changing the answer.

let env: TestEnv;
let redis: Redis;
let queue: SpanQueue;
let keys: KeyCache;
const collectors: Collector[] = [];
const log = createLogger({ level: 'silent', pretty: false }, 'collector');
let prefix: string;

beforeAll(async () => {
  env = await createTestEnv();
  prefix = env.config.redis.queuePrefix;
  keys = await createKeyCache({ pool: env.pool, log }, { ttlMs: 60_000, negativeTtlMs: 1_000 });
  redis = createRedis(env.config.redis.url, { forWorker: true });
  queue = createSpanQueue(redis, prefix);
  await waitFor(async () => redis.status === 'ready');
});

afterAll(async () => {
  for (const c of collectors) await c.close();
  await queue?.close();
  redis?.disconnect();
  await keys?.close();
  await env?.cleanup();
});

async function start(deps: Partial<CollectorDeps> = {}, maxBodyBytes = 64 * 1024): Promise<{ url: string; collector: Collector }> {
  const collector = createCollector({ queue, keys, redis, log, ledger: { redis, queuePrefix: prefix }, ...deps }, { maxBodyBytes });
  collectors.push(collector);
  return { url: `http://127.0.0.1:${(await collector.listen(0, '127.0.0.1')).port}`, collector };
}

let seq = 0;
/** A protobuf body of `valid` good spans and `invalid` spans with a bad trace id, unique per call. */
function body(valid: number, invalid = 0): Buffer {
  seq++;
  const spans = [
    ...Array.from({ length: valid }, (_, i) => span(i, { spanId: (seq * 1000 + i).toString(16).padStart(16, '0'), startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n) })),
    ...Array.from({ length: invalid }, (_, i) => span(i, { traceId: 'abcd', spanId: (seq * 1000 + 500 + i).toString(16).padStart(16, '0') })),
  ];
  return encodeRequest(traceRequest(spans), 'protobuf');
}

/** The live counters of a workspace, as `kind|measure` → number summed over minutes and keys. */
async function countsOf(workspaceId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [field, value] of Object.entries(await redis.hgetall(ledgerKeys(prefix).live))) {
    const parts = field.split('|');
    if (parts[2] !== workspaceId) continue;
    const name = `${parts[4]}|${parts[5]}`;
    out[name] = (out[name] ?? 0) + Number(value);
  }
  return out;
}

describe('accepted spans', () => {
  it('counts what was answered 200 once, under the key and the minute it arrived, and marks the batch pending', async () => {
    const org = await createTestOrg(env, ['dev']);
    const ws = org.workspaces.dev!;
    const { url } = await start();
    const before = minuteOf(Date.now());
    expect((await postTraces(url, body(4), { key: ws.ingestKey.key })).status).toBe(200);
    expect((await postTraces(url, body(3), { key: ws.ingestKey.key })).status).toBe(200);
    expect(await countsOf(ws.id)).toMatchObject({ 'accepted|spans': 7, 'accepted|requests': 2 });
    const fields = Object.keys(await redis.hgetall(ledgerKeys(prefix).live)).filter((f) => f.includes(ws.id));
    for (const f of fields) {
      const [minute, orgId, workspaceId, keyId] = f.split('|');
      expect(Number(minute)).toBeGreaterThanOrEqual(before);
      expect([orgId, workspaceId, keyId]).toEqual([org.orgId, ws.id, ws.ingestKey.id]);
    }
    expect(await redis.zcard(pendingKey(prefix, ws.id))).toBe(2);
    // the rows carry the key too (the stored side counts by it)
    const [job] = await queue.queue.getJobs(['wait'], 0, 0);
    expect(JSON.stringify(job?.data)).toContain(`\\"key_id\\":\\"${ws.ingestKey.id}\\"`);
  });

  it('counts a request re-sent after its collector queued it but died before counting it exactly once', async () => {
    const org = await createTestOrg(env, ['dev']);
    const ws = org.workspaces.dev!;
    // The first collector's add reaches Redis, then the process "dies": the client sees an error.
    let first = true;
    const dying: CollectorDeps['queue'] = {
      add: async (...args) => {
        const queued = await queue.add(...args);
        if (first) {
          first = false;
          throw Object.assign(new Error('connection reset after the write'), { code: 'ECONNRESET' });
        }
        return queued;
      },
    };
    const { url } = await start({ queue: dying });
    const payload = body(5);
    expect((await postTraces(url, payload, { key: ws.ingestKey.key })).status).toBe(503);
    expect(await countsOf(ws.id)).toEqual({});
    // The exporter re-sends the same bytes; the queue answers with the first job, which is counted now.
    expect((await postTraces(url, payload, { key: ws.ingestKey.key })).status).toBe(200);
    expect((await postTraces(url, payload, { key: ws.ingestKey.key })).status).toBe(200);
    expect(await countsOf(ws.id)).toEqual({ 'accepted|spans': 5, 'accepted|requests': 1, 'accepted|bytes': expect.any(Number) });
    expect(await redis.zcard(pendingKey(prefix, ws.id))).toBe(1);
    const intents = await redis.keys(`${prefix}:ledger:intent:*`);
    expect(intents).toEqual([]);
  });
});

describe('refusals', () => {
  it('counts invalid spans, too-large requests, and nothing for requests without a valid key', async () => {
    const org = await createTestOrg(env, ['dev']);
    const ws = org.workspaces.dev!;
    const { url } = await start({}, 4096);
    expect((await postTraces(url, body(3, 2), { key: ws.ingestKey.key })).status).toBe(200);
    expect((await postTraces(url, body(0, 4), { key: ws.ingestKey.key })).status).toBe(200);
    expect((await postTraces(url, Buffer.alloc(10_000, 1), { key: ws.ingestKey.key })).status).toBe(413);
    expect((await postTraces(url, body(2, 1), { key: 'cnp_not_a_key' })).status).toBe(401);
    expect((await postTraces(url, body(2, 1))).status).toBe(401);
    expect(await countsOf(ws.id)).toEqual({
      'accepted|spans': 3,
      'accepted|requests': 1,
      'accepted|bytes': expect.any(Number),
      'rejected_invalid|spans': 6,
      'rejected_invalid|requests': 2,
      'rejected_too_large|requests': 1,
    });
  });

  it('counts spans refused over the rate limit and over the monthly quota apart', async () => {
    const org = await createTestOrg(env, ['dev', 'prod']);
    const admit = createPlanAdmit({ pool: env.pool, redis, clickhouse: env.clickhouse, log }, { prefix, planCacheTtlMs: 0 });
    const { url } = await start({ admit });
    await updatePlan(env.pool, { type: 'system', id: 'test' }, { orgId: org.orgId, ingestRateLimitPerS: 5 });
    const dev = org.workspaces.dev!;
    // two requests of 5 spans in one second: the second is over the limit
    let refused = 0;
    for (let i = 0; i < 5 && refused === 0; i++) {
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
      expect((await postTraces(url, body(5), { key: dev.ingestKey.key })).status).toBe(200);
      if ((await postTraces(url, body(5), { key: dev.ingestKey.key })).status === 429) refused++;
    }
    expect(refused).toBe(1);
    const rate = await countsOf(dev.id);
    expect([rate['rejected_rate_limit|spans'], rate['rejected_rate_limit|requests'], rate['rejected_quota|spans']]).toEqual([5, 1, undefined]);

    await updatePlan(env.pool, { type: 'system', id: 'test' }, { orgId: org.orgId, ingestRateLimitPerS: null, monthlySpanQuota: 0 });
    const prod = org.workspaces.prod!;
    expect((await postTraces(url, body(6), { key: prod.ingestKey.key })).status).toBe(429);
    expect(await countsOf(prod.id)).toEqual({ 'rejected_quota|spans': 6, 'rejected_quota|requests': 1 });
  });

  it('answers as before when the ledger cannot be written, and counts that in a metric', async () => {
    const org = await createTestOrg(env, ['dev']);
    const ws = org.workspaces.dev!;
    const broken = createRedis(env.config.redis.url);
    broken.on('error', () => undefined);
    broken.disconnect();
    const { url, collector } = await start({ ledger: { redis: broken, queuePrefix: prefix } });
    const reply = await postTraces(url, body(0, 2), { key: ws.ingestKey.key });
    expect(reply.status).toBe(200);
    expect(await countsOf(ws.id)).toEqual({});
    expect(await collector.metrics.registry.getSingleMetricAsString('canopy_collector_ledger_failures_total')).toContain('canopy_collector_ledger_failures_total{step="refused"} 1');
  });
});

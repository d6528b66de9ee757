import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, createTestOrg, freePort, waitForHttp, type TestEnv } from '@canopy/core/testing';
import { buildServices, createProcessRegistry, duplicateSpans, openQueue, settledCounts, startCollector, startWorker } from './harness.js';
import { createSpanSource } from './traffic.js';

// The one way a span can still be stored twice (redis-crash.int.test.ts measures it): Redis
// persists a batch and dies before its reply reaches the collector, the collector answers
// 503, and the client re-sends the same request, which becomes a second batch. From the
// collector's side that re-send is simply the identical request arriving again, which is
// what this test sends, without needing a crash to land in the window.

let env: TestEnv;
let queue: ReturnType<typeof openQueue>;
let port: number;
const processes = createProcessRegistry();

beforeAll(async () => {
  buildServices();
  env = await createTestEnv();
  queue = openQueue(env.config.redis.url, env.config.redis.queuePrefix);
  port = await freePort();
  processes.track(startCollector(env.env, port));
  processes.track(startWorker(env.env));
  await waitForHttp(`http://127.0.0.1:${port}/readyz`);
});

afterAll(async () => {
  await processes.killAll();
  await queue?.close();
  await env?.cleanup();
});

async function exportTwice(key: string, body: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}

describe('a client re-sending an export request', () => {
  // The collector recognises a re-sent request by a fingerprint of the workspace and the
  // request body, used as the queue's deduplication id for ten minutes.
  it('stores the spans of an identical re-sent request once', async () => {
    const org = await createTestOrg(env, ['prod']);
    const { body, spans } = createSpanSource(20).next();
    expect(await exportTwice(org.workspaces.prod!.ingestKey.key, body)).toEqual([200, 200]);
    const counts = await settledCounts(env.clickhouse, { orgId: org.orgId, expected: spans, queue }, 30_000);
    expect(counts.distinctSpans).toBe(spans);
    expect(await duplicateSpans(env.clickhouse, org.orgId)).toEqual([]);
    expect(counts).toMatchObject({ rows: spans, usageSpans: spans });
  });
});

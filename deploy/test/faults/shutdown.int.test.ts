import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, normalizeTraceRequest, type SpanBatch } from '@canopy/core';
import { createTestEnv, createTestOrg, freePort, startNodeProcess, waitFor, waitForHttp, type TestEnv } from '@canopy/core/testing';
import { ROOT, buildServices, createProcessRegistry, openQueue, reportFigures, settledCounts, startCollector, startDedicatedRedis, startWorker, stopTimed, storedCounts } from './harness.js';
import { createSpanSource, startTraffic } from './traffic.js';

// Every process stops on SIGTERM the same way: stop taking work, finish what it holds,
// exit 0 — within 10 s, while it is busy.

let env: TestEnv;
let queue: ReturnType<typeof openQueue>;
const processes = createProcessRegistry();

beforeAll(async () => {
  buildServices();
  env = await createTestEnv();
  queue = openQueue(env.config.redis.url, env.config.redis.queuePrefix);
});

afterAll(async () => {
  await processes.killAll();
  await queue?.close();
  await env?.cleanup();
});

/** A request whose body arrives in two parts `gapMs` apart; resolves with the answer, or the error code when none came. */
function slowRequest(options: { url: string; headers: Record<string, string>; body: string; gapMs: number }): Promise<{ status: number | string; connection?: string }> {
  const half = Math.floor(options.body.length / 2);
  const req = http.request(options.url, { method: 'POST', headers: { ...options.headers, 'content-length': String(Buffer.byteLength(options.body)) } });
  const answer = new Promise<{ status: number | string; connection?: string }>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: err.code ?? 'error' }));
  });
  req.write(options.body.slice(0, half));
  setTimeout(() => req.end(options.body.slice(half)), options.gapMs);
  return answer;
}

/** Clients polling `url` on keep-alive connections until `stop()`; a refused connection ends a lane. */
function pollers(url: string, lanes: number): { answers: Array<number | string>; stop(): Promise<void> } {
  let busy = true;
  const answers: Array<number | string> = [];
  const running = Array.from({ length: lanes }, async () => {
    while (busy) {
      try {
        const res = await fetch(url);
        await res.arrayBuffer();
        answers.push(res.status);
      } catch {
        answers.push('refused');
        return;
      }
    }
  });
  return {
    answers,
    async stop() {
      busy = false;
      await Promise.all(running);
    },
  };
}

/** The query API on a free port, answering. */
async function startQueryApi(): Promise<{ port: number; api: ReturnType<typeof startNodeProcess> }> {
  const port = await freePort();
  const api = processes.track(startNodeProcess(path.join(ROOT, 'query-api/dist/main.js'), { ...env.env, CANOPY_API_PORT: String(port), CANOPY_API_HOST: '127.0.0.1' }));
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 30_000);
  return { port, api };
}

const slowOrgCreate = (port: number) =>
  // A JSON body still arriving when SIGTERM comes; its answer (401: no token) must still be sent.
  slowRequest({ url: `http://127.0.0.1:${port}/api/v1/orgs`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'shutdown-test' }), gapMs: 1_500 });

/** Spans for the queue, as the collector would enqueue them. */
function spanBatch(tenant: { orgId: string; workspaceId: string }, spans: number): SpanBatch {
  const batchId = newId('batch');
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const traceId = randomBytes(16).toString('hex');
  const n = normalizeTraceRequest(
    {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shutdown' } }] },
          scopeSpans: [{ spans: Array.from({ length: spans }, (_, i) => ({ traceId, spanId: randomBytes(8).toString('hex'), name: `op-${i}`, kind: 1, startTimeUnixNano: String(nowNs), endTimeUnixNano: String(nowNs + 1000n) })) }],
        },
      ],
    },
    { ...tenant, batchId, ingestedAtSec: Math.floor(Date.now() / 1000) },
  );
  return { v: 1, batchId, ...tenant, keyId: 'key_shutdown', receivedAtMs: Date.now(), spanCount: n.accepted, bytes: n.bytes, minTimestampSec: n.minTimestampSec, maxTimestampSec: n.maxTimestampSec, groups: n.groups };
}

describe('graceful shutdown on SIGTERM', () => {
  it('collector: answers the request it is reading and the ones queued behind it, then exits 0', async () => {
    const org = await createTestOrg(env, ['prod']);
    const key = org.workspaces.prod!.ingestKey.key;
    const port = await freePort();
    const collector = processes.track(startCollector(env.env, port));
    await waitForHttp(`http://127.0.0.1:${port}/readyz`);
    const traffic = startTraffic({ url: `http://127.0.0.1:${port}/v1/traces`, key, lanes: 4, spansPerRequest: 200, pauseMs: 0, giveUpAfterMs: 1 });
    await waitFor(async () => traffic.stats.acknowledgedRequests >= 10, { timeoutMs: 20_000, what: 'traffic' });
    const slow = slowRequest({ url: `http://127.0.0.1:${port}/v1/traces`, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: createSpanSource(50).next().body, gapMs: 1_500 });
    await new Promise((r) => setTimeout(r, 200));
    const [stop, stats] = await Promise.all([stopTimed(collector, 'SIGTERM'), traffic.stop()]);
    const slowStatus = await slow;

    reportFigures('shutdown-collector', { exit: stop.exit, ms: stop.ms, slowRequest: slowStatus, outcomes: stats.outcomes });
    expect(stop.exit, collector.output()).toBe(0);
    expect(stop.ms).toBeLessThan(10_000);
    expect(stop.ms).toBeGreaterThan(1_000); // it waited for the slow request's body
    expect(slowStatus).toEqual({ status: 200, connection: 'close' }); // and told the client not to send more on it
    // The export lanes saw 2xx (or a retryable 503) until the listener closed, then refused connections: nothing half-answered.
    for (const outcome of Object.keys(stats.outcomes)) expect(['200', '503', 'ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET']).toContain(outcome);
  });

  it('workers: complete the jobs they hold, leave the rest queued, exit 0; the next worker stores everything once', async () => {
    const tenant = { orgId: 'org_shutdown_workers', workspaceId: 'ws_shutdown_workers' };
    const jobs = 600;
    for (let i = 0; i < jobs; i++) await queue.queue.add(spanBatch(tenant, 100), { attempts: 10 });
    const worker = processes.track(startWorker(env.env, { CANOPY_BATCH_MAX_WAIT_MS: '1000', CANOPY_WORKER_CONCURRENCY: '64' }));
    await waitFor(async () => (await storedCounts(env.clickhouse, tenant.orgId)).rows > 0 && (await queue.state()).active > 0, { timeoutMs: 30_000, what: 'the worker to be busy' });
    const activeAtSignal = (await queue.state()).active;
    const stop = await stopTimed(worker, 'SIGTERM');
    const afterStop = { state: await queue.state(), stored: (await storedCounts(env.clickhouse, tenant.orgId)).rows };

    const next = processes.track(startWorker(env.env));
    const counts = await settledCounts(env.clickhouse, { orgId: tenant.orgId, expected: jobs * 100, queue }, 60_000);
    await stopTimed(next, 'SIGTERM');

    reportFigures('shutdown-workers', { exit: stop.exit, ms: stop.ms, activeAtSignal, afterStop, found: counts });
    expect(stop.exit, worker.output()).toBe(0);
    expect(stop.ms).toBeLessThan(10_000);
    expect(activeAtSignal).toBeGreaterThan(0);
    // Nothing left half-done: no job still active, and what is stored plus what waits is everything.
    expect(afterStop.state.active).toBe(0);
    expect(afterStop.stored + afterStop.state.unfinished * 100).toBe(jobs * 100);
    expect(counts).toMatchObject({ rows: jobs * 100, distinctSpans: jobs * 100, usageSpans: jobs * 100 });
  }, 120_000);

  it('workers: exit 0 promptly when Redis is down, leaving their jobs to be redelivered', async () => {
    const redis = await startDedicatedRedis();
    try {
      const worker = processes.track(startWorker({ ...env.env, CANOPY_REDIS_URL: redis.url }));
      await waitFor(async () => worker.output().includes('span writer consuming'), { timeoutMs: 20_000, what: 'the worker to start' });
      await redis.kill();
      await new Promise((r) => setTimeout(r, 500));
      const stop = await stopTimed(worker, 'SIGTERM');
      reportFigures('shutdown-workers-redis-down', { exit: stop.exit, ms: stop.ms });
      expect(stop.exit, worker.output()).toBe(0);
      expect(stop.ms).toBeLessThan(10_000);
    } finally {
      await redis.close();
    }
  });

  it('query API: answers the request it is reading, exits 0', async () => {
    const { port, api } = await startQueryApi();
    const readiness = pollers(`http://127.0.0.1:${port}/readyz`, 4);
    await waitFor(async () => readiness.answers.length >= 20, { timeoutMs: 20_000, what: 'readiness traffic' });
    const slow = slowOrgCreate(port);
    await new Promise((r) => setTimeout(r, 200));
    // The pollers stop with the signal: a load balancer that has taken the instance out of rotation.
    const [stop] = await Promise.all([stopTimed(api, 'SIGTERM'), readiness.stop()]);
    const answer = await slow;

    reportFigures('shutdown-query-api', { exit: stop.exit, ms: stop.ms, slowRequest: answer, readinessAnswers: readiness.answers.length });
    expect(stop.exit, api.output()).toBe(0);
    expect(stop.ms).toBeLessThan(10_000);
    expect(stop.ms).toBeGreaterThan(1_000); // it waited for the slow request's body
    expect(answer.status).toBe(401);
  });

  // Both HTTP services use core's createHttpServer, which marks answers sent while stopping
  // `Connection: close` so keep-alive clients cannot hold a stopping process open.
  it('query API: tells keep-alive clients to close once it is stopping', async () => {
    const { port, api } = await startQueryApi();
    const slow = slowOrgCreate(port);
    await new Promise((r) => setTimeout(r, 200));
    const stop = stopTimed(api, 'SIGTERM');
    const answer = await slow;
    await stop;
    expect(answer).toEqual({ status: 401, connection: 'close' });
  });
});

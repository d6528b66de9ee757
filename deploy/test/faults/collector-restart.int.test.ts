import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, createTestOrg, freePort, waitFor, waitForHttp, type TestEnv } from '@canopy/core/testing';
import { buildServices, createProcessRegistry, openQueue, reportFigures, settledCounts, sleep, startCollector, startWorker, stopTimed } from './harness.js';
import { createSpanSource, startTraffic } from './traffic.js';

// The collector restarted with SIGTERM while export requests are in flight: it stops
// accepting, finishes what it has (each 2xx only after Redis holds the batch), exits 0,
// and a new collector takes the port. Clients see 2xx, 503 or a refused/reset connection
// before their request was read — all retryable — and never a 2xx whose spans are lost.

let env: TestEnv;
let queue: ReturnType<typeof openQueue>;
let port: number;
const processes = createProcessRegistry();

beforeAll(async () => {
  buildServices();
  env = await createTestEnv();
  queue = openQueue(env.config.redis.url, env.config.redis.queuePrefix);
  port = await freePort();
  processes.track(startWorker(env.env));
});

afterAll(async () => {
  await processes.killAll();
  await queue?.close();
  await env?.cleanup();
});

/** An export whose body arrives in two halves, `gapMs` apart: in flight for that long. */
function slowExport(options: { key: string; body: string; gapMs: number }): { status: Promise<number> } {
  const half = Math.floor(options.body.length / 2);
  const req = http.request(`http://127.0.0.1:${port}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.key}`, 'content-length': Buffer.byteLength(options.body) },
  });
  const status = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
  req.write(options.body.slice(0, half));
  setTimeout(() => req.end(options.body.slice(half)), options.gapMs);
  return { status };
}

describe('collector restart (SIGTERM) under load', () => {
  it('finishes in-flight requests, exits 0, and every acknowledged span is stored once across two restarts', async () => {
    const started = Date.now();
    const org = await createTestOrg(env, ['prod']);
    const key = org.workspaces.prod!.ingestKey.key;
    let collector = processes.track(startCollector(env.env, port));
    await waitForHttp(`http://127.0.0.1:${port}/readyz`);
    // Large requests on four lanes without pauses, so some are always being read, decoded or enqueued.
    const traffic = startTraffic({ url: `http://127.0.0.1:${port}/v1/traces`, key, lanes: 4, spansPerRequest: 300, pauseMs: 0, maxRetryDelayMs: 200 });
    const slowSource = createSpanSource(50);
    const restarts: Array<{ exit: number | string; ms: number; slowRequest: number }> = [];
    let slowSpans = 0;

    for (let i = 0; i < 2; i++) {
      await waitFor(async () => traffic.stats.acknowledgedRequests >= (i + 1) * 20, { timeoutMs: 30_000, what: 'traffic to flow' });
      const slow = slowSource.next();
      const inFlight = slowExport({ key, body: slow.body, gapMs: 1_000 });
      await sleep(300);
      const stop = stopTimed(collector, 'SIGTERM');
      const slowRequest = await inFlight.status;
      if (slowRequest === 200) slowSpans += slow.spans;
      const { exit, ms } = await stop;
      restarts.push({ exit, ms, slowRequest });
      collector = processes.track(startCollector(env.env, port));
      await waitForHttp(`http://127.0.0.1:${port}/readyz`);
    }
    await sleep(1_000);
    const stats = await traffic.stop();
    const sent = stats.acknowledgedSpans + slowSpans;
    const counts = await settledCounts(env.clickhouse, { orgId: org.orgId, expected: sent, queue }, 60_000);
    const stop = await stopTimed(collector, 'SIGTERM');

    reportFigures('collector-sigterm-restart', { sent, requests: stats.acknowledgedRequests, retries: stats.retries, outcomes: stats.outcomes, restarts, drainMs: counts.waitedMs, found: counts, totalMs: Date.now() - started });
    for (const r of restarts) {
      expect(r.exit).toBe(0);
      expect(r.ms).toBeLessThan(10_000);
      expect(r.slowRequest).toBe(200); // its body was still arriving when SIGTERM came
    }
    expect(stop.exit, collector.output()).toBe(0);
    expect(stats.failed).toEqual([]);
    // Everything but 2xx is a retryable answer or a connection refused/closed before the request was taken.
    for (const outcome of Object.keys(stats.outcomes)) expect(['200', '503', 'ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']).toContain(outcome);
    expect(await queue.state()).toEqual({ unfinished: 0, active: 0, failed: 0 });
    expect(counts).toMatchObject({ rows: sent, distinctSpans: sent, usageSpans: sent });
  }, 120_000);
});

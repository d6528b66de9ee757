import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, createSpanQueue, type OtlpTraceRequest, type SpanQueue } from '@canopy/core';
import { createTestEnv, createTestOrg, freePort, startNodeProcess, waitForHttp, type NodeProcess, type TestEnv } from '@canopy/core/testing';
import { encodeProtobufTraceRequest } from '../src/index.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

// Twice the load the collector can take, on loopback, for a bounded time: its memory
// stays bounded and /healthz keeps answering. Capacity is measured first, in the same
// run, because absolute rates on a shared machine move from run to run.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROBE = fileURLToPath(new URL('./fixtures/health-probe.mjs', import.meta.url));
const SPANS_PER_REQUEST = 200;
const CAPACITY_MS = 3_000;
const OVERLOAD_MS = 10_000;
const RSS_LIMIT_MB = 600;
/** Health checks must come back within this (95% of them) and never take twice as long. */
const HEALTH_WITHIN_MS = 1_000;

let env: TestEnv;
let redis: RedisServer;
let collector: NodeProcess;
let drainConn: ReturnType<typeof createRedis>;
let drainQueue: SpanQueue;
let port: number;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  const org = await createTestOrg(env, ['dev']);
  key = org.workspaces.dev!.ingestKey.key;
  // A Redis of its own: the queue fills at the collector's full rate.
  redis = await startRedisServer(await freePort());
  drainConn = createRedis(redis.url, { forWorker: true });
  drainQueue = createSpanQueue(drainConn, env.config.redis.queuePrefix);
  port = await freePort();
  collector = startNodeProcess(
    `${ROOT}collector/dist/main.js`,
    { ...env.env, CANOPY_REDIS_URL: redis.url, CANOPY_COLLECTOR_PORT: String(port), CANOPY_COLLECTOR_HOST: '127.0.0.1', CANOPY_LOG_LEVEL: 'warn' },
    // The flags `npm start` runs the collector with.
    { nodeArgs: ['--max-semi-space-size=32'] },
  );
  await waitForHttp(`http://127.0.0.1:${port}/readyz`);
});

afterAll(async () => {
  await collector?.stop();
  await drainQueue?.close().catch(() => undefined);
  drainConn?.disconnect();
  await redis?.stop();
  await env?.cleanup();
});

function body(seq: number): Buffer {
  const spans = Array.from({ length: SPANS_PER_REQUEST }, (_, i) => {
    const start = BigInt(Date.now() - 60_000) * 1_000_000n + BigInt(i * 1000);
    return {
      traceId: randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      name: `GET /api/items/${i % 7}`,
      kind: 2,
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: (start + 1_500_000n).toString(),
      attributes: [
        { key: 'http.request.method', value: { stringValue: 'GET' } },
        { key: 'http.route', value: { stringValue: '/api/items/:id' } },
        { key: 'http.response.status_code', value: { intValue: '200' } },
        { key: 'user.id', value: { stringValue: `u-${(seq * 31 + i) % 5000}` } },
        { key: 'db.statement', value: { stringValue: 'SELECT id, name, price FROM items WHERE cart_id = $1' } },
        { key: 'cart.total', value: { doubleValue: i * 1.25 } },
      ],
      events: i % 5 === 0 ? [{ timeUnixNano: (start + 500n).toString(), name: 'cache.miss' }] : [],
      status: { code: 0 },
    };
  });
  const request: OtlpTraceRequest = {
    resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${seq % 5}` } }] }, scopeSpans: [{ scope: { name: 'load' }, spans }] }],
  } as OtlpTraceRequest;
  return Buffer.from(encodeProtobufTraceRequest(request));
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function post(payload: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/v1/traces', method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}`, 'content-length': payload.length } },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', () => resolve(-1));
    req.end(payload);
  });
}

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return kb / 1024;
}

describe('collector under twice its capacity', () => {
  it(`keeps RSS under ${RSS_LIMIT_MB} MB and answers /healthz within ${HEALTH_WITHIN_MS} ms`, async () => {
    const payloads = Array.from({ length: 20 }, (_, i) => body(i));
    const pid = collector.child.pid!;
    const stats = { rssMaxMb: 0, healthMaxMs: 0, healthP95Ms: 0, healthChecks: 0, healthFailures: 0 };
    let watching = true;
    // /healthz is polled from a process of its own: this one is busy generating the load.
    const probe = startNodeProcess(PROBE, { PROBE_URL: `http://127.0.0.1:${port}/healthz`, INTERVAL_MS: '200' });
    // Keep the queue short (nothing consumes it here): Redis memory is not what is measured.
    const drainer = setInterval(() => void drainQueue.queue.drain(true).catch(() => undefined), 500);
    const rssWatch = (async () => {
      while (watching) {
        stats.rssMaxMb = Math.max(stats.rssMaxMb, rssMb(pid));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const readProbe = (): void => {
      const checks = probe
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { ms: number; status: number });
      stats.healthChecks = checks.length;
      stats.healthFailures = checks.filter((c) => c.status !== 200).length;
      const sorted = checks.map((c) => c.ms).sort((a, b) => a - b);
      stats.healthMaxMs = sorted.at(-1) ?? 0;
      stats.healthP95Ms = sorted[Math.floor(sorted.length * 0.95)] ?? 0;
    };

    try {
      // 1. Capacity: a closed loop, as many requests in flight as an SDK fleet would keep.
      let accepted = 0;
      let seq = 0;
      const until = Date.now() + CAPACITY_MS;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (Date.now() < until) if ((await post(payloads[seq++ % payloads.length]!)) === 200) accepted++;
        }),
      );
      const capacityRps = accepted / (CAPACITY_MS / 1000);
      const rssAtCapacityMb = stats.rssMaxMb;

      // 2. Twice that, open loop: requests keep arriving whether or not earlier ones were answered.
      const targetRps = 2 * capacityRps;
      const codes: Record<string, number> = {};
      const outstanding = new Set<Promise<void>>();
      const started = Date.now();
      let sent = 0;
      while (Date.now() - started < OVERLOAD_MS) {
        const due = Math.floor(((Date.now() - started) / 1000) * targetRps);
        for (; sent < due; sent++) {
          const p = post(payloads[sent % payloads.length]!).then((code) => {
            codes[code] = (codes[code] ?? 0) + 1;
            outstanding.delete(p);
          });
          outstanding.add(p);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all(outstanding);
      const overloadMs = Date.now() - started;
      const acceptedRps = (codes[200] ?? 0) / (overloadMs / 1000);
      readProbe();

      const summary = { capacityRps: Math.round(capacityRps), spansPerRequest: SPANS_PER_REQUEST, offeredRps: Math.round(targetRps), acceptedRps: Math.round(acceptedRps), codes, rssAtCapacityMb: Math.round(rssAtCapacityMb), ...stats, rssMaxMb: Math.round(stats.rssMaxMb), healthMaxMs: Math.round(stats.healthMaxMs), healthP95Ms: Math.round(stats.healthP95Ms) };
      process.stderr.write(`[load] ${JSON.stringify(summary)}\n`);

      expect(capacityRps, JSON.stringify(summary)).toBeGreaterThan(5);
      expect(stats.rssMaxMb, JSON.stringify(summary)).toBeLessThan(RSS_LIMIT_MB);
      expect(stats.healthChecks, JSON.stringify(summary)).toBeGreaterThan(20);
      expect(stats.healthFailures, JSON.stringify(summary)).toBe(0);
      // The host is shared with other tests: allow the odd scheduling hiccup, not a stall.
      expect(stats.healthP95Ms, JSON.stringify(summary)).toBeLessThan(HEALTH_WITHIN_MS);
      expect(stats.healthMaxMs, JSON.stringify(summary)).toBeLessThan(2 * HEALTH_WITHIN_MS);
      // Every answer is a 200 or a retryable refusal; no request was dropped or failed.
      expect(Object.keys(codes).filter((c) => !['200', '429', '503'].includes(c)), JSON.stringify(summary)).toEqual([]);
      // Overload does not collapse throughput (loosely: the machine is shared, rates move between phases).
      expect(acceptedRps, JSON.stringify(summary)).toBeGreaterThan(capacityRps * 0.25);
      expect(collector.child.exitCode).toBeNull();
    } finally {
      watching = false;
      clearInterval(drainer);
      await probe.stop('SIGKILL');
      await rssWatch;
    }
  });
});

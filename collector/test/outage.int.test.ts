import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, createSpanQueue, groupsToJsonEachRow, spanBatchSchema } from '@canopy/core';
import { createTestEnv, createTestOrg, freePort, startNodeProcess, waitFor, waitForHttp, type NodeProcess, type TestEnv } from '@canopy/core/testing';
import { startRedisServer, type RedisServer } from './redis-server.js';

// A short Redis outage with the real OTel JS exporter on the other side: the collector
// answers 503 + Retry-After while Redis is down, the exporter retries, and once Redis is
// back every span is queued exactly once.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVICE = fileURLToPath(new URL('./fixtures/otel-outage-service.mjs', import.meta.url));
const SPANS = 40;

let env: TestEnv;
let redis: RedisServer;
let collector: NodeProcess;
let url: string;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  const org = await createTestOrg(env, ['dev']);
  key = org.workspaces.dev!.ingestKey.key;
  redis = await startRedisServer(await freePort());
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  collector = startNodeProcess(`${ROOT}collector/dist/main.js`, { ...env.env, CANOPY_REDIS_URL: redis.url, CANOPY_COLLECTOR_PORT: String(port), CANOPY_COLLECTOR_HOST: '127.0.0.1' });
  await waitForHttp(`${url}/readyz`);
});

afterAll(async () => {
  await collector?.stop();
  await redis?.stop();
  await env?.cleanup();
});

async function sample(name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

interface ServiceReport {
  spans: Array<{ traceId: string; spanId: string }>;
  results: Array<{ code: number; spans: number; error?: string }>;
  flushMs: number;
}

describe('a Redis outage under the real OTel exporter', () => {
  it('refuses spans with 503 + Retry-After while Redis is down, and they all arrive once it is back', async () => {
    await redis.kill();
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 503, { what: 'collector sees Redis down' });

    const service = startNodeProcess(SERVICE, {
      SPANS: String(SPANS),
      OTEL_SERVICE_NAME: 'outage-test',
      OTEL_EXPORTER_OTLP_ENDPOINT: url,
      OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer%20${key}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      // The exporter gives up once a retry would land past this; the default 10 s is tight.
      OTEL_EXPORTER_OTLP_TIMEOUT: '30000',
    });
    try {
      await waitFor(async () => (await sample('canopy_collector_requests_total{code="503"}')) >= 1, { what: 'a 503 during the outage', intervalMs: 50 });
      await new Promise((r) => setTimeout(r, 1_500)); // the outage goes on a little longer
      const refusedDuringOutage = await sample('canopy_collector_requests_total{code="503"}');
      await redis.restart();

      expect(await service.exited, service.output()).toBe(0);
      const report = JSON.parse(service.output().trim().split('\n').pop()!) as ServiceReport;
      expect(report.results).toEqual([{ code: 0, spans: SPANS }]); // ExportResultCode.SUCCESS, in one export
      expect(refusedDuringOutage).toBeGreaterThanOrEqual(1);
      expect(await sample('canopy_collector_requests_total{code="200"}')).toBe(1);

      // Exactly the spans the service made, each once.
      const conn = createRedis(redis.url, { forWorker: true });
      const queue = createSpanQueue(conn, env.config.redis.queuePrefix);
      try {
        const jobs = await queue.queue.getJobs(['wait']);
        const rows = jobs.flatMap((j) => groupsToJsonEachRow(spanBatchSchema.parse(j.data).groups).split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));
        const got = rows.map((r) => `${String(r.trace_id)}/${String(r.span_id)}`).sort();
        expect(got).toEqual(report.spans.map((s) => `${s.traceId}/${s.spanId}`).sort());
        expect(rows.every((r) => r.service_name === 'outage-test')).toBe(true);
      } finally {
        await queue.close();
        conn.disconnect();
      }
    } finally {
      await service.stop('SIGKILL');
    }
  });
});

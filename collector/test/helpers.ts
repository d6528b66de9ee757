import { gzipSync } from 'node:zlib';
import {
  createKeyCache,
  createLogger,
  createRedis,
  createSpanQueue,
  spanBatchSchema,
  type KeyCache,
  type OtlpTraceRequest,
  groupsToJsonEachRow,
  type SpanBatch,
  type SpanQueue,
} from '@canopy/core';
import { waitFor, type TestEnv } from '@canopy/core/testing';
import type { Redis } from 'ioredis';
import { createCollector, encodeProtobufTraceRequest, type Collector, type CollectorOptions } from '../src/index.js';

export interface RunningCollector {
  url: string;
  collector: Collector;
  queue: SpanQueue;
  redis: Redis;
  keys: KeyCache;
  /** batches waiting in the queue, parsed with the queue contract */
  batches(): Promise<SpanBatch[]>;
  close(): Promise<void>;
}

/** A collector in-process on a random port, wired to the test env's real Postgres and Redis. */
export async function startCollector(
  env: TestEnv,
  options: Partial<CollectorOptions> = {},
  wiring: { redisUrl?: string; waitForRedis?: boolean } = {},
): Promise<RunningCollector> {
  const log = createLogger({ level: 'silent', pretty: false }, 'collector');
  const keys = await createKeyCache({ pool: env.pool, log }, { ttlMs: 60_000, negativeTtlMs: 1_000, listenUrl: env.config.postgres.url });
  const redis = createRedis(wiring.redisUrl ?? env.config.redis.url);
  redis.on('error', () => undefined);
  const queue = createSpanQueue(redis, env.config.redis.queuePrefix);
  if (wiring.waitForRedis !== false) await waitFor(async () => redis.status === 'ready', { what: 'redis ready' });
  const collector = createCollector({ queue, keys, redis, log }, { maxBodyBytes: 1024 * 1024, ...options });
  const { port } = await collector.listen(0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    collector,
    queue,
    redis,
    keys,
    async batches() {
      const jobs = await queue.queue.getJobs(['wait']);
      return jobs.map((j) => spanBatchSchema.parse(j.data)).sort((a, b) => a.receivedAtMs - b.receivedAtMs);
    },
    async close() {
      await collector.close();
      // Disconnecting first lets a queue that never reached Redis finish closing.
      redis.disconnect();
      await queue.close().catch(() => undefined);
      await keys.close();
    },
  };
}

export type Encoding = 'protobuf' | 'json';

export const CONTENT_TYPE: Record<Encoding, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };

/** Body bytes for a request object in either OTLP encoding. */
export function encodeRequest(request: OtlpTraceRequest, encoding: Encoding): Buffer {
  return encoding === 'protobuf' ? Buffer.from(encodeProtobufTraceRequest(request)) : Buffer.from(JSON.stringify(request));
}

export async function postTraces(
  url: string,
  body: Uint8Array | string,
  options: { key?: string | null; contentType?: string; gzip?: boolean; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': options.contentType ?? CONTENT_TYPE.protobuf, ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let payload: Uint8Array | string = body;
  if (options.gzip) {
    payload = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  return fetch(`${url}/v1/traces`, { method: 'POST', headers, body: payload });
}

export const bytesOf = async (res: Response): Promise<Uint8Array> => new Uint8Array(await res.arrayBuffer());

export const TRACE_ID = '5b8efff798038103d269b633813fc60c';

/** A span in OTLP/JSON shape (hex ids, nanosecond strings) with a few typed attributes. */
export function span(i: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    traceId: TRACE_ID,
    spanId: (0x1000 + i).toString(16).padStart(16, '0'),
    parentSpanId: i === 0 ? '' : '0000000000001000',
    name: `op-${i}`,
    kind: 2,
    startTimeUnixNano: `17000000000000000${String(i).padStart(2, '0')}`,
    endTimeUnixNano: `17000000012345678${String(i).padStart(2, '0')}`,
    attributes: [
      { key: 'http.method', value: { stringValue: 'GET' } },
      { key: 'http.status_code', value: { intValue: '200' } },
      { key: 'retry', value: { boolValue: true } },
      { key: 'ratio', value: { doubleValue: 0.25 } },
    ],
    status: { code: 1, message: '' },
    ...overrides,
  };
}

export function traceRequest(spans: Array<Record<string, unknown>>, serviceName = 'checkout'): OtlpTraceRequest {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: serviceName } }] },
        scopeSpans: [{ scope: { name: 'test-lib', version: '1.0.0' }, spans }],
      },
    ],
  } as OtlpTraceRequest;
}

export const rowsOf = (batch: SpanBatch): Array<Record<string, unknown>> => groupsToJsonEachRow(batch.groups).split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

export { gzipSync };

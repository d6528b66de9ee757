import { Queue, Worker } from 'bullmq';
import { createRedis, groupsToJsonEachRow, normalizeTraceRequest, type RowGroup } from '@canopy/core';
import { decodeProtobufTraceRequest, encodeProtobufTraceRequest } from '@canopy/collector';
import { generateRequest } from './generate.js';
import { round } from './stats.js';

/**
 * Which payload should the queue carry? Both designs do the same work in the collector
 * up to validation (decode + normalize: partial success needs every span checked); they
 * differ in what crosses Redis and what the worker must redo:
 *  - rows: the normalized row groups; the worker only expands them to JSONEachRow text;
 *  - otlp: the raw protobuf (base64, BullMQ data is JSON); the worker decodes and
 *    normalizes again before it can insert.
 * Measured as CPU time per span on each side plus Redis CPU and bytes, same spans, same run.
 */

interface Side {
  collectorUsPerSpan: number;
  workerUsPerSpan: number;
  redisUsPerSpan: number;
  queuedBytesPerSpan: number;
}

const ctx = { orgId: 'org_bench', workspaceId: 'ws_bench', batchId: 'b', ingestedAtSec: 1_800_000_000 };

async function redisCpuUs(redis: ReturnType<typeof createRedis>): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string): number => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (get('used_cpu_user') + get('used_cpu_sys')) * 1e6;
}

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

interface Design {
  toPayload: (body: Uint8Array) => { data: Record<string, unknown>; bytes: number };
  consume: (data: Record<string, unknown>) => number;
}

async function measure(run: { redisUrl: string; bodies: Uint8Array[]; spansPerRequest: number }, design: Design): Promise<Side> {
  const { redisUrl, bodies, spansPerRequest } = run;
  const redis = createRedis(redisUrl, { forWorker: true });
  const prefix = `qfmt${Date.now().toString(36)}`;
  const queue = new Queue('q', { connection: redis, prefix });
  const spans = bodies.length * spansPerRequest;
  let bytes = 0;
  const redis0 = await redisCpuUs(redis);
  const c0 = cpuUs();
  for (const body of bodies) {
    const { data, bytes: b } = design.toPayload(body);
    bytes += b;
    await queue.add('b', data, { removeOnComplete: true });
  }
  const c1 = cpuUs();
  let done = 0;
  let sink = 0;
  const workerRedis = createRedis(redisUrl, { forWorker: true });
  let resolveDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (resolveDone = resolve));
  const worker = new Worker(
    'q',
    async (job) => {
      sink += design.consume(job.data as Record<string, unknown>);
      if (++done === bodies.length) resolveDone();
    },
    { connection: workerRedis, prefix, concurrency: 16 },
  );
  await finished;
  await worker.close();
  workerRedis.disconnect();
  const c2 = cpuUs();
  const redis1 = await redisCpuUs(redis);
  await queue.obliterate({ force: true });
  await queue.close();
  redis.disconnect();
  if (sink === 0) throw new Error('consumer produced nothing');
  return {
    collectorUsPerSpan: round((c1 - c0) / spans, 2),
    workerUsPerSpan: round((c2 - c1) / spans, 2),
    redisUsPerSpan: round((redis1 - redis0) / spans, 2),
    queuedBytesPerSpan: round(bytes / spans, 1),
  };
}

export async function runQueueFormatBench(options: { redisUrl: string; requests: number; spansPerRequest: number }): Promise<Record<string, unknown>> {
  const base = BigInt(Date.now()) * 1_000_000n;
  const bodies = Array.from({ length: options.requests }, (_, i) => encodeProtobufTraceRequest(generateRequest(options.spansPerRequest, i, base).request));
  const run = { redisUrl: options.redisUrl, bodies, spansPerRequest: options.spansPerRequest };
  const rows = await measure(run, {
    toPayload: (body) => {
      const n = normalizeTraceRequest(decodeProtobufTraceRequest(body), ctx);
      const groups = n.groups;
      return { data: { groups }, bytes: groups.reduce((a, g) => a + g.prefix.length + g.spans.length, 0) };
    },
    consume: (data) => groupsToJsonEachRow(data.groups as RowGroup[]).length,
  });
  const otlp = await measure(run, {
    toPayload: (body) => {
      // Validation still needs the full decode + normalize in the collector.
      normalizeTraceRequest(decodeProtobufTraceRequest(body), ctx);
      const otlpBase64 = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64');
      return { data: { otlpBase64 }, bytes: otlpBase64.length };
    },
    consume: (data) => normalizeTraceRequest(decodeProtobufTraceRequest(Buffer.from(data.otlpBase64 as string, 'base64')), ctx).rows.length,
  });
  const total = (s: Side): number => s.collectorUsPerSpan + s.workerUsPerSpan + s.redisUsPerSpan;
  return {
    bench: 'queue-format',
    figures: { spans: options.requests * options.spansPerRequest, rows, otlp, rowsTotalUsPerSpan: round(total(rows), 2), otlpTotalUsPerSpan: round(total(otlp), 2) },
    ratios: { rowsCpuVsOtlpCpu: round(total(rows) / total(otlp), 3), rowsBytesVsOtlpBytes: round(rows.queuedBytesPerSpan / otlp.queuedBytesPerSpan, 3) },
  };
}

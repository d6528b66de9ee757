import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyCache, createLogger, type KeyCache } from '@canopy/core';
import { createTestEnv, createTestOrg, waitFor, type TestEnv } from '@canopy/core/testing';
import { createCollector, decodeRpcStatus, type Admit, type Collector, type CollectorDeps, type CollectorOptions } from '../src/index.js';
import { bytesOf, encodeRequest, postTraces, span, startCollector, traceRequest } from './helpers.js';

let env: TestEnv;
let key: string;
let keys: KeyCache;
const silent = createLogger({ level: 'silent', pretty: false }, 'collector');
let bodies = 0;
/** A valid request with spans no other request has: identical bodies are one request to the queue. */
const validBody = (): Buffer => {
  const n = 2 * bodies++;
  return encodeRequest(traceRequest([span(n), span(n + 1)]), 'protobuf');
};

beforeAll(async () => {
  env = await createTestEnv();
  const org = await createTestOrg(env, ['dev']);
  key = org.workspaces.dev!.ingestKey.key;
  keys = await createKeyCache({ pool: env.pool, log: silent }, { ttlMs: 60_000, negativeTtlMs: 1_000 });
});

afterAll(async () => {
  await keys?.close();
  await env?.cleanup();
});

/** A collector over fakes (queue, Redis) and the real key store. */
async function fakeCollector(deps: Partial<CollectorDeps>, options: Partial<CollectorOptions> = {}): Promise<{ url: string; port: number; collector: Collector }> {
  const collector = createCollector(
    { queue: { add: async () => undefined }, keys, redis: { status: 'ready', ping: async () => 'PONG' }, log: silent, ...deps },
    { maxBodyBytes: 1024 * 1024, ...options },
  );
  const { port } = await collector.listen(0, '127.0.0.1');
  return { url: `http://127.0.0.1:${port}`, port, collector };
}

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A POST whose body is written by `write` at its own pace, so a test can hold a request
 * open mid-body or never send a body at all. Resolves with the answer.
 */
function rawPost(port: number, headers: Record<string, string | number>, write: (req: http.ClientRequest) => void): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/traces', method: 'POST', headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}`, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    req.flushHeaders();
    write(req);
  });
}

/** A valid request padded to exactly `size` bytes with an unknown field (number 99), which decoders skip. */
function paddedBody(size: number): Buffer {
  const valid = validBody();
  const padLen = size - valid.length - 5; // 2-byte tag + 3-byte length
  const tag = Buffer.from([0x9a, 0x06]); // (99 << 3) | 2 as a varint
  const len = Buffer.from([(padLen & 0x7f) | 0x80, ((padLen >> 7) & 0x7f) | 0x80, padLen >> 14]);
  return Buffer.concat([valid, tag, len, Buffer.alloc(padLen, 0x61)]);
}

const retryAfterOk = (value: string | null | undefined): boolean => Number(value) >= 1 && Number(value) <= 5;

describe('queue depth', () => {
  it('answers 503 with Retry-After once the queue is deeper than the bound, and accepts again when it drains', async () => {
    const c = await startCollector(env, { maxQueueDepth: 3, queueDepthCacheMs: 50 });
    try {
      for (let i = 0; i < 4; i++) expect((await postTraces(c.url, validBody(), { key })).status).toBe(200);
      const refused = await waitFor(
        async () => {
          const res = await postTraces(c.url, validBody(), { key });
          return res.status === 503 ? res : null;
        },
        { timeoutMs: 5_000, intervalMs: 60, what: '503 from a deep queue' },
      );
      expect(retryAfterOk(refused.headers.get('retry-after'))).toBe(true);
      expect(decodeRpcStatus('protobuf', await bytesOf(refused))).toMatchObject({ code: 14, message: expect.stringMatching(/more than 3 batches/) });

      await c.queue.queue.drain(true);
      await waitFor(async () => (await postTraces(c.url, validBody(), { key })).status === 200, { timeoutMs: 5_000, intervalMs: 60, what: 'accepted after draining' });
    } finally {
      await c.close();
    }
  });

  it('reads the depth in the background at most once per interval, however many requests arrive', async () => {
    let reads = 0;
    const { url, collector } = await fakeCollector(
      {
        queue: {
          add: async () => undefined,
          depth: async () => {
            reads++;
            return 0;
          },
        },
      },
      { queueDepthCacheMs: 250 },
    );
    try {
      const started = Date.now();
      const body = validBody();
      for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 20 }, () => postTraces(url, body, { key }).then((r) => r.arrayBuffer())));
      const elapsed = Date.now() - started;
      expect(reads).toBeGreaterThanOrEqual(1);
      expect(reads).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 1);
    } finally {
      await collector.close();
    }
  });
});

describe('Redis unreachable', () => {
  it('answers 503 with Retry-After without reading the body', async () => {
    const { port, collector } = await fakeCollector({ redis: { status: 'reconnecting', ping: () => Promise.reject(new Error('down')) } });
    try {
      // Headers only: the body is never sent, so an answer proves it was not waited for.
      const answer = await rawPost(port, { 'content-length': 500_000 }, () => undefined);
      expect(answer.status).toBe(503);
      expect(retryAfterOk(answer.headers['retry-after'])).toBe(true);
      expect(decodeRpcStatus('protobuf', answer.body).message).toMatch(/Redis\) is unreachable/);
    } finally {
      await collector.close();
    }
  });
});

describe('CPU saturation', () => {
  /** A request of `spans` spans: enough to keep the decoder busy for a while. */
  const bigBody = (spans: number): Buffer => encodeRequest(traceRequest(Array.from({ length: spans }, (_, i) => span(i % 90, { spanId: (0x100000 + i).toString(16).padStart(16, '0') }))), 'protobuf');

  it('decodes one request per event-loop turn, so /healthz is answered while a pile of bodies waits', async () => {
    const { url, collector } = await fakeCollector({}, { maxBodyBytes: 4 * 1024 * 1024, maxDecodeWaitMs: 60_000 });
    try {
      const body = bigBody(3_000);
      let completed = 0;
      const exports = Array.from({ length: 24 }, () => postTraces(url, body, { key }).then(async (r) => (await r.arrayBuffer(), completed++, r.status)));
      await new Promise((r) => setTimeout(r, 150));
      const health = await fetch(`${url}/healthz`);
      const completedBeforeHealth = completed;
      expect(health.status).toBe(200);
      expect(await Promise.all(exports)).toEqual(Array(24).fill(200));
      // The health check did not wait behind the decodes queued before it. (How many finish
      // in the first 150 ms depends on the machine's load, so only "not all" is asserted.)
      expect(completedBeforeHealth).toBeLessThan(24);
    } finally {
      await collector.close();
    }
  });

  it('answers 503 with Retry-After before reading the body once the decode queue would make it wait too long, and recovers', async () => {
    const { url, collector } = await fakeCollector({}, { maxBodyBytes: 4 * 1024 * 1024, maxDecodeWaitMs: 20 });
    try {
      const body = bigBody(3_000);
      // One at a time first: the queue learns how long a decode of this size takes.
      for (let i = 0; i < 3; i++) expect((await postTraces(url, body, { key })).status).toBe(200);
      const answers = await Promise.all(
        Array.from({ length: 30 }, async () => {
          const res = await postTraces(url, body, { key });
          return { status: res.status, retryAfter: res.headers.get('retry-after'), message: res.status === 503 ? decodeRpcStatus('protobuf', await bytesOf(res)).message : '' };
        }),
      );
      const refused = answers.filter((a) => a.status === 503);
      expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(0);
      expect(refused.length).toBeGreaterThan(0);
      for (const a of refused) {
        expect(retryAfterOk(a.retryAfter)).toBe(true);
        expect(a.message).toMatch(/ms of decoding queued/);
      }
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/canopy_collector_request_errors_total\{code="busy"\} [1-9]/);
      expect((await postTraces(url, body, { key })).status).toBe(200);
    } finally {
      await collector.close();
    }
  });
});

describe('in-flight bytes', () => {
  const MAX = 64 * 1024;

  it('refuses a request whose declared body does not fit, before reading it, and one that outgrows the budget while being read', async () => {
    const { url, port, collector } = await fakeCollector({}, { maxBodyBytes: MAX, maxInflightBytes: MAX });
    try {
      const held = paddedBody(60_000);
      // A holds 50 000 bytes of the 65 536 and waits for the rest.
      let finishA: () => void = () => undefined;
      const a = rawPost(port, { 'content-length': held.length }, (req) => {
        req.write(held.subarray(0, 50_000));
        finishA = () => req.end(held.subarray(50_000));
      });
      await waitFor(async () => /canopy_collector_inflight_bytes 50000/.test(await (await fetch(`${url}/metrics`)).text()), { what: 'A charged', intervalMs: 20 });

      // B declares 20 000 more: refused at once, its body never sent.
      const b = await rawPost(port, { 'content-length': 20_000 }, () => undefined);
      expect(b.status).toBe(503);
      expect(retryAfterOk(b.headers['retry-after'])).toBe(true);
      expect(b.headers.connection).toBe('close');
      expect(decodeRpcStatus('protobuf', b.body).message).toMatch(/holds as many request bytes/);

      // C declares nothing (chunked) and is cut off once it passes what is left.
      const c = await rawPost(port, { 'transfer-encoding': 'chunked' }, (req) => {
        req.write(Buffer.alloc(10_000, 0x0a));
        setTimeout(() => req.end(Buffer.alloc(10_000, 0x0a)), 50);
      });
      expect(c.status).toBe(503);

      finishA();
      expect((await a).status).toBe(200);
      await waitFor(async () => /canopy_collector_inflight_bytes 0/.test(await (await fetch(`${url}/metrics`)).text()), { what: 'budget released', intervalMs: 20 });
      expect((await postTraces(url, paddedBody(20_000), { key })).status).toBe(200);
    } finally {
      await collector.close();
    }
  });

  it('gives the budget back when a request fails or its client goes away', async () => {
    const { url, port, collector } = await fakeCollector({}, { maxBodyBytes: MAX, maxInflightBytes: MAX });
    try {
      expect((await postTraces(url, Buffer.from('garbage that is no protobuf'), { key })).status).toBe(400);
      await new Promise<void>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/v1/traces', method: 'POST', headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}`, 'content-length': 60_000 }, agent: false });
        req.on('error', () => resolve());
        req.write(Buffer.alloc(30_000));
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 100);
      });
      await waitFor(async () => /canopy_collector_inflight_bytes 0/.test(await (await fetch(`${url}/metrics`)).text()), { what: 'budget released', intervalMs: 20 });
    } finally {
      await collector.close();
    }
  });
});

describe('request timeout', () => {
  it('answers 408 and closes a request whose body stalls, within a second of the timeout, and frees what it held', async () => {
    const { url, port, collector } = await fakeCollector({}, { requestTimeoutMs: 1_000 });
    try {
      const started = Date.now();
      const answer = await rawPost(port, { 'content-length': 10_000 }, (req) => req.write(Buffer.alloc(5_000)));
      expect(answer.status).toBe(408);
      expect(Date.now() - started).toBeLessThan(2_500);
      await waitFor(async () => /canopy_collector_inflight_bytes 0/.test(await (await fetch(`${url}/metrics`)).text()), { what: 'budget released', intervalMs: 20 });
    } finally {
      await collector.close();
    }
  });
});

describe('the admit hook (quotas)', () => {
  it('answers 429 with the Retry-After it asks for and queues nothing when it limits a tenant', async () => {
    const calls: Parameters<Admit>[] = [];
    let added = 0;
    const admit: Admit = (tenant, load) => {
      calls.push([tenant, load]);
      return { status: 'limited', retryAfterMs: 2_500, reason: 'monthly span quota used up' };
    };
    const { url, collector } = await fakeCollector({ admit, queue: { add: async () => void added++ } });
    try {
      const res = await postTraces(url, validBody(), { key });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('3');
      expect(decodeRpcStatus('protobuf', await bytesOf(res))).toMatchObject({ code: 8, message: expect.stringMatching(/monthly span quota used up/) });
      expect(added).toBe(0);
      expect(calls).toHaveLength(1);
      expect(calls[0]![0]).toMatchObject({ orgId: expect.any(String), workspaceId: expect.any(String), keyId: expect.any(String) });
      expect(calls[0]![1]).toMatchObject({ spans: 2, bytes: expect.any(Number) });
    } finally {
      await collector.close();
    }
  });

  it('admits everything by default', async () => {
    const { url, collector } = await fakeCollector({});
    try {
      expect((await postTraces(url, validBody(), { key })).status).toBe(200);
    } finally {
      await collector.close();
    }
  });
});

import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createLogger, revokeApiKey } from '@canopy/core';
import { createTestEnv, createTestOrg, waitFor, type TestEnv } from '@canopy/core/testing';
import { createCollector, decodeRpcStatus } from '../src/index.js';
import { bytesOf, CONTENT_TYPE, encodeRequest, postTraces, span, startCollector, traceRequest, type RunningCollector } from './helpers.js';

const MAX_BODY = 64 * 1024;

let env: TestEnv;
let org: Awaited<ReturnType<typeof createTestOrg>>;
let c: RunningCollector;
let key: string;
const validBody = (): Buffer => encodeRequest(traceRequest([span(0)]), 'protobuf');

beforeAll(async () => {
  env = await createTestEnv();
  org = await createTestOrg(env, ['dev']);
  key = org.workspaces.dev!.ingestKey.key;
  c = await startCollector(env, { maxBodyBytes: MAX_BODY });
});

afterAll(async () => {
  await c?.close();
  await env?.cleanup();
});

/** Status body of an error answer, decoded in the encoding the request used. */
async function statusOf(res: Response, encoding: 'protobuf' | 'json' = 'json'): Promise<{ code: number; message: string }> {
  expect(res.headers.get('content-type')).toBe(CONTENT_TYPE[encoding]);
  return decodeRpcStatus(encoding, await bytesOf(res));
}

/** gzip of `size` zero bytes, streamed so the test never holds the inflated form. */
async function gzipBomb(size: number): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (b: Buffer) => out.push(b));
  const done = new Promise((r) => gz.on('end', r));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let written = 0; written < size; written += zeros.length) {
    if (!gz.write(zeros)) await new Promise((r) => gz.once('drain', r));
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

describe('authentication', () => {
  it('answers 401 with a Status body when no key is sent', async () => {
    const res = await postTraces(c.url, validBody(), { key: null, contentType: CONTENT_TYPE.protobuf });
    expect(res.status).toBe(401);
    expect(await statusOf(res, 'protobuf')).toMatchObject({ code: 16, message: expect.stringMatching(/missing API key/) });
  });

  it('answers 401 to an unknown key without echoing it', async () => {
    const res = await postTraces(c.url, validBody(), { key: 'cnp_api_not-a-real-key', contentType: CONTENT_TYPE.json });
    expect(res.status).toBe(401);
    const status = await statusOf(res);
    expect(status.message).not.toContain('not-a-real-key');
  });

  it('reads the key from X-API-Key as well as Authorization', async () => {
    const res = await postTraces(c.url, validBody(), { key: null, headers: { 'x-api-key': key } });
    expect(res.status).toBe(200);
  });

  it('answers 403 to a read-only key', async () => {
    const res = await postTraces(c.url, validBody(), { key: org.workspaces.dev!.readKey.key });
    expect(res.status).toBe(403);
    expect((await statusOf(res, 'protobuf')).code).toBe(7);
  });

  it('answers 403 to an ingest key that belongs to no workspace', async () => {
    const orgKey = await createApiKey(env.pool, { orgId: org.orgId, workspaceId: null, name: 'org-wide', scopes: ['ingest'] });
    const res = await postTraces(c.url, validBody(), { key: orgKey.key });
    expect(res.status).toBe(403);
  });

  it('answers 401 to an expired key', async () => {
    const expired = await createApiKey(env.pool, {
      orgId: org.orgId,
      workspaceId: org.workspaces.dev!.id,
      name: 'old',
      scopes: ['ingest'],
      expiresAt: new Date(Date.now() - 60_000),
    });
    expect((await postTraces(c.url, validBody(), { key: expired.key })).status).toBe(401);
  });

  it('stops accepting a key within a second of its revocation', async () => {
    const fresh = await createApiKey(env.pool, { orgId: org.orgId, workspaceId: org.workspaces.dev!.id, name: 'soon revoked', scopes: ['ingest'] });
    expect((await postTraces(c.url, validBody(), { key: fresh.key })).status).toBe(200); // now cached
    await revokeApiKey(env.pool, fresh.id);
    const revokedAt = Date.now();
    await waitFor(async () => (await postTraces(c.url, validBody(), { key: fresh.key })).status === 401, { timeoutMs: 3_000, intervalMs: 50, what: 'revoked key refused' });
    expect(Date.now() - revokedAt).toBeLessThan(1_500);
  });
});

describe('request errors', () => {
  it('answers 405 with Allow: POST to GET /v1/traces', async () => {
    const res = await fetch(`${c.url}/v1/traces`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect((await statusOf(res)).code).toBe(12);
  });

  it('answers 404 to an unknown path', async () => {
    const res = await fetch(`${c.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': CONTENT_TYPE.protobuf }, body: validBody() });
    expect(res.status).toBe(404);
    expect((await statusOf(res, 'protobuf')).code).toBe(5);
  });

  it('answers 415 to text/plain', async () => {
    const res = await postTraces(c.url, 'hello', { key, contentType: 'text/plain' });
    expect(res.status).toBe(415);
    expect((await statusOf(res)).message).toMatch(/text\/plain/);
  });

  it('answers 415 to a content encoding other than gzip', async () => {
    const res = await postTraces(c.url, validBody(), { key, headers: { 'content-encoding': 'br' } });
    expect(res.status).toBe(415);
    expect((await statusOf(res, 'protobuf')).message).toMatch(/br/);
  });

  it('answers 413 to a gzip bomb: small on the wire, over the limit once inflated', async () => {
    const bomb = await gzipBomb(48 * 1024 * 1024); // deflate tops out near 1000:1
    expect(bomb.length).toBeLessThan(MAX_BODY);
    const started = Date.now();
    const res = await fetch(`${c.url}/v1/traces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': CONTENT_TYPE.protobuf, 'content-encoding': 'gzip' },
      body: bomb,
    });
    expect(res.status).toBe(413);
    expect((await statusOf(res, 'protobuf')).message).toMatch(/after decompression/);
    expect(Date.now() - started).toBeLessThan(2_000); // stopped at the limit, did not inflate 48 MiB
  });

  it('answers 413 to an uncompressed body over the limit, with or without Content-Length', async () => {
    const big = Buffer.alloc(MAX_BODY + 1, 1);
    expect((await postTraces(c.url, big, { key })).status).toBe(413);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new Uint8Array(MAX_BODY / 2));
        controller.close();
      },
    });
    const res = await fetch(`${c.url}/v1/traces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': CONTENT_TYPE.protobuf },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('answers 400 with a decodable google.rpc.Status to garbage protobuf', async () => {
    const res = await postTraces(c.url, Buffer.from('\xff\xff\xff\xff garbage', 'latin1'), { key });
    expect(res.status).toBe(400);
    const status = await statusOf(res, 'protobuf');
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/ExportTraceServiceRequest/);
  });

  it('answers 400 to a gzip body that is not gzip', async () => {
    const res = await postTraces(c.url, validBody(), { key, headers: { 'content-encoding': 'gzip' } });
    expect(res.status).toBe(400);
  });

  it('answers 400 with a JSON Status to invalid JSON', async () => {
    const res = await postTraces(c.url, '{"resourceSpans": [', { key, contentType: CONTENT_TYPE.json });
    expect(res.status).toBe(400);
    expect(await statusOf(res)).toMatchObject({ code: 3, message: expect.stringMatching(/not valid JSON/) });
  });

  it.each([
    ['a number for resourceSpans', '{"resourceSpans": 5}', /resourceSpans: expected an array, got number/],
    ['a string for spans', '{"resourceSpans":[{"scopeSpans":[{"spans":"x"}]}]}', /resourceSpans\[0\]\.scopeSpans\[0\]\.spans: expected an array/],
    ['null inside attributes', '{"resourceSpans":[{"resource":{"attributes":[null]}}]}', /attributes\[0\]: expected an object/],
    ['a number for a trace id', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":5}]}]}]}', /traceId: expected a hex string/],
    ['an object for a name', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":{}}]}]}]}', /name: expected a string/],
    ['an array at the top', '[]', /must be a JSON object/],
    ['a bare null', 'null', /must be a JSON object/],
  ])('answers 400, never 5xx, to wrong JSON types: %s', async (_what, body, message) => {
    const res = await postTraces(c.url, body, { key, contentType: CONTENT_TYPE.json });
    expect(res.status).toBe(400);
    expect((await statusOf(res)).message).toMatch(message);
  });
});

describe('retryable failures', () => {
  it('answers 503 with Retry-After, promptly, when Redis cannot be reached', async () => {
    const down = await startCollector(env, { enqueueTimeoutMs: 500, retryAfterMaxSeconds: 3 }, { redisUrl: 'redis://127.0.0.1:1', waitForRedis: false });
    try {
      const started = Date.now();
      const res = await postTraces(down.url, validBody(), { key });
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeOneOf([1, 2, 3]);
      expect((await statusOf(res, 'protobuf')).code).toBe(14);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect((await fetch(`${down.url}/readyz`)).status).toBe(503);
    } finally {
      await down.close();
    }
  });

  it('answers 503 when an enqueue takes longer than the enqueue timeout', async () => {
    const log = createLogger({ level: 'silent', pretty: false }, 'collector');
    const stuck = createCollector(
      {
        queue: { add: () => new Promise<void>(() => undefined) },
        keys: c.keys,
        redis: { status: 'ready', ping: async () => 'PONG' },
        log,
      },
      { maxBodyBytes: MAX_BODY, enqueueTimeoutMs: 200 },
    );
    const { port } = await stuck.listen(0, '127.0.0.1');
    try {
      const started = Date.now();
      const res = await postTraces(`http://127.0.0.1:${port}`, validBody(), { key });
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeOneOf([1, 2, 3, 4, 5]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    } finally {
      await stuck.close();
    }
  });

  it('answers 503 with Retry-After when a key cannot be checked because Postgres is down', async () => {
    const log = createLogger({ level: 'silent', pretty: false }, 'collector');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const noDb = createCollector(
      { queue: c.queue, keys: { resolve: () => Promise.reject(refused) }, redis: c.redis, log },
      { maxBodyBytes: MAX_BODY },
    );
    const { port } = await noDb.listen(0, '127.0.0.1');
    try {
      const res = await postTraces(`http://127.0.0.1:${port}`, validBody(), { key });
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeOneOf([1, 2, 3, 4, 5]);
      expect((await statusOf(res, 'protobuf')).message).toMatch(/cannot verify the API key/);
    } finally {
      await noDb.close();
    }
  });
});

import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, loadConfig, revokeApiKey } from '@canopy/core';
import { createTestEnv, createTestOrg, freePort, startNodeProcess, waitForHttp, type TestEnv } from '@canopy/core/testing';
import { CONTENT_TYPE, encodeRequest, gzipSync, postTraces, span, startCollector, traceRequest, type RunningCollector } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let env: TestEnv;
let org: Awaited<ReturnType<typeof createTestOrg>>;
let key: string;
const validBody = (): Buffer => encodeRequest(traceRequest([span(0)]), 'protobuf');

beforeAll(async () => {
  env = await createTestEnv();
  org = await createTestOrg(env, ['dev', 'prod']);
  key = org.workspaces.dev!.ingestKey.key;
});

afterAll(async () => {
  await env?.cleanup();
});

const from = (ip: string): Record<string, string> => ({ 'x-forwarded-for': ip });

describe('failed-authentication limiting per client IP', () => {
  let c: RunningCollector;
  beforeAll(async () => {
    // trust proxy: the test plays several clients through X-Forwarded-For.
    c = await startCollector(env, { authFailuresPerMinute: 3, trustProxy: true });
  });
  afterAll(async () => {
    await c?.close();
  });

  it('answers 429 with Retry-After to a client after 3 failures in a minute, even with a valid key', async () => {
    for (let i = 0; i < 3; i++) expect((await postTraces(c.url, validBody(), { key: `cnp_guess_${i}`, headers: from('10.0.0.1') })).status).toBe(401);
    const blocked = await postTraces(c.url, validBody(), { key, headers: from('10.0.0.1') });
    expect(blocked.status).toBe(429);
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await postTraces(c.url, validBody(), { key: null, headers: from('10.0.0.1') })).status).toBe(429);
  });

  it('leaves other clients alone', async () => {
    expect((await postTraces(c.url, validBody(), { key, headers: from('10.0.0.2') })).status).toBe(200);
  });

  it('counts missing keys as failures but not a valid key without the ingest scope', async () => {
    for (let i = 0; i < 5; i++) expect((await postTraces(c.url, validBody(), { key: org.workspaces.dev!.readKey.key, headers: from('10.0.0.3') })).status).toBe(403);
    expect((await postTraces(c.url, validBody(), { key, headers: from('10.0.0.3') })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await postTraces(c.url, validBody(), { key: null, headers: from('10.0.0.4') })).status).toBe(401);
    expect((await postTraces(c.url, validBody(), { key, headers: from('10.0.0.4') })).status).toBe(429);
  });

  it('does not believe X-Forwarded-For unless told to trust the proxy', async () => {
    const direct = await startCollector(env, { authFailuresPerMinute: 2 });
    try {
      for (let i = 0; i < 2; i++) expect((await postTraces(direct.url, validBody(), { key: 'cnp_guess', headers: from(`10.1.0.${i}`) })).status).toBe(401);
      // A fresh forwarded address does not help: the collector counts the socket's address.
      expect((await postTraces(direct.url, validBody(), { key, headers: from('10.1.0.99') })).status).toBe(429);
    } finally {
      await direct.close();
    }
  });
});

describe('CORS', () => {
  const ORIGIN = 'https://app.example.com';
  const preflight = (url: string, origin: string): Promise<Response> =>
    fetch(`${url}/v1/traces`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization,x-api-key,content-encoding' },
    });
  const corsHeaders = (res: Response): string[] => [...res.headers.keys()].filter((h) => h.startsWith('access-control-'));

  it('sends no CORS headers and answers no preflight when no origin is configured', async () => {
    const c = await startCollector(env);
    try {
      const pre = await preflight(c.url, ORIGIN);
      expect(pre.status).toBe(405);
      expect(corsHeaders(pre)).toEqual([]);
      const post = await postTraces(c.url, validBody(), { key, headers: { origin: ORIGIN } });
      expect(post.status).toBe(200);
      expect(corsHeaders(post)).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('answers a preflight from an allowed origin with the methods and headers an OTLP exporter sends', async () => {
    const c = await startCollector(env, { corsOrigins: [ORIGIN, 'http://localhost:3000'] });
    try {
      const pre = await preflight(c.url, ORIGIN);
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(pre.headers.get('access-control-allow-methods')).toMatch(/POST/);
      const allowed = pre.headers.get('access-control-allow-headers')!.toLowerCase().split(/,\s*/);
      expect(allowed).toEqual(expect.arrayContaining(['content-type', 'authorization', 'x-api-key', 'content-encoding']));
      expect(Number(pre.headers.get('access-control-max-age'))).toBeGreaterThan(0);
      expect(pre.headers.get('vary')).toMatch(/Origin/);

      const other = await preflight(c.url, 'https://evil.example.net');
      expect(corsHeaders(other)).toEqual([]);

      const ok = await postTraces(c.url, validBody(), { key, headers: { origin: ORIGIN } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      // Errors carry the headers too, so a browser exporter can read a 401/429/503 and its Retry-After.
      const denied = await postTraces(c.url, validBody(), { key: 'cnp_nope', headers: { origin: ORIGIN } });
      expect(denied.status).toBe(401);
      expect(denied.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(denied.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);
      const foreign = await postTraces(c.url, validBody(), { key, headers: { origin: 'https://evil.example.net' } });
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await c.close();
    }
  });

  it('allows every origin with *', async () => {
    const c = await startCollector(env, { corsOrigins: '*' });
    try {
      const pre = await preflight(c.url, 'https://anything.example.org');
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    } finally {
      await c.close();
    }
  });

  it('reads CANOPY_CORS_ORIGINS as * or a comma list of origins, and refuses what is not an origin', () => {
    expect(loadConfig({}).collector.corsOrigins).toEqual([]);
    expect(loadConfig({ CANOPY_CORS_ORIGINS: '*' }).collector.corsOrigins).toBe('*');
    expect(loadConfig({ CANOPY_CORS_ORIGINS: 'https://A.example.com/, http://localhost:3000' }).collector.corsOrigins).toEqual(['https://a.example.com', 'http://localhost:3000']);
    expect(() => loadConfig({ CANOPY_CORS_ORIGINS: 'app.example.com' })).toThrow(/CANOPY_CORS_ORIGINS/);
  });
});

describe('keys in logs', () => {
  it('never writes a key to the log, at debug level, whatever happens to the request', async () => {
    await promisify(execFile)(process.execPath, [`${ROOT}/node_modules/typescript/bin/tsc`, '-b', 'collector'], { cwd: ROOT });
    const revoked = await createApiKey(env.pool, { orgId: org.orgId, workspaceId: org.workspaces.dev!.id, name: 'revoked', scopes: ['ingest'] });
    await revokeApiKey(env.pool, revoked.id);
    const expired = await createApiKey(env.pool, { orgId: org.orgId, workspaceId: org.workspaces.prod!.id, name: 'old', scopes: ['ingest'], expiresAt: new Date(Date.now() - 60_000) });
    const orgWide = await createApiKey(env.pool, { orgId: org.orgId, workspaceId: null, name: 'org-wide', scopes: ['ingest'] });
    const made = [
      ...Object.values(org.workspaces).flatMap((w) => [w.ingestKey.key, w.readKey.key]),
      revoked.key,
      expired.key,
      orgWide.key,
    ];
    const invented = Array.from({ length: 5 }, () => `cnp_${randomBytes(24).toString('base64url')}`);
    const secrets = [...made, ...invented];

    const port = await freePort();
    const collector = startNodeProcess(`${ROOT}collector/dist/main.js`, {
      ...env.env,
      CANOPY_COLLECTOR_PORT: String(port),
      CANOPY_COLLECTOR_HOST: '127.0.0.1',
      CANOPY_LOG_LEVEL: 'trace',
      CANOPY_CORS_ORIGINS: '*',
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(`${url}/readyz`);
      const body = validBody();
      for (const secret of secrets) {
        await postTraces(url, body, { key: secret });
        await postTraces(url, body, { key: null, headers: { 'x-api-key': secret } });
        await postTraces(url, Buffer.from('{"resourceSpans": ['), { key: secret, contentType: CONTENT_TYPE.json });
        await postTraces(url, body, { key: secret, headers: { 'content-encoding': 'gzip' } });
        await postTraces(url, gzipSync(Buffer.from(secret)), { key: secret, headers: { 'content-encoding': 'gzip' } });
        await postTraces(url, body, { key: secret, contentType: 'text/plain' });
        await fetch(`${url}/v1/traces?api_key=${secret}`, { method: 'POST', headers: { authorization: `Bearer ${secret} extra` }, body });
        await fetch(`${url}/v1/traces`, { method: 'OPTIONS', headers: { origin: 'https://x.example', authorization: `Bearer ${secret}` } });
        await fetch(`${url}/nowhere/${secret}`, { headers: { authorization: `Bearer ${secret}` } });
      }
      // Then past the default 60 failures a minute, so the 429 path is logged too.
      for (let i = 0; i < 20; i++) await postTraces(url, body, { key: invented[i % invented.length]! });
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/canopy_collector_requests_total\{code="429"\} [1-9]/); // the limiter was reached too
      expect(metrics).toMatch(/canopy_collector_requests_total\{code="200"\} [1-9]/);
    } finally {
      expect(await collector.stop('SIGTERM')).toBe(0);
    }
    const output = collector.output();
    expect(output).toMatch(/"level":20/); // debug lines were written: the scan below means something
    expect(output).toMatch(/"code":"invalid_key"/);
    for (const secret of secrets) expect(output.includes(secret), `a key appears in the collector's output`).toBe(false);
  });
});

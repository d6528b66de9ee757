import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { createKeyCache, createLogger } from '@canopy/core';
import { createTestEnv, type TestEnv } from '@canopy/core/testing';
import { createPolicyEngine } from '@canopy/policies';
import { consoleDistDir } from '@canopy/console';
import { createQueryApi } from '../src/index.js';

let env: TestEnv;
let server: Server;
let base: string;
let close: () => Promise<void>;

beforeAll(async () => {
  env = await createTestEnv();
  const log = createLogger({ level: 'silent', pretty: false }, 'query-api');
  const policy = createPolicyEngine({ pool: env.pool, log }, {});
  const keys = await createKeyCache({ pool: env.pool, log }, { ttlMs: 1_000, negativeTtlMs: 1_000 });
  await policy.ready;
  const app = createQueryApi({ clickhouse: env.clickhouse, pg: env.pool, policy, keys, log }, { consoleDir: consoleDistDir });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  close = async () => {
    await new Promise((r) => server.close(r));
    await keys.close();
    await policy.close();
  };
});
afterAll(async () => {
  await close?.();
  await env?.cleanup();
});

describe('security headers', () => {
  it.each(['/api/v1/orgs', '/openapi.json', '/'])('sends them on %s', async (path) => {
    const res = await fetch(`${base}${path}`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('refuses to be framed by other sites and to load scripts from anywhere else', async () => {
    const csp = (await fetch(`${base}/`)).headers.get('content-security-policy')!;
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).toContain("script-src 'self'");
  });
});

import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, createLogger, createPgPool, type ClickHouse, type PgPool } from '@canopy/core';
import { createTestEnv, type TestEnv } from '@canopy/core/testing';
import { createQueryApi, type QueryApiDeps } from '@canopy/query-api';

const log = createLogger({ level: 'silent', pretty: false }, 'query-api-test');

/** Health answers before any route runs: a policy and key cache that grant nothing are enough. */
const nothingGranted = { policy: { authorize: () => ({ allowed: false }), reload: async () => undefined }, keys: { resolve: async () => null } };

async function listen(deps: QueryApiDeps): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createQueryApi(deps, { readinessTimeoutMs: 1_000 }).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('query API health', () => {
  let env: TestEnv;
  let api: Awaited<ReturnType<typeof listen>>;

  beforeAll(async () => {
    env = await createTestEnv();
    api = await listen({ clickhouse: env.clickhouse, pg: env.pool, log, ...nothingGranted });
  });
  afterAll(async () => {
    await api?.close();
    await env?.cleanup();
  });

  it('answers /healthz with 200', async () => {
    const res = await fetch(`${api.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('is ready when ClickHouse and Postgres answer', async () => {
    const res = await fetch(`${api.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', checks: { clickhouse: 'ok', postgres: 'ok' } });
  });

  it('answers an unknown route with a 404 JSON error', async () => {
    const res = await fetch(`${api.url}/api/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no route for GET /api/v1/nothing-here' } });
  });

  describe('with unreachable dependencies', () => {
    let deadClickHouse: ClickHouse;
    let deadPg: PgPool;
    let down: Awaited<ReturnType<typeof listen>>;

    beforeAll(async () => {
      // Port 1 on loopback refuses connections: real clients, nothing listening.
      deadClickHouse = createClickHouse({ ...env.config.clickhouse, url: 'http://127.0.0.1:1', requestTimeoutMs: 1_000 });
      deadPg = createPgPool('postgres://postgres@127.0.0.1:1/nothing', 1);
      down = await listen({ clickhouse: deadClickHouse, pg: deadPg, log, ...nothingGranted });
    });
    afterAll(async () => {
      await down?.close();
      await deadPg?.end();
      await deadClickHouse?.close();
    });

    it('reports 503 naming each dependency that is down', async () => {
      const res = await fetch(`${down.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'unavailable', checks: { clickhouse: 'down', postgres: 'down' } });
    });

    it('still answers /healthz, which checks only the process', async () => {
      expect((await fetch(`${down.url}/healthz`)).status).toBe(200);
    });

    it('reports only Postgres down when ClickHouse answers', async () => {
      const half = await listen({ clickhouse: env.clickhouse, pg: deadPg, log, ...nothingGranted });
      try {
        const res = await fetch(`${half.url}/readyz`);
        expect(res.status).toBe(503);
        expect(await res.json()).toEqual({ status: 'unavailable', checks: { clickhouse: 'ok', postgres: 'down' } });
      } finally {
        await half.close();
      }
    });
  });
});

import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import {
  createKeyCache,
  createLogger,
  createRedis,
  createPersonalToken,
  createUser,
  type KeyCache,
  type Logger,
  type PgPool,
} from '@canopy/core';
import type { TestEnv } from '@canopy/core/testing';
import { createPolicyEngine, type PolicyEngine } from '@canopy/policies';
import { createQueryApi, type QueryApiOptions } from '@canopy/query-api';

export const silentLog: Logger = createLogger({ level: 'silent', pretty: false }, 'query-api-test');

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** the parsed body; undefined when it is not JSON */
  json: unknown;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** sent as is instead of JSON.stringify(body) */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface RunningApi {
  url: string;
  policy: PolicyEngine;
  keys: KeyCache;
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  close(): Promise<void>;
}

/**
 * The query API in this process on a free port, with real deps: the test slice's
 * Postgres and ClickHouse, a policy engine and key cache that LISTEN for changes.
 */
export async function startApi(env: TestEnv, options: QueryApiOptions = {}): Promise<RunningApi> {
  const log = silentLog;
  const listenUrl = env.config.postgres.url;
  const policy = createPolicyEngine({ pool: env.pool, log }, { listenUrl });
  await policy.ready;
  const keys = await createKeyCache({ pool: env.pool, log }, { ttlMs: 60_000, negativeTtlMs: 1_000, listenUrl });
  // The queue's Redis, as main.ts passes it (the ingest ledger's lag, dead-letter replay).
  const redis = createRedis(env.config.redis.url);
  redis.on('error', () => undefined);
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  const server: Server = createQueryApi({ pg: env.pool, clickhouse: env.clickhouse, policy, keys, log, redis, queuePrefix: env.config.redis.queuePrefix }, options).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    policy,
    keys,
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
      let body: string | undefined;
      if (opts.rawBody !== undefined || opts.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = opts.rawBody ?? JSON.stringify(opts.body);
      }
      const res = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await keys.close();
      await policy.close();
      redis.disconnect();
    },
  };
}

export const unique = (label: string): string => `${label}-${randomBytes(4).toString('hex')}`;

export const SYSTEM = { type: 'system', id: 'test' } as const;

/** A new user with a personal access token. */
export async function userWithToken(pool: PgPool, label: string): Promise<{ id: string; email: string; token: string }> {
  const user = await createUser(pool, { email: `${unique(label)}@example.test`, name: label });
  const { token } = await createPersonalToken(pool, SYSTEM, { userId: user.id, name: 'test' });
  return { id: user.id, email: user.email, token };
}

/** The error body every failure answers with. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

export const errorOf = (reply: Reply): ErrorBody['error'] => (reply.json as ErrorBody).error;

import type { Redis } from 'ioredis';
import { listWorkspaces, sql, type ClickHouse, type Logger, type PgPool } from '@canopy/core';
import type { Admit, AdmitDecision } from '../backpressure/admit.js';
import { createPlanCache } from './plans.js';

export interface PlanAdmitDeps {
  pool: PgPool;
  redis: Redis;
  clickhouse: ClickHouse;
  log: Logger;
}

export interface PlanAdmitOptions {
  /** Redis key prefix (the queue prefix, so one hash tag covers both on Redis Cluster) */
  prefix: string;
  planCacheTtlMs: number;
  now?: () => number;
}

const OK: AdmitDecision = { status: 'ok' };
const MONTH_KEY_TTL_S = 40 * 86_400;

const monthOf = (ms: number): { key: string; start: Date; next: Date } => {
  const d = new Date(ms);
  const start = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
  const next = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
  return { key: `${start.getUTCFullYear()}${String(start.getUTCMonth() + 1).padStart(2, '0')}`, start, next };
};

/**
 * Enforces each org's plan: the ingest rate limit (spans per second) and the monthly span
 * quota, with counters in Redis so every collector shares them. Counters move with INCRBY
 * and are rolled back when a request is refused, so two collectors can never both take the
 * last of a quota. The month's counter starts from what ClickHouse already holds for the
 * month (usage_daily), so a Redis without persistence cannot hand out a quota twice.
 * A request refused here is answered 429 with Retry-After and nothing is queued.
 */
export function createPlanAdmit(deps: PlanAdmitDeps, options: PlanAdmitOptions): Admit {
  const limitsOf = createPlanCache(deps, { ttlMs: options.planCacheTtlMs });
  const now = options.now ?? Date.now;

  const monthCounter = async (orgId: string, month: ReturnType<typeof monthOf>): Promise<string> => {
    const key = `${options.prefix}:quota:${orgId}:${month.key}`;
    if ((await deps.redis.exists(key)) === 0) {
      const scope = { orgId, workspaceIds: (await listWorkspaces(deps.pool, orgId)).map((w) => w.id) };
      const [row] = await deps.clickhouse.query<{ n: string }>(
        scope,
        sql`SELECT sum(spans) AS n FROM usage_daily WHERE ${sql.tenant(scope)} AND day >= toDate(${month.start.toISOString().slice(0, 10)})`,
      );
      await deps.redis.set(key, Number(row?.n ?? 0), 'EX', MONTH_KEY_TTL_S, 'NX');
    }
    return key;
  };

  let lastWarnAt = 0;
  const decide = async (tenant: Parameters<Admit>[0], load: Parameters<Admit>[1]): Promise<AdmitDecision> => {
    const limits = await limitsOf(tenant.orgId);
    const at = now();
    if (limits.ingestRateLimitPerS !== null) {
      const key = `${options.prefix}:rate:${tenant.orgId}:${Math.floor(at / 1000)}`;
      const [[, count]] = (await deps.redis.multi().incrby(key, load.spans).expire(key, 2).exec()) as [[null, number], [null, number]];
      // A single request larger than a second's allowance is still let through when the
      // window is otherwise empty, so a big batch is slowed, never refused forever.
      if (count > limits.ingestRateLimitPerS && count !== load.spans) {
        await deps.redis.decrby(key, load.spans);
        return { status: 'limited', limit: 'rate_limit', retryAfterMs: 1000 - (at % 1000) + 1, reason: `ingest rate limit of ${limits.ingestRateLimitPerS} spans/s reached` };
      }
    }
    if (limits.monthlySpanQuota !== null) {
      const month = monthOf(at);
      const key = await monthCounter(tenant.orgId, month);
      const used = await deps.redis.incrby(key, load.spans);
      if (used > limits.monthlySpanQuota) {
        await deps.redis.decrby(key, load.spans);
        const untilNextMonth = month.next.getTime() - at;
        return {
          status: 'limited',
          limit: 'quota',
          // Exporters retry 429; an hour is the longest wait worth asking for before the month turns.
          retryAfterMs: Math.min(untilNextMonth, 3_600_000),
          reason: `monthly span quota of ${limits.monthlySpanQuota} reached (${used - load.spans} used)`,
        };
      }
    }
    return OK;
  };
  // Enforcement that cannot reach Redis or ClickHouse admits rather than refuses: the
  // enqueue right after answers 503 if Redis is really gone, and ingest never stops
  // because a quota could not be counted.
  return async (tenant, load) => {
    try {
      return await decide(tenant, load);
    } catch (err) {
      if (Date.now() - lastWarnAt > 10_000) {
        lastWarnAt = Date.now();
        deps.log.warn({ err: (err as Error).message }, 'cannot check the plan limits; admitting');
      }
      return OK;
    }
  };
}

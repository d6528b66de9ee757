import { getPlan, type Logger, type PgPool, type Plan } from '@canopy/core';

/** An org's limits as the collector enforces them; null = unlimited. */
export interface Limits {
  monthlySpanQuota: number | null;
  ingestRateLimitPerS: number | null;
}

const UNLIMITED: Limits = { monthlySpanQuota: null, ingestRateLimitPerS: null };

/**
 * Plans change rarely and are read on every request, so they are cached per org for
 * `ttlMs`; a Postgres hiccup keeps the last known limits rather than failing ingest.
 */
export function createPlanCache(deps: { pool: PgPool; log: Logger }, options: { ttlMs: number }): (orgId: string) => Promise<Limits> {
  const cache = new Map<string, { limits: Limits; expiresAt: number }>();
  const toLimits = (plan: Plan | null): Limits =>
    plan ? { monthlySpanQuota: plan.monthlySpanQuota, ingestRateLimitPerS: plan.ingestRateLimitPerS } : UNLIMITED;
  return async (orgId) => {
    const hit = cache.get(orgId);
    if (hit && hit.expiresAt > Date.now()) return hit.limits;
    try {
      const limits = toLimits(await getPlan(deps.pool, orgId));
      if (cache.size > 100_000) cache.clear();
      cache.set(orgId, { limits, expiresAt: Date.now() + options.ttlMs });
      return limits;
    } catch (err) {
      deps.log.warn({ err: (err as Error).message, orgId }, 'cannot read the plan; using the last known limits');
      return hit?.limits ?? UNLIMITED;
    }
  };
}

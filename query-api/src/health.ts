import { Router } from 'express';
import type { ClickHouse, PgPool } from '@canopy/core';

export interface HealthDeps {
  clickhouse: Pick<ClickHouse, 'ping'>;
  pg: Pick<PgPool, 'query'>;
}

type CheckResult = 'ok' | 'down';

/** Resolves to 'down' when the check fails, throws or takes longer than `timeoutMs`. */
async function check(probe: () => Promise<boolean>, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return (await Promise.race([probe().catch(() => false), timeout])) ? 'ok' : 'down';
  } finally {
    clearTimeout(timer);
  }
}

/** `/healthz`: the process answers. `/readyz`: ClickHouse and Postgres answer too. */
export function healthRoutes(deps: HealthDeps, options: { timeoutMs: number }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [clickhouse, postgres] = await Promise.all([
      check(() => deps.clickhouse.ping(), options.timeoutMs),
      check(async () => (await deps.pg.query('SELECT 1')).rowCount === 1, options.timeoutMs),
    ]);
    const ready = clickhouse === 'ok' && postgres === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ok' : 'unavailable', checks: { clickhouse, postgres } });
  });
  return router;
}

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig, type CanopyConfig } from '../config/config.js';
import { createClickHouse, type ClickHouse } from '../clickhouse/client.js';
import { migrateClickHouse } from '../clickhouse/migrate.js';
import { dropDatabase } from '../clickhouse/ddl.js';
import { createPgPool, type PgPool } from '../postgres/pool.js';
import { migratePostgres } from '../postgres/migrate.js';
import { createOrganizationWithWorkspaces, type BootstrappedWorkspace } from '../tenancy/organizations.js';
import { createRedis } from '../queue/queue.js';

/**
 * A private slice of the real services for one test file: its own ClickHouse database,
 * Postgres database and BullMQ prefix, all migrated, all dropped by `cleanup()`.
 */
export interface TestEnv {
  id: string;
  config: CanopyConfig;
  /** environment variables that give a child process this same slice */
  env: Record<string, string>;
  clickhouse: ClickHouse;
  pool: PgPool;
  cleanup(): Promise<void>;
}

export async function createTestEnv(overrides: Record<string, string> = {}): Promise<TestEnv> {
  const id = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const base = loadConfig(process.env);
  const pgUrl = new URL(base.postgres.url);
  pgUrl.pathname = `/canopy_${id}`;
  const env: Record<string, string> = {
    CANOPY_CLICKHOUSE_URL: base.clickhouse.url,
    CANOPY_CLICKHOUSE_DATABASE: `canopy_${id}`,
    CANOPY_DATABASE_URL: pgUrl.toString(),
    CANOPY_REDIS_URL: base.redis.url,
    CANOPY_QUEUE_PREFIX: `canopy_${id}`,
    CANOPY_LOG_LEVEL: 'warn',
    ...overrides,
  };
  const config = loadConfig(env);
  await migrateClickHouse(config.clickhouse);
  await migratePostgres(config.postgres.url);
  const clickhouse = createClickHouse(config.clickhouse);
  const pool = createPgPool(config.postgres.url, 5);
  return {
    id,
    config,
    env,
    clickhouse,
    pool,
    async cleanup() {
      await pool.end().catch(() => undefined);
      await clickhouse.command(dropDatabase({ db: config.clickhouse.database, cluster: config.clickhouse.cluster })).catch(() => undefined);
      await clickhouse.close().catch(() => undefined);
      const admin = new pg.Client({ connectionString: base.postgres.url.replace(/\/[^/]*$/, '/postgres') });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "canopy_${id}" WITH (FORCE)`).catch(() => undefined);
      await admin.end();
      const redis = createRedis(config.redis.url, { forWorker: true });
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.redis.queuePrefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}

/** An organization with the given workspaces and an ingest + read key for each. */
export async function createTestOrg(env: TestEnv, slugs: string[] = ['dev']): Promise<{ orgId: string; workspaces: Record<string, BootstrappedWorkspace> }> {
  const { org, workspaces } = await createOrganizationWithWorkspaces(env.pool, {
    name: `org-${randomBytes(4).toString('hex')}`,
    workspaceSlugs: slugs,
  });
  return { orgId: org.id, workspaces: Object.fromEntries(workspaces.map((w) => [w.slug, w])) };
}

/** Polls until `check` returns a truthy value or the time runs out. */
export async function waitFor<T>(check: () => Promise<T | null | undefined | false>, options: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'condition'}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

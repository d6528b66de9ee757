import { ConfigError, createClickHouse, createKeyCache, createLogger, createPgPool, createRedis, loadConfig, createHttpServer, type CanopyConfig, type HttpServer, type KeyCache } from '@canopy/core';
import { createPolicyEngine } from '@canopy/policies';
import { consoleDistDir } from '@canopy/console';
import { createQueryApi } from './app.js';

function configOrExit(): CanopyConfig {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`query-api: ${err.message}\n`);
    process.exit(1);
  }
}

const config = configOrExit();
const log = createLogger(config.log, 'query-api');
const clickhouse = createClickHouse(config.clickhouse);
const pg = createPgPool(config.postgres.url);
// For routes that queue work (dead-letter replay); they answer 503 while it is down, and /readyz ignores it.
const redis = createRedis(config.redis.url);
let redisDownLogged = false;
redis.on('ready', () => (redisDownLogged = false));
redis.on('error', (err: Error) => {
  // ioredis reports every failed reconnect; one line per outage is enough.
  if (redisDownLogged) return;
  redisDownLogged = true;
  log.warn({ err: err.message }, `Redis connection error: ${err.message}`);
});
// Both LISTEN on their own connection, so a change (a member removed, a key revoked)
// reaches this process within milliseconds; the periodic reload is the safety net.
const policy = createPolicyEngine({ pool: pg, log }, { listenUrl: config.postgres.url });
let keys: KeyCache | undefined;
let server: HttpServer | undefined;
let closing: Promise<void> | undefined;

/**
 * Stops accepting, lets in-flight requests finish (answering them with `Connection: close`
 * so keep-alive clients go elsewhere), then closes the clients in reverse order. Safe to
 * call twice, and during start-up.
 */
function close(signal: string): Promise<void> {
  closing ??= (async () => {
    log.info({ signal }, 'query API shutting down');
    await server?.close();
    await keys?.close().catch((err: unknown) => log.warn({ err }, 'closing the key cache failed'));
    await policy.close().catch((err: unknown) => log.warn({ err }, 'closing the policy engine failed'));
    await pg.end().catch((err: unknown) => log.warn({ err }, 'closing Postgres failed'));
    await clickhouse.close().catch((err: unknown) => log.warn({ err }, 'closing ClickHouse failed'));
    await redis.quit().catch(() => redis.disconnect());
    log.info('query API stopped');
  })();
  return closing;
}

// Registered before start-up so a SIGTERM while loading the policy still exits cleanly.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    close(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

keys = await createKeyCache({ pool: pg, log }, { ttlMs: config.collector.keyCacheTtlMs, negativeTtlMs: 5_000, listenUrl: config.postgres.url });
try {
  await policy.ready;
} catch (err) {
  if (closing) await closing;
  log.fatal({ err }, 'cannot load the policy from Postgres');
  process.exit(1);
}

if (!closing) {
  const app = createQueryApi(
    { clickhouse, pg, policy, keys, log, redis, queuePrefix: config.redis.queuePrefix, jobAttempts: config.worker.jobAttempts },
    { trustProxy: config.api.trustProxy, consoleDir: consoleDistDir },
  );
  server = createHttpServer(app, { shutdownGraceMs: 10_000, requestTimeoutMs: 60_000 });
  try {
    const { port } = await server.listen(config.api.port, config.api.host);
    log.info({ host: config.api.host, port }, 'query API listening');
  } catch (err) {
    log.fatal({ err }, 'query API cannot listen');
    process.exit(1);
  }
}

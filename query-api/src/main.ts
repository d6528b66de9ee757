import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ConfigError, createClickHouse, createKeyCache, createLogger, createPgPool, loadConfig, type CanopyConfig } from '@canopy/core';
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
// Both LISTEN on their own connection, so a change (a member removed, a key revoked)
// reaches this process within milliseconds; the periodic reload is the safety net.
const policy = createPolicyEngine({ pool: pg, log }, { listenUrl: config.postgres.url });
const keys = await createKeyCache({ pool: pg, log }, { ttlMs: config.collector.keyCacheTtlMs, negativeTtlMs: 5_000, listenUrl: config.postgres.url });

try {
  await policy.ready;
} catch (err) {
  log.fatal({ err }, 'cannot load the policy from Postgres');
  process.exit(1);
}

const app = createQueryApi({ clickhouse, pg, policy, keys, log }, { trustProxy: config.api.trustProxy, consoleDir: consoleDistDir });
const server = app.listen(config.api.port, config.api.host);
try {
  await once(server, 'listening');
} catch (err) {
  log.fatal({ err }, 'query API cannot listen');
  process.exit(1);
}
const { port } = server.address() as AddressInfo;
log.info({ host: config.api.host, port }, 'query API listening');

let closing: Promise<void> | undefined;

/** Stops accepting, lets in-flight requests finish, then closes the clients in reverse order. Safe to call twice. */
function close(signal: string): Promise<void> {
  closing ??= (async () => {
    log.info({ signal }, 'query API shutting down');
    const force = setTimeout(() => {
      log.warn('in-flight requests did not finish in 10 s; closing their connections');
      server.closeAllConnections();
    }, 10_000);
    force.unref();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    clearTimeout(force);
    await keys.close().catch((err: unknown) => log.warn({ err }, 'closing the key cache failed'));
    await policy.close().catch((err: unknown) => log.warn({ err }, 'closing the policy engine failed'));
    await pg.end().catch((err: unknown) => log.warn({ err }, 'closing Postgres failed'));
    await clickhouse.close().catch((err: unknown) => log.warn({ err }, 'closing ClickHouse failed'));
    log.info('query API stopped');
  })();
  return closing;
}

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

import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ConfigError, createClickHouse, createLogger, createPgPool, loadConfig, type CanopyConfig } from '@canopy/core';
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
const app = createQueryApi({ clickhouse, pg, log });

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

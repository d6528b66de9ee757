import { loadConfig, createClickHouse } from '@canopy/core';
import net from 'node:net';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || defaultPort) });
    socket.setTimeout(2_000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

/** Fails fast with a clear message when a service the tests need is down. */
export default async function setup(): Promise<void> {
  const config = loadConfig(process.env);
  const ch = createClickHouse(config.clickhouse);
  const problems: string[] = [];
  if (!(await ch.ping())) problems.push(`ClickHouse is not answering at ${config.clickhouse.url}`);
  await ch.close();
  if (!(await reachable(config.postgres.url, 5432))) problems.push(`Postgres is not reachable at ${config.postgres.url}`);
  if (!(await reachable(config.redis.url, 6379))) problems.push(`Redis is not reachable at ${config.redis.url}`);
  if (problems.length) throw new Error(`${problems.join('\n')}\nRun the tests with \`npm test\`, which starts these services.`);
}

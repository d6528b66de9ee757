import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRedis } from '@canopy/core';
import { waitFor } from '@canopy/core/testing';

/** A private, throwaway redis-server for a test that must break Redis without touching the shared one. */
export interface RedisServer {
  port: number;
  url: string;
  /** the server's process id (null while it is down) */
  readonly pid: number | null;
  /** SIGKILL: the outage starts now; nothing is saved */
  kill(): Promise<void>;
  /** a fresh, empty server on the same port */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedisServer(port: number): Promise<RedisServer> {
  let child: ChildProcess | null = null;
  const url = `redis://127.0.0.1:${port}`;
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const probe = createRedis(url, { forWorker: true });
    probe.on('error', () => undefined);
    try {
      await waitFor(async () => (await probe.ping()) === 'PONG', { timeoutMs: 10_000, intervalMs: 50, what: `redis-server on ${port}` });
    } finally {
      probe.disconnect();
    }
  };
  const kill = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    url,
    get pid() {
      return child?.pid ?? null;
    },
    kill,
    restart: start,
    stop: kill,
  };
}

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AllTenants, createRedis, createSpanQueue, sql, type ClickHouse, type SpanQueue } from '@canopy/core';
import { freePort, startNodeProcess, startTcpProxy, type NodeProcess } from '@canopy/core/testing';

/**
 * What the fault tests share: building the services, dedicated ClickHouse and Redis
 * servers the tests may stop and kill (the shared ones on 8123/6379 are never touched),
 * the service processes, and the counts a test compares with what it sent.
 */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SERVICES = ['core', 'collector', 'workers', 'query-api'] as const;

/** The tests run the real `dist/main.js` of each service, so build them; a package mid-edit elsewhere only warns while its dist exists. */
export function buildServices(): void {
  try {
    execFileSync('npx', ['tsc', '-b', ...SERVICES], { cwd: ROOT, stdio: 'pipe' });
  } catch (err) {
    const missing = SERVICES.filter((s) => s !== 'core' && !existsSync(path.join(ROOT, s, 'dist/main.js')));
    const output = String((err as { stdout?: unknown }).stdout ?? err);
    if (missing.length > 0) throw new Error(`npx tsc -b ${SERVICES.join(' ')} failed and ${missing.join(', ')} has no dist:\n${output}`);
    process.stderr.write(`[faults] build failed; using the existing dist:\n${output.slice(0, 2000)}\n`);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every process a test file starts, killed in afterAll whatever happened. */
export function createProcessRegistry(): { track<T extends NodeProcess>(p: T): T; killAll(): Promise<void> } {
  const all: NodeProcess[] = [];
  return {
    track(p) {
      all.push(p);
      return p;
    },
    async killAll() {
      await Promise.all(
        all.map((p) => {
          if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
          return p.exited;
        }),
      );
    },
  };
}

// ---------------------------------------------------------------- service processes

/** The settings every fault test's services run with: quick batches, and locks short enough that a killed worker's jobs come back within seconds. */
export const FAST_RECOVERY = {
  CANOPY_BATCH_MAX_WAIT_MS: '200',
  CANOPY_WORKER_LOCK_DURATION_MS: '5000',
  CANOPY_WORKER_STALLED_INTERVAL_MS: '1000',
  CANOPY_LOG_LEVEL: 'info',
};

export function startCollector(env: Record<string, string>, port: number): NodeProcess {
  return startNodeProcess(path.join(ROOT, 'collector/dist/main.js'), { ...env, ...FAST_RECOVERY, CANOPY_COLLECTOR_PORT: String(port), CANOPY_COLLECTOR_HOST: '127.0.0.1' });
}

export function startWorker(env: Record<string, string>, extra: Record<string, string> = {}): NodeProcess {
  return startNodeProcess(path.join(ROOT, 'workers/dist/main.js'), { ...env, ...FAST_RECOVERY, ...extra });
}

/** Sends `signal` and resolves with the exit (code or signal name) and how long it took; SIGKILL after `timeoutMs`. */
export async function stopTimed(p: NodeProcess, signal: NodeJS.Signals, timeoutMs = 30_000): Promise<{ exit: number | string; ms: number }> {
  const started = Date.now();
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const exit = await p.exited;
  clearTimeout(timer);
  return { exit, ms: Date.now() - started };
}

// ---------------------------------------------------------------- dedicated ClickHouse

interface ServicesModule {
  ensureServices(options: { env: Record<string, string | undefined>; need: string[]; root: string; log: (line: string) => void }): Promise<{ started: string[]; stop(): Promise<void> }>;
}

export interface DedicatedClickHouse {
  url: string;
  /** (Re)starts the server on the same port and data directory; resolves once it answers. */
  start(): Promise<void>;
  /**
   * Takes the server off the network (connections dropped, new ones refused), lets it
   * finish what it already received, then SIGTERM and wait for the exit. Not SIGTERM alone:
   * 18.16 cancels an INSERT still running at shutdown part-way, with some of the table's
   * and views' parts written and others not (seen: a 20,000-row insert reached 4 of 6
   * views and not its table), which no retry can make exact; docs/reliability.md.
   */
  stop(): Promise<void>;
  /** SIGKILL: no shutdown at all. */
  kill(): Promise<void>;
  /** Stops the server and removes its directory. */
  close(): Promise<void>;
  log(): string;
}

/**
 * A private clickhouse-server, started by deploy/scripts/services.mjs (the same code
 * `npm start` uses) with the project's config, under a temporary root: its data lives
 * in `<tmp>/.canopy/clickhouse-<port>` and survives restarts.
 */
/** Time an INSERT the server already received has to finish once its client is gone. */
const DRAIN_BEFORE_STOP_MS = 2_000;

export async function startDedicatedClickHouse(): Promise<DedicatedClickHouse> {
  const servicesPath = pathToFileURL(path.join(ROOT, 'deploy/scripts/services.mjs')).href;
  const { ensureServices } = (await import(servicesPath)) as ServicesModule;
  const root = mkdtempSync(path.join(os.tmpdir(), 'canopy-faults-ch-'));
  mkdirSync(path.join(root, 'deploy/clickhouse'), { recursive: true });
  for (const file of ['config.xml', 'users.xml']) copyFileSync(path.join(ROOT, 'deploy/clickhouse', file), path.join(root, 'deploy/clickhouse', file));
  const port = await freePort();
  const serverUrl = `http://127.0.0.1:${port}`;
  // Clients reach the server through a proxy that stop() cuts before the server goes down.
  const proxy = await startTcpProxy(new URL(serverUrl), port);
  const url = proxy.url;
  const dir = path.join(root, '.canopy', `clickhouse-${port}`);
  let lines = '';
  let handle: { stop(): Promise<void> } | null = null;

  const pid = (): number | null => {
    try {
      return Number(readFileSync(path.join(dir, 'server.pid'), 'utf8').trim()) || null;
    } catch {
      return null;
    }
  };
  const alive = (p: number): boolean => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  };

  const server: DedicatedClickHouse = {
    url,
    log: () => lines,
    async start() {
      const result = await ensureServices({ env: { PATH: process.env.PATH, CANOPY_CLICKHOUSE_URL: serverUrl }, need: ['clickhouse'], root, log: (l) => (lines += `${l}\n`) });
      if (!result.started.includes('clickhouse')) throw new Error(`ClickHouse on ${serverUrl} was not started by this test:\n${lines}`);
      handle = result;
      proxy.restore();
    },
    async stop() {
      proxy.cut();
      await sleep(DRAIN_BEFORE_STOP_MS);
      await handle?.stop();
      handle = null;
    },
    async kill() {
      proxy.cut();
      const p = pid();
      if (p && alive(p)) {
        process.kill(p, 'SIGKILL');
        while (alive(p)) await sleep(50);
      }
      await handle?.stop(); // the child has exited: this only forgets it
      handle = null;
    },
    async close() {
      try {
        await server.kill();
      } finally {
        await proxy.close();
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
  await server.start();
  return server;
}

// ---------------------------------------------------------------- dedicated Redis

export interface DedicatedRedis {
  url: string;
  /** (Re)starts redis-server on the same port and directory; resolves once it answers PING (after loading the AOF). */
  start(): Promise<void>;
  kill(): Promise<void>;
  close(): Promise<void>;
  log(): string;
}

async function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/**
 * A private redis-server with the persistence production needs for Canopy's promise:
 * AOF on, fsync before every reply (`appendfsync always`), no eviction (BullMQ requires
 * `noeviction`).
 */
export async function startDedicatedRedis(): Promise<DedicatedRedis> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'canopy-faults-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  let lines = '';
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction'];
  const server: DedicatedRedis = {
    url: `redis://127.0.0.1:${port}`,
    log: () => lines,
    async start() {
      const c = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      c.stdout?.on('data', (d: Buffer) => (lines += d.toString()));
      c.stderr?.on('data', (d: Buffer) => (lines += d.toString()));
      const deadline = Date.now() + 20_000;
      while (!(await pingRedis(port))) {
        if (c.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start:\n${lines}`);
        await sleep(50);
      }
    },
    async kill() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    },
    async close() {
      try {
        await server.kill();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  await server.start();
  return server;
}

// ---------------------------------------------------------------- counting

export interface StoredCounts {
  /** span rows */
  rows: number;
  /** distinct span ids among them */
  distinctSpans: number;
  /** spans in the daily usage rollup */
  usageSpans: number;
}

/** What ClickHouse holds for one organization. */
export async function storedCounts(clickhouse: ClickHouse, orgId: string): Promise<StoredCounts> {
  const [spans] = await clickhouse.query<{ rows: string; distinct_spans: string }>(
    AllTenants,
    sql`SELECT count() AS rows, uniqExact(span_id) AS distinct_spans FROM spans WHERE ${sql.allTenants()} AND org_id = ${orgId}`,
  );
  const [usage] = await clickhouse.query<{ spans: string }>(AllTenants, sql`SELECT sum(spans) AS spans FROM usage_daily WHERE ${sql.allTenants()} AND org_id = ${orgId}`);
  return { rows: Number(spans?.rows ?? 0), distinctSpans: Number(spans?.distinct_spans ?? 0), usageSpans: Number(usage?.spans ?? 0) };
}

/**
 * Span ids stored more than once, with the batches that carried the copies: two batch
 * ids mean the client's request was queued twice (a re-send after an answer that was
 * lost), one batch id twice would mean a batch was written twice.
 */
export async function duplicateSpans(clickhouse: ClickHouse, orgId: string): Promise<Array<{ spanId: string; batches: string[] }>> {
  const rows = await clickhouse.query<{ span_id: string; batches: string[] }>(
    AllTenants,
    sql`SELECT span_id, groupArray(batch_id) AS batches FROM spans WHERE ${sql.allTenants()} AND org_id = ${orgId} GROUP BY span_id HAVING count() > 1 ORDER BY span_id LIMIT 100000`,
  );
  return rows.map((r) => ({ spanId: r.span_id, batches: r.batches }));
}

/** A read-only view of a spans queue, for its job counts. */
export function openQueue(redisUrl: string, prefix: string): { queue: SpanQueue; state(): Promise<{ unfinished: number; active: number; failed: number }>; close(): Promise<void> } {
  const redis = createRedis(redisUrl, { forWorker: true });
  redis.on('error', () => undefined);
  const queue = createSpanQueue(redis, prefix);
  return {
    queue,
    async state() {
      const c = await queue.queue.getJobCounts('active', 'wait', 'delayed', 'prioritized', 'failed');
      return { unfinished: (c.active ?? 0) + (c.wait ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, failed: c.failed ?? 0 };
    },
    async close() {
      await queue.close().catch(() => undefined);
      redis.disconnect();
    },
  };
}

/**
 * Waits until the queue is empty and ClickHouse holds at least `expected` spans, then
 * returns the counts; on timeout it returns what is there, so the assertion shows it.
 */
export async function settledCounts(
  clickhouse: ClickHouse,
  target: { orgId: string; expected: number; queue: { state(): Promise<{ unfinished: number }> } },
  timeoutMs: number,
): Promise<StoredCounts & { waitedMs: number }> {
  const started = Date.now();
  let last: StoredCounts = { rows: 0, distinctSpans: 0, usageSpans: 0 };
  for (;;) {
    try {
      const [counts, state] = await Promise.all([storedCounts(clickhouse, target.orgId), target.queue.state()]);
      last = counts;
      if (state.unfinished === 0 && counts.rows >= target.expected) break;
    } catch {
      // a server coming back; try again
    }
    if (Date.now() - started > timeoutMs) break;
    await sleep(250);
  }
  return { ...last, waitedMs: Date.now() - started };
}

/** One line of figures per fault, printed and kept in test-artifacts/faults/figures.jsonl for docs/reliability.md. */
export function reportFigures(fault: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ fault, at: new Date().toISOString(), ...figures });
  process.stdout.write(`[faults] ${line}\n`);
  const dir = path.join(ROOT, 'test-artifacts/faults');
  mkdirSync(dir, { recursive: true });
  appendFileSync(path.join(dir, 'figures.jsonl'), `${line}\n`);
}

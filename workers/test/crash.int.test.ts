import { execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { AllTenants, createRedis, createSpanQueue, sql, type SpanQueue } from '@canopy/core';
import { createTestEnv, startNodeProcess, waitFor, type TestEnv } from '@canopy/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStored, makeSpanBatch, queueState } from './helpers.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const BATCHES = 20;
const SPANS_PER_BATCH = 50;

interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

let env: TestEnv;
let redis: Redis;
let queue: SpanQueue;
const children: ChildProcess[] = [];

const srcRoot = path.join(repo, 'workers/src');
const distRoot = path.join(repo, 'workers/dist');

/** Every workers/src/*.ts has a dist/*.js at least as new. */
function distIsFresh(dir = srcRoot): boolean {
  return readdirSync(dir, { withFileTypes: true }).every((e) => {
    const src = path.join(dir, e.name);
    if (e.isDirectory()) return distIsFresh(src);
    if (!e.name.endsWith('.ts')) return true;
    const out = path.join(distRoot, path.relative(srcRoot, src)).replace(/\.ts$/, '.js');
    try {
      return statSync(out).mtimeMs >= statSync(src).mtimeMs;
    } catch {
      return false;
    }
  });
}

/** The crash tests run the real `node workers/dist/main.js`, so dist must match src. */
function buildWorkers(): void {
  try {
    execFileSync('npx', ['tsc', '-b', 'workers'], { cwd: repo, stdio: 'pipe' });
  } catch (err) {
    // tsc -b also builds core; a core mid-edit elsewhere must not fail these tests while workers' dist is current.
    if (!distIsFresh()) throw new Error(`npx tsc -b workers failed:\n${String((err as { stdout?: unknown }).stdout ?? err)}`);
  }
}

beforeAll(async () => {
  buildWorkers();
  env = await createTestEnv();
  redis = createRedis(env.config.redis.url);
  queue = createSpanQueue(redis, env.config.redis.queuePrefix);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await queue?.close();
  redis?.disconnect();
  await env?.cleanup();
});

/** `node workers/dist/main.js` on this file's database and queue, with locks short enough to expire within the test. */
function startWorker(extraEnv: Record<string, string> = {}): WorkerProcess {
  const worker = startNodeProcess(path.join(repo, 'workers/dist/main.js'), {
    ...env.env,
    CANOPY_LOG_LEVEL: 'info',
    CANOPY_BATCH_MAX_WAIT_MS: '300',
    CANOPY_WORKER_LOCK_DURATION_MS: '2000',
    CANOPY_WORKER_STALLED_INTERVAL_MS: '500',
    ...extraEnv,
  });
  children.push(worker.child);
  const exited = worker.exited.then(() => ({ code: worker.child.exitCode, signal: worker.child.signalCode }));
  return { child: worker.child, exited, output: worker.output };
}

async function enqueueBatches(orgId: string): Promise<void> {
  const tenant = { orgId, workspaceId: `ws_${orgId}` };
  for (let i = 0; i < BATCHES; i++) await queue.add(makeSpanBatch(tenant, { spans: SPANS_PER_BATCH }), { attempts: 5 });
}

async function batchesStored(orgId: string): Promise<number[]> {
  const rows = await env.clickhouse.query<{ spans: string }>(
    AllTenants,
    sql`SELECT sum(spans) AS spans FROM ingest_batches WHERE ${sql.allTenants()} AND org_id = ${orgId} GROUP BY batch_id`,
  );
  return rows.map((r) => Number(r.spans));
}

/** After a crash, a normal worker takes over the stalled jobs and the queue drains with every span stored once. */
async function recoverAndCheck(orgId: string): Promise<void> {
  const worker = startWorker();
  try {
    await waitFor(async () => (await queueState(queue.queue)).unfinished === 0, { timeoutMs: 30_000, what: 'queue to drain' });
    const total = BATCHES * SPANS_PER_BATCH;
    expect(await countStored(env.clickhouse, orgId)).toEqual({ rows: total, distinctSpans: total, usageSpans: total });
    expect(await batchesStored(orgId)).toEqual(Array(BATCHES).fill(SPANS_PER_BATCH));
    expect((await queueState(queue.queue)).failed).toBe(0);

    worker.child.kill('SIGTERM');
    expect(await worker.exited, worker.output()).toEqual({ code: 0, signal: null });
  } finally {
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  }
}

describe('worker process crash', () => {
  it('killed after an insert but before completing its jobs: the retry stores no second copy', async () => {
    const orgId = 'org_kill_after';
    await enqueueBatches(orgId);
    const crashed = startWorker({ CANOPY_WORKER_FAULT: 'kill-after-insert' });
    expect(await crashed.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const afterCrash = await countStored(env.clickhouse, orgId);
    expect(afterCrash.rows).toBeGreaterThan(0);
    expect(afterCrash.rows % SPANS_PER_BATCH).toBe(0);
    expect(await queueState(queue.queue)).toMatchObject({ unfinished: BATCHES, failed: 0 });

    await recoverAndCheck(orgId);
  });

  it('killed right before its first insert: the jobs are written by the next worker', async () => {
    const orgId = 'org_kill_before';
    await enqueueBatches(orgId);
    const crashed = startWorker({ CANOPY_WORKER_FAULT: 'kill-before-insert' });
    expect(await crashed.exited).toEqual({ code: null, signal: 'SIGKILL' });

    expect((await countStored(env.clickhouse, orgId)).rows).toBe(0);
    expect(await queueState(queue.queue)).toMatchObject({ unfinished: BATCHES, failed: 0 });

    await recoverAndCheck(orgId);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, createTestOrg, freePort, waitFor, waitForHttp, type NodeProcess, type TestEnv } from '@canopy/core/testing';
import { buildServices, createProcessRegistry, openQueue, reportFigures, settledCounts, sleep, startCollector, startWorker, stopTimed, storedCounts } from './harness.js';
import { startTraffic, type Traffic } from './traffic.js';

// Workers killed with SIGKILL while spans keep arriving through a real collector: in the
// middle of a batch (jobs active, rows not yet inserted), and right after an insert
// ClickHouse accepted but before the jobs were completed. workers/test/crash.int.test.ts
// proves the second case for a queue filled up front; here it is end to end, under load,
// with several crashes in a row. The killed worker's jobs come back when their 5 s locks
// expire; a redelivered batch that is already stored is skipped (workers/src/writer/dedupe.ts).

let env: TestEnv;
let queue: ReturnType<typeof openQueue>;
let port: number;
const processes = createProcessRegistry();

beforeAll(async () => {
  buildServices();
  env = await createTestEnv();
  queue = openQueue(env.config.redis.url, env.config.redis.queuePrefix);
  port = await freePort();
  processes.track(startCollector(env.env, port));
  await waitForHttp(`http://127.0.0.1:${port}/readyz`);
});

afterAll(async () => {
  await processes.killAll();
  await queue?.close();
  await env?.cleanup();
});

async function trafficFor(): Promise<{ orgId: string; traffic: Traffic }> {
  const org = await createTestOrg(env, ['prod']);
  const traffic = startTraffic({ url: `http://127.0.0.1:${port}/v1/traces`, key: org.workspaces.prod!.ingestKey.key, lanes: 2, spansPerRequest: 40, pauseMs: 10 });
  return { orgId: org.orgId, traffic };
}

const ready = (w: NodeProcess): Promise<boolean> => waitFor(async () => w.output().includes('span writer consuming'), { timeoutMs: 20_000, what: 'a worker to start' });

describe('worker killed with SIGKILL under load', () => {
  it('in the middle of a batch, twice: the next worker takes over the stalled jobs and every span is stored once', async () => {
    const started = Date.now();
    const { orgId, traffic } = await trafficFor();
    // Batches wait up to 1 s, so a worker always holds jobs it has not written yet.
    let worker = processes.track(startWorker(env.env, { CANOPY_BATCH_MAX_WAIT_MS: '1000' }));
    await ready(worker);
    const kills: Array<{ activeJobs: number; storedBefore: number }> = [];
    for (let i = 0; i < 2; i++) {
      await waitFor(async () => (await storedCounts(env.clickhouse, orgId)).rows > 0 && (await queue.state()).active > 0, { timeoutMs: 30_000, what: 'a batch in progress' });
      const { active } = await queue.state();
      kills.push({ activeJobs: active, storedBefore: (await storedCounts(env.clickhouse, orgId)).rows });
      expect((await stopTimed(worker, 'SIGKILL')).exit).toBe('SIGKILL');
      worker = processes.track(startWorker(env.env, { CANOPY_BATCH_MAX_WAIT_MS: '1000' }));
      await ready(worker);
      await sleep(2_000);
    }
    await waitFor(async () => worker.output().includes('stalled; it will be delivered again'), { timeoutMs: 20_000, what: 'the killed worker’s jobs to be taken over' });
    const stats = await traffic.stop();
    const counts = await settledCounts(env.clickhouse, { orgId, expected: stats.acknowledgedSpans, queue }, 60_000);
    const stop = await stopTimed(worker, 'SIGTERM');

    reportFigures('worker-sigkill-mid-batch', { sent: stats.acknowledgedSpans, requests: stats.acknowledgedRequests, kills, drainMs: counts.waitedMs, found: counts, finalStop: stop, totalMs: Date.now() - started });
    for (const k of kills) expect(k.activeJobs).toBeGreaterThan(0);
    expect(stats.failed).toEqual([]);
    for (const outcome of Object.keys(stats.outcomes)) expect(['200', '503']).toContain(outcome);
    expect(await queue.state()).toEqual({ unfinished: 0, active: 0, failed: 0 });
    expect(counts).toMatchObject({ rows: stats.acknowledgedSpans, distinctSpans: stats.acknowledgedSpans, usageSpans: stats.acknowledgedSpans });
    expect(stop.exit, worker.output()).toBe(0);
  }, 120_000);

  it('after ClickHouse accepted the insert but before the jobs were completed, three times in a row: no span is stored twice', async () => {
    const started = Date.now();
    const { orgId, traffic } = await trafficFor();
    await waitFor(async () => traffic.stats.acknowledgedRequests >= 20, { timeoutMs: 20_000, what: 'traffic to flow' });
    const crashes: Array<{ storedAfterCrash: number; unfinishedJobs: number }> = [];
    for (let i = 0; i < 3; i++) {
      // CANOPY_WORKER_FAULT=kill-after-insert: SIGKILL right after the first INSERT returned.
      const crashed = processes.track(startWorker(env.env, { CANOPY_WORKER_FAULT: 'kill-after-insert' }));
      expect(await crashed.exited, crashed.output()).toBe('SIGKILL');
      crashes.push({ storedAfterCrash: (await storedCounts(env.clickhouse, orgId)).rows, unfinishedJobs: (await queue.state()).unfinished });
    }
    const worker = processes.track(startWorker(env.env));
    await sleep(2_000);
    const stats = await traffic.stop();
    const counts = await settledCounts(env.clickhouse, { orgId, expected: stats.acknowledgedSpans, queue }, 60_000);
    const stop = await stopTimed(worker, 'SIGTERM');

    reportFigures('worker-sigkill-after-insert', { sent: stats.acknowledgedSpans, requests: stats.acknowledgedRequests, crashes, drainMs: counts.waitedMs, found: counts, finalStop: stop, totalMs: Date.now() - started });
    // Each crash left rows in ClickHouse whose jobs were still open in Redis.
    expect(crashes[0]!.storedAfterCrash).toBeGreaterThan(0);
    for (const c of crashes) expect(c.unfinishedJobs).toBeGreaterThan(0);
    expect(stats.failed).toEqual([]);
    expect(await queue.state()).toEqual({ unfinished: 0, active: 0, failed: 0 });
    expect(counts).toMatchObject({ rows: stats.acknowledgedSpans, distinctSpans: stats.acknowledgedSpans, usageSpans: stats.acknowledgedSpans });
    expect(stop.exit, worker.output()).toBe(0);
  }, 120_000);
});

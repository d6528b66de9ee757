import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createRedis, createSpanQueue, revokeApiKey, sql } from '@canopy/core';
import { createTestEnv, createTestOrg, freePort, startNodeProcess, waitFor, waitForHttp, type NodeProcess, type TestEnv } from '@canopy/core/testing';

// Several collectors and several workers against one Redis and one ClickHouse database:
// nothing is lost, nothing is stored twice, both workers take a share, and what one
// collector learns (a revoked key) every other learns from Postgres, not from memory.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REQUESTS = 120;
const SPANS_PER_REQUEST = 40;

let env: TestEnv;
let org: Awaited<ReturnType<typeof createTestOrg>>;
const collectorPorts: number[] = [];
const collectors: NodeProcess[] = [];
const workers: NodeProcess[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  org = await createTestOrg(env, ['dev', 'prod', 'revoke']);
  // Small batches and few jobs per worker, so one worker cannot take the whole queue;
  // a key cache TTL of an hour, so only the Postgres notification can end a key early.
  const shared = { ...env.env, CANOPY_WORKER_CONCURRENCY: '4', CANOPY_BATCH_MAX_WAIT_MS: '100', CANOPY_KEY_CACHE_TTL_MS: '3600000' };
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    collectorPorts.push(port);
    collectors.push(startNodeProcess(`${ROOT}collector/dist/main.js`, { ...shared, CANOPY_COLLECTOR_PORT: String(port), CANOPY_COLLECTOR_HOST: '127.0.0.1' }, { nodeArgs: ['--max-semi-space-size=32'] }));
    workers.push(startNodeProcess(`${ROOT}workers/dist/main.js`, { ...shared, CANOPY_LOG_LEVEL: 'debug' }, { nodeArgs: ['--max-semi-space-size=32'] }));
  }
  await Promise.all(collectorPorts.map((p) => waitForHttp(`http://127.0.0.1:${p}/readyz`)));
  // Both workers connected to the queue before anything is sent, so neither misses the load.
  const redis = createRedis(env.config.redis.url, { forWorker: true });
  const probe = createSpanQueue(redis, env.config.redis.queuePrefix);
  try {
    await waitFor(async () => (await probe.queue.getWorkersCount()) === 2, { what: 'two workers on the queue' });
  } finally {
    await probe.close();
    redis.disconnect();
  }
});

afterAll(async () => {
  await Promise.all([...collectors, ...workers].map((p) => p.stop()));
  await env?.cleanup();
});

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** One OTLP/JSON export request whose span ids are unique across the whole run. */
function exportRequest(runTag: string, seq: number): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  const spans = Array.from({ length: SPANS_PER_REQUEST }, (_, i) => ({
    traceId: `${runTag}${hex(seq, 8)}${hex(Math.floor(i / 10), 8)}`,
    spanId: hex(seq * SPANS_PER_REQUEST + i + 1, 16),
    name: i % 10 === 0 ? 'GET /checkout' : 'db.query',
    kind: i % 10 === 0 ? 2 : 3,
    startTimeUnixNano: String(now + BigInt(i)),
    endTimeUnixNano: String(now + BigInt(i) + 1_000_000n),
    attributes: [{ key: 'request.seq', value: { intValue: String(seq) } }],
  }));
  return JSON.stringify({
    resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${seq % 3}` } }] }, scopeSpans: [{ scope: { name: 'scale-out' }, spans }] }],
  });
}

async function post(port: number, key: string, body: string): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
  await r.arrayBuffer();
  return r.status;
}

/** Rows each worker reports inserting, from its debug flush lines (`inserts: 120 rows/3 jobs ok, …`). */
function insertedRows(worker: NodeProcess): number {
  let rows = 0;
  for (const line of worker.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    const { msg } = JSON.parse(line) as { msg?: string };
    if (!msg?.startsWith('flush')) continue;
    for (const m of msg.matchAll(/(\d+) rows\/\d+ jobs ok/g)) rows += Number(m[1]);
  }
  return rows;
}

describe('two collectors and two workers on one queue', () => {
  it('store every span exactly once, keep usage exact, and share the inserts between both workers', async () => {
    const runTag = randomBytes(8).toString('hex');
    const sentPerWorkspace = new Map<string, number>();
    let next = 0;
    const send = async (): Promise<void> => {
      for (let seq = next++; seq < REQUESTS; seq = next++) {
        const ws = seq % 3 === 0 ? org.workspaces.prod! : org.workspaces.dev!;
        const status = await post(collectorPorts[seq % 2]!, ws.ingestKey.key, exportRequest(runTag, seq));
        expect(status, `request ${seq}`).toBe(200);
        sentPerWorkspace.set(ws.id, (sentPerWorkspace.get(ws.id) ?? 0) + SPANS_PER_REQUEST);
      }
    };
    await Promise.all(Array.from({ length: 8 }, send));
    const total = REQUESTS * SPANS_PER_REQUEST;

    const workspaceIds = [org.workspaces.dev!.id, org.workspaces.prod!.id];
    const scope = { orgId: org.orgId, workspaceIds };
    const count = async (): Promise<{ rows: number; distinct: number; batches: number }> => {
      const [r] = await env.clickhouse.query<{ rows: string; distinct: string; batches: string }>(
        scope,
        sql`SELECT count() AS rows, uniqExact(trace_id, span_id) AS distinct, uniqExact(batch_id) AS batches FROM spans WHERE ${sql.tenant(scope)}`,
      );
      return { rows: Number(r!.rows), distinct: Number(r!.distinct), batches: Number(r!.batches) };
    };
    await waitFor(async () => (await count()).rows >= total, { timeoutMs: 60_000, what: `${total} spans in ClickHouse` });
    // Past several batch windows: a late duplicate would have landed by now.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await count()).toEqual({ rows: total, distinct: total, batches: REQUESTS });

    const usage = await env.clickhouse.query<{ workspace_id: string; spans: string }>(
      scope,
      sql`SELECT workspace_id, sum(spans) AS spans FROM usage_daily WHERE ${sql.tenant(scope)} GROUP BY workspace_id`,
    );
    expect(Object.fromEntries(usage.map((u) => [u.workspace_id, Number(u.spans)]))).toEqual(Object.fromEntries(sentPerWorkspace));

    const shares = workers.map(insertedRows);
    expect(shares.reduce((a, b) => a + b, 0), `rows inserted per worker: ${shares.join(', ')}`).toBe(total);
    for (const share of shares) expect(share, `rows inserted per worker: ${shares.join(', ')}`).toBeGreaterThan(0);
  });

  it('refuses a revoked key on both collectors within a second, though each had it cached', async () => {
    const key = org.workspaces.revoke!.ingestKey;
    const empty = JSON.stringify({ resourceSpans: [] });
    // Both collectors now hold the key in memory, trusted for an hour.
    for (const port of collectorPorts) expect(await post(port, key.key, empty)).toBe(200);

    expect(await revokeApiKey(env.pool, key.id)).toBe(true);
    const revokedAt = Date.now();
    const refusedAfterMs = await Promise.all(
      collectorPorts.map((port) =>
        waitFor(async () => ((await post(port, key.key, empty)) === 401 ? { ms: Date.now() - revokedAt } : null), { timeoutMs: 5_000, intervalMs: 20, what: `401 from :${port}` }),
      ),
    ).then((r) => r.map((x) => x.ms));
    for (const ms of refusedAfterMs) expect(ms, `refused after ${refusedAfterMs.join(' ms, ')} ms`).toBeLessThanOrEqual(1_000);
    // The other workspaces' keys are untouched.
    for (const port of collectorPorts) expect(await post(port, org.workspaces.dev!.ingestKey.key, empty)).toBe(200);
  });
});

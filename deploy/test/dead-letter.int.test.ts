import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapOrganization, sql, type BootstrapResult } from '@canopy/core';
import { createTestEnv, freePort, startNodeProcess, waitFor, waitForHttp, type NodeProcess, type TestEnv } from '@canopy/core/testing';
import { buildServices, openQueue, ROOT } from './faults/harness.js';

// A poison batch end to end, with the real collector, workers and query API: ClickHouse
// refuses one workspace's inserts; its batch becomes a dead letter after its last attempt
// while another workspace's spans in the same insert are stored; the cause is fixed and
// the dead letter replayed; every span is then stored exactly once.
//
// The poison is a MATERIALIZED column on `spans` that calls throwIf for that workspace.
// ClickHouse computes it before writing anything, so a refused insert leaves nothing
// behind (checked below). A materialized view that throws would not do: ClickHouse writes
// the table before its views, so each refused attempt would still store the spans.

const JOB_ATTEMPTS = 3;

let env: TestEnv;
let boot: BootstrapResult;
let collectorUrl: string;
let apiUrl: string;
let queue: ReturnType<typeof openQueue>;
const processes: NodeProcess[] = [];
let workers: NodeProcess;

beforeAll(async () => {
  buildServices();
  env = await createTestEnv();
  boot = await bootstrapOrganization(env.pool, { name: `dead-letters-${randomBytes(3).toString('hex')}`, workspaceSlugs: ['poisoned', 'healthy'] });
  const [collectorPort, apiPort] = [await freePort(), await freePort()];
  collectorUrl = `http://127.0.0.1:${collectorPort}`;
  apiUrl = `http://127.0.0.1:${apiPort}/api/v1`;
  const serviceEnv = {
    ...env.env,
    CANOPY_COLLECTOR_PORT: String(collectorPort),
    CANOPY_COLLECTOR_HOST: '127.0.0.1',
    CANOPY_API_PORT: String(apiPort),
    CANOPY_API_HOST: '127.0.0.1',
    // Wide enough that both workspaces' requests share one insert.
    CANOPY_BATCH_MAX_WAIT_MS: '500',
    CANOPY_JOB_ATTEMPTS: String(JOB_ATTEMPTS),
    CANOPY_LOG_LEVEL: 'info',
  };
  workers = startNodeProcess(path.join(ROOT, 'workers/dist/main.js'), serviceEnv);
  processes.push(startNodeProcess(path.join(ROOT, 'collector/dist/main.js'), serviceEnv), workers, startNodeProcess(path.join(ROOT, 'query-api/dist/main.js'), serviceEnv));
  await waitForHttp(`${collectorUrl}/readyz`);
  await waitForHttp(`http://127.0.0.1:${apiPort}/readyz`);
  queue = openQueue(env.config.redis.url, env.config.redis.queuePrefix);
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await queue?.close();
  await env?.cleanup();
});

const poisoned = () => boot.workspaces.find((w) => w.slug === 'poisoned')!;
const healthy = () => boot.workspaces.find((w) => w.slug === 'healthy')!;

async function poison(workspaceId: string): Promise<void> {
  await env.clickhouse.command(sql`ALTER TABLE spans ADD COLUMN dead_letter_test UInt8 MATERIALIZED throwIf(workspace_id = ${workspaceId})`);
}
async function cure(): Promise<void> {
  await env.clickhouse.command(sql`ALTER TABLE spans DROP COLUMN dead_letter_test`);
}

/** Sends `count` spans with fresh ids to the workspace through the collector; returns their ids. */
async function send(ingestKey: string, count: number): Promise<string[]> {
  const traceId = randomBytes(16).toString('hex');
  const spanIds = Array.from({ length: count }, () => randomBytes(8).toString('hex'));
  const now = BigInt(Date.now()) * 1_000_000n;
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
        scopeSpans: [
          {
            scope: { name: 'dead-letter-test' },
            spans: spanIds.map((spanId, i) => ({ traceId, spanId, name: `secret-op-${i}`, kind: 2, startTimeUnixNano: String(now), endTimeUnixNano: String(now + 1_000_000n) })),
          },
        ],
      },
    ],
  };
  const res = await fetch(`${collectorUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ingestKey}` }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return spanIds;
}

/** What ClickHouse holds for one workspace: span rows, distinct span ids, and the usage rollup. */
async function storedIn(workspaceId: string): Promise<{ rows: number; distinctSpans: number; usageSpans: number }> {
  const scope = { orgId: boot.org.id, workspaceIds: [workspaceId] };
  const [spans] = await env.clickhouse.query<{ rows: string; distinct_spans: string }>(scope, sql`SELECT count() AS rows, uniqExact(span_id) AS distinct_spans FROM spans WHERE ${sql.tenant(scope)}`);
  const [usage] = await env.clickhouse.query<{ spans: string }>(scope, sql`SELECT sum(spans) AS spans FROM usage_daily WHERE ${sql.tenant(scope)}`);
  return { rows: Number(spans?.rows ?? 0), distinctSpans: Number(spans?.distinct_spans ?? 0), usageSpans: Number(usage?.spans ?? 0) };
}

async function api(method: string, route: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${apiUrl}${route}`, { method, headers: { authorization: `Bearer ${boot.ownerToken}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface Item {
  id: string;
  batchId: string;
  status: string;
  spans: number;
  bytes: number;
  attempts: number;
  replayCount: number;
  error: { code: string; message: string };
}

async function openDeadLetters(workspaceId: string): Promise<Item[]> {
  return (await api('GET', `/workspaces/${workspaceId}/dead-letters`)).body.deadLetters as Item[];
}

async function drained(): Promise<boolean> {
  return (await queue.state()).unfinished === 0;
}

describe('a poison batch', () => {
  let deadLetter: Item;
  let poisonedSpanIds: string[];

  it('becomes a dead letter with its error and size after its last attempt, while another workspace in the same insert is stored', async () => {
    await poison(poisoned().id);
    const [bad, good] = await Promise.all([send(poisoned().ingestKey, 12), send(healthy().ingestKey, 8)]);
    poisonedSpanIds = bad;

    [deadLetter] = await waitFor(async () => {
      const list = await openDeadLetters(poisoned().id);
      return list.length > 0 ? list : null;
    }, { timeoutMs: 30_000, what: 'the dead letter in the list' });
    expect(deadLetter).toMatchObject({ status: 'open', spans: 12, attempts: JOB_ATTEMPTS, replayCount: 0, error: { code: 'clickhouse_rejected' } });
    expect(deadLetter.bytes).toBeGreaterThan(0);
    expect(deadLetter.error.message).toMatch(/throwIf/);

    await waitFor(drained, { what: 'the queue to drain' });
    expect((await queue.state()).failed).toBe(0);
    expect(await storedIn(healthy().id)).toEqual({ rows: good.length, distinctSpans: good.length, usageSpans: good.length });
    // The refused attempts left nothing behind.
    expect(await storedIn(poisoned().id)).toEqual({ rows: 0, distinctSpans: 0, usageSpans: 0 });
    // Both requests went into one insert, which the writer split to isolate the poison.
    expect(workers.output()).toContain('writing each job alone');
    expect(workers.output()).toContain(`is dead letter ${deadLetter.id}`);
    expect(workers.output()).not.toContain('secret-op');
  });

  it('shows its first rows on inspection', async () => {
    const { status, body } = await api('GET', `/workspaces/${poisoned().id}/dead-letters/${deadLetter.id}`);
    expect(status).toBe(200);
    expect(body.rowCount).toBe(12);
    const rows = body.firstRows as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.span_id)).toEqual(poisonedSpanIds);
    expect(rows[0]).toMatchObject({ workspace_id: poisoned().id, batch_id: deadLetter.batchId, name: 'secret-op-0', service_name: 'checkout' });
  });

  it('is stored exactly once when replayed after the cause is fixed, and a second replay is refused', async () => {
    await cure();
    const replay = await api('POST', `/workspaces/${poisoned().id}/dead-letters/${deadLetter.id}/replay`);
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ id: deadLetter.id, status: 'replayed', replayCount: 1 });

    await waitFor(async () => (await storedIn(poisoned().id)).rows >= 12, { timeoutMs: 30_000, what: 'the replayed spans' });
    await waitFor(drained, { what: 'the replay job to complete' });
    expect(await storedIn(poisoned().id)).toEqual({ rows: 12, distinctSpans: 12, usageSpans: 12 });
    const scope = { orgId: boot.org.id, workspaceIds: [poisoned().id] };
    const ids = await env.clickhouse.query<{ span_id: string }>(scope, sql`SELECT span_id FROM spans WHERE ${sql.tenant(scope)} ORDER BY span_id`);
    expect(ids.map((r) => r.span_id)).toEqual([...poisonedSpanIds].sort());

    const again = await api('POST', `/workspaces/${poisoned().id}/dead-letters/${deadLetter.id}/replay`);
    expect(again.status).toBe(409);
    expect(await openDeadLetters(poisoned().id)).toEqual([]);
    expect((await api('GET', `/workspaces/${poisoned().id}/dead-letters?status=replayed`)).body.deadLetters).toEqual([expect.objectContaining({ id: deadLetter.id, status: 'replayed' })]);
  });

  it('can be discarded instead: its spans are never stored and a second discard is refused', async () => {
    await poison(poisoned().id);
    try {
      await send(poisoned().ingestKey, 5);
      const [second] = await waitFor(async () => {
        const list = await openDeadLetters(poisoned().id);
        return list.length > 0 ? list : null;
      }, { timeoutMs: 30_000, what: 'the second dead letter' });
      const discard = await api('DELETE', `/workspaces/${poisoned().id}/dead-letters/${second!.id}`);
      expect(discard.status).toBe(200);
      expect(discard.body).toMatchObject({ id: second!.id, status: 'discarded', spans: 5 });
      expect((await api('GET', `/workspaces/${poisoned().id}/dead-letters/${second!.id}`)).body).toMatchObject({ status: 'discarded', firstRows: [], rowCount: 0 });
      expect((await api('DELETE', `/workspaces/${poisoned().id}/dead-letters/${second!.id}`)).status).toBe(409);
      await waitFor(drained, { what: 'the queue to drain' });
    } finally {
      await cure();
    }
    expect(await storedIn(poisoned().id)).toEqual({ rows: 12, distinctSpans: 12, usageSpans: 12 });
  });

  it('leaves an audit entry for the replay and the discard', async () => {
    const audit = async (action: string) => ((await api('GET', `/orgs/${boot.org.id}/audit?action=${action}`)).body.entries as Array<Record<string, unknown>>);
    expect(await audit('dead_letter.replay')).toEqual([
      expect.objectContaining({ targetType: 'dead_letter', targetId: deadLetter.id, before: expect.objectContaining({ status: 'open' }), after: expect.objectContaining({ status: 'replayed' }) }),
    ]);
    expect(await audit('dead_letter.discard')).toEqual([expect.objectContaining({ targetType: 'dead_letter', after: expect.objectContaining({ status: 'discarded', spans: 5 }) })]);
  });
});

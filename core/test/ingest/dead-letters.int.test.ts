import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, createTestOrg, type TestEnv } from '../../src/testing/index.js';
import {
  deleteWorkspace,
  discardDeadLetter,
  getDeadLetter,
  isReplayJobId,
  listDeadLetters,
  markDeadLetterReplayed,
  newId,
  normalizeTraceRequest,
  recordDeadLetter,
  replayJobId,
  type DeadLetter,
  type SpanBatch,
} from '../../src/index.js';
import { replayCountOf } from '../../src/ingest/dead-letters-jobs.js';
import { expectTenancyError, oneAudit, system, withAudit } from '../tenancy/helpers.js';

let env: TestEnv;
let org: Awaited<ReturnType<typeof createTestOrg>>;
let dev: { orgId: string; workspaceId: string };
let prod: { orgId: string; workspaceId: string };

beforeAll(async () => {
  env = await createTestEnv();
  org = await createTestOrg(env, ['dev', 'prod', 'doomed']);
  dev = { orgId: org.orgId, workspaceId: org.workspaces.dev!.id };
  prod = { orgId: org.orgId, workspaceId: org.workspaces.prod!.id };
});
afterAll(async () => env?.cleanup());

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** A batch as the collector queues it, with `groups` resources of `perGroup` spans each. */
function batchOf(tenant: { orgId: string; workspaceId: string }, shape: { groups: number; perGroup: number }): SpanBatch {
  const batchId = newId('batch');
  const receivedAtMs = Date.now() - 60_000;
  const n = normalizeTraceRequest(
    {
      resourceSpans: Array.from({ length: shape.groups }, (_, g) => ({
        resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${g}` } }] },
        scopeSpans: [
          {
            scope: { name: 's' },
            spans: Array.from({ length: shape.perGroup }, (_, i) => ({
              traceId: hex(16),
              spanId: hex(8),
              name: `op-${g}-${i}`,
              startTimeUnixNano: '1700000000000000000',
              endTimeUnixNano: '1700000000100000000',
            })),
          },
        ],
      })),
    },
    { ...tenant, batchId, ingestedAtSec: Math.floor(receivedAtMs / 1000) },
  );
  return { v: 1, batchId, ...tenant, keyId: 'key_test', receivedAtMs, spanCount: n.accepted, bytes: n.bytes, minTimestampSec: n.minTimestampSec, maxTimestampSec: n.maxTimestampSec, groups: n.groups };
}

const refused = { code: 'clickhouse_rejected', message: 'insert into spans failed: Code: 395, throwIf' };

async function keep(batch: SpanBatch, attempts = 3): Promise<DeadLetter> {
  const r = await recordDeadLetter(env.pool, { batch, attempts, error: refused, jobId: batch.batchId });
  if (r.outcome === 'workspace_deleted') throw new Error('workspace deleted');
  return r.deadLetter;
}

async function payloadOf(id: string): Promise<unknown> {
  return (await env.pool.query<{ payload: unknown }>('SELECT payload FROM dead_letters WHERE id = $1', [id])).rows[0]?.payload;
}

describe('recordDeadLetter', () => {
  it('keeps a refused batch as an open dead letter with its identity, size, attempts, error and whole payload', async () => {
    const batch = batchOf(dev, { groups: 1, perGroup: 3 });
    const r = await recordDeadLetter(env.pool, { batch, attempts: 3, error: refused, jobId: batch.batchId });
    expect(r.outcome).toBe('created');
    const d = (r as { deadLetter: DeadLetter }).deadLetter;
    expect(d).toMatchObject({ batchId: batch.batchId, workspaceId: dev.workspaceId, keyId: 'key_test', spans: 3, bytes: batch.bytes, attempts: 3, replayCount: 0, status: 'open', error: refused });
    expect(d.id).toMatch(/^dl_/);
    expect(new Date(d.receivedAt).getTime()).toBe(batch.receivedAtMs);
    expect(await payloadOf(d.id)).toEqual(batch);
  });

  it('leaves an open dead letter unchanged when the same job is kept again (a redelivery after it was kept)', async () => {
    const batch = batchOf(dev, { groups: 1, perGroup: 1 });
    const first = await keep(batch, 3);
    const again = await recordDeadLetter(env.pool, { batch, attempts: 3, error: { code: 'other', message: 'other' }, jobId: batch.batchId });
    expect(again).toEqual({ outcome: 'unchanged', deadLetter: first });
  });

  it('reports a batch whose workspace was deleted instead of keeping it', async () => {
    const doomed = { orgId: org.orgId, workspaceId: org.workspaces.doomed!.id };
    await deleteWorkspace(env.pool, system, doomed);
    const batch = batchOf(doomed, { groups: 1, perGroup: 1 });
    expect(await recordDeadLetter(env.pool, { batch, attempts: 1, error: refused, jobId: batch.batchId })).toEqual({ outcome: 'workspace_deleted' });
  });
});

describe('markDeadLetterReplayed', () => {
  it('marks an open dead letter replayed, requeues its batch under a replay job id, and audits before/after', async () => {
    const batch = batchOf(dev, { groups: 2, perGroup: 2 });
    const d = await keep(batch);
    const requeued: Array<{ batch: SpanBatch; jobId: string }> = [];
    const { result, entry } = await oneAudit(env.pool, () =>
      markDeadLetterReplayed(env.pool, { type: 'user', id: 'usr_ana', ip: '203.0.113.9' }, { ...dev, id: d.id, requeue: async (b, job) => void requeued.push({ batch: b, jobId: job.jobId }) }),
    );
    expect(result).toMatchObject({ id: d.id, status: 'replayed', replayCount: 1, attempts: 3 });
    expect(requeued).toEqual([{ batch, jobId: `${batch.batchId}-replay-1` }]);
    expect(entry).toMatchObject({
      org_id: dev.orgId,
      actor_type: 'user',
      actor_id: 'usr_ana',
      action: 'dead_letter.replay',
      target_type: 'dead_letter',
      target_id: d.id,
      source_ip: '203.0.113.9',
      before: { batchId: batch.batchId, status: 'open', replayCount: 0 },
      after: { batchId: batch.batchId, status: 'replayed', replayCount: 1 },
    });
    expect(JSON.stringify(entry)).not.toContain(batch.groups[0]!.spans);

    const { audit } = await withAudit(env.pool, () =>
      expectTenancyError(markDeadLetterReplayed(env.pool, system, { ...dev, id: d.id, requeue: async () => void requeued.push({ batch, jobId: 'again' }) }), 'conflict', 'id'),
    );
    expect(audit).toEqual([]);
    expect(requeued).toHaveLength(1);
  });

  it('changes nothing when the batch cannot be requeued', async () => {
    const d = await keep(batchOf(dev, { groups: 1, perGroup: 1 }));
    const { audit } = await withAudit(env.pool, async () => {
      await expect(markDeadLetterReplayed(env.pool, system, { ...dev, id: d.id, requeue: async () => Promise.reject(new Error('Redis is down')) })).rejects.toThrow('Redis is down');
    });
    expect(audit).toEqual([]);
    expect((await getDeadLetter(env.pool, dev, d.id)).status).toBe('open');
  });

  it('reopens a replayed batch that is refused again: attempts add up, the replay count stays, the payload is refreshed', async () => {
    const batch = batchOf(dev, { groups: 1, perGroup: 2 });
    const d = await keep(batch, 3);
    await markDeadLetterReplayed(env.pool, system, { ...dev, id: d.id, requeue: async () => undefined });
    const r = await recordDeadLetter(env.pool, { batch, attempts: 2, error: { code: 'clickhouse_rejected', message: 'still refused' }, jobId: replayJobId(batch.batchId, 1) });
    expect(r.outcome).toBe('reopened');
    expect((r as { deadLetter: DeadLetter }).deadLetter).toMatchObject({ id: d.id, status: 'open', attempts: 5, replayCount: 1, error: { code: 'clickhouse_rejected', message: 'still refused' } });
    const requeued: string[] = [];
    await markDeadLetterReplayed(env.pool, system, { ...dev, id: d.id, requeue: async (_b, job) => void requeued.push(job.jobId) });
    expect(requeued).toEqual([`${batch.batchId}-replay-2`]);
  });

  it('is reopened only by the job of its current replay: a stale job of the batch leaves it replayed', async () => {
    const batch = batchOf(dev, { groups: 1, perGroup: 2 });
    const d = await keep(batch, 3);
    const replay = (): Promise<DeadLetter> => markDeadLetterReplayed(env.pool, system, { ...dev, id: d.id, requeue: async () => undefined });
    await replay();
    const failAs = (jobId: string) => recordDeadLetter(env.pool, { batch, attempts: 1, error: { code: 'job_failed', message: 'late' }, jobId });
    const replayed = { id: d.id, status: 'replayed', attempts: 3, replayCount: 1, error: refused };
    // The original job redelivered after a stall, or a second sweep reading it from the failed set.
    for (const stale of [batch.batchId, `${batch.batchId}-replay-01`, replayJobId(batch.batchId, 2), replayJobId('batch_other', 1)]) {
      const r = await failAs(stale);
      expect({ stale, outcome: r.outcome }).toEqual({ stale, outcome: 'unchanged' });
      expect((r as { deadLetter: DeadLetter }).deadLetter).toMatchObject(replayed);
    }
    expect(await payloadOf(d.id)).toEqual(batch);

    // Reopened by replay 1, replayed again: now replay 1 is the stale one.
    expect((await failAs(replayJobId(batch.batchId, 1))).outcome).toBe('reopened');
    await replay();
    expect((await failAs(replayJobId(batch.batchId, 1))).outcome).toBe('unchanged');
    expect(await getDeadLetter(env.pool, dev, d.id)).toMatchObject({ status: 'replayed', replayCount: 2, attempts: 4 });
    expect((await failAs(replayJobId(batch.batchId, 2))).outcome).toBe('reopened');
  });

  it('answers not_found for a dead letter of another workspace', async () => {
    const d = await keep(batchOf(prod, { groups: 1, perGroup: 1 }));
    await expectTenancyError(markDeadLetterReplayed(env.pool, system, { ...dev, id: d.id, requeue: async () => undefined }), 'not_found', 'id');
    await expectTenancyError(discardDeadLetter(env.pool, system, { ...dev, id: d.id }), 'not_found', 'id');
    await expectTenancyError(getDeadLetter(env.pool, dev, d.id), 'not_found', 'id');
  });
});

describe('discardDeadLetter', () => {
  it('drops the payload, keeps the record, audits, and refuses a second discard, a replay and a reopen', async () => {
    const batch = batchOf(dev, { groups: 1, perGroup: 1 });
    const d = await keep(batch);
    const { result, entry } = await oneAudit(env.pool, () => discardDeadLetter(env.pool, system, { ...dev, id: d.id }));
    expect(result).toMatchObject({ id: d.id, status: 'discarded', spans: 1 });
    expect(entry).toMatchObject({ action: 'dead_letter.discard', target_id: d.id, before: { status: 'open' }, after: { status: 'discarded' } });
    expect(await payloadOf(d.id)).toBeNull();
    expect(await getDeadLetter(env.pool, dev, d.id)).toMatchObject({ status: 'discarded', firstRows: [], rowCount: 0 });
    await expectTenancyError(discardDeadLetter(env.pool, system, { ...dev, id: d.id }), 'conflict', 'id');
    await expectTenancyError(markDeadLetterReplayed(env.pool, system, { ...dev, id: d.id, requeue: async () => undefined }), 'conflict', 'id');
    expect((await recordDeadLetter(env.pool, { batch, attempts: 1, error: refused, jobId: batch.batchId })).outcome).toBe('unchanged');
  });
});

describe('getDeadLetter', () => {
  it('expands the first 20 rows across resource groups, exactly as they would be inserted', async () => {
    const batch = batchOf(dev, { groups: 3, perGroup: 8 });
    const d = await keep(batch);
    const detail = await getDeadLetter(env.pool, dev, d.id);
    expect(detail.rowCount).toBe(24);
    expect(detail.firstRows).toHaveLength(20);
    expect(detail.firstRows.map((r) => r.name)).toEqual([...Array.from({ length: 8 }, (_, i) => `op-0-${i}`), ...Array.from({ length: 8 }, (_, i) => `op-1-${i}`), 'op-2-0', 'op-2-1', 'op-2-2', 'op-2-3']);
    expect(detail.firstRows[9]).toMatchObject({ org_id: dev.orgId, workspace_id: dev.workspaceId, batch_id: batch.batchId, service_name: 'svc-1' });
  });

  it('shows a row that is not JSON as its text', async () => {
    const batch = { ...batchOf(dev, { groups: 1, perGroup: 1 }), groups: [{ prefix: '"org_id": broken', spans: '"name":1' }] };
    const d = await keep(batch);
    expect((await getDeadLetter(env.pool, dev, d.id)).firstRows).toEqual([{ unparsable: '{"org_id": broken,"name":1}' }]);
  });
});

describe('listDeadLetters', () => {
  it('lists one workspace, newest first, open by default, by status, and pages without gaps or repeats', async () => {
    const other = await createTestOrg(env, ['solo']);
    const solo = { orgId: other.orgId, workspaceId: other.workspaces.solo!.id };
    const made: DeadLetter[] = [];
    for (let i = 0; i < 7; i++) made.push(await keep(batchOf(solo, { groups: 1, perGroup: 1 })));
    await discardDeadLetter(env.pool, system, { ...solo, id: made[0]!.id });
    await markDeadLetterReplayed(env.pool, system, { ...solo, id: made[1]!.id, requeue: async () => undefined });

    const open = await listDeadLetters(env.pool, solo);
    expect(open.deadLetters.map((d) => d.id)).toEqual(made.slice(2).map((d) => d.id).reverse());
    expect(open.nextCursor).toBeNull();
    expect((await listDeadLetters(env.pool, solo, { status: 'discarded' })).deadLetters.map((d) => d.id)).toEqual([made[0]!.id]);
    expect((await listDeadLetters(env.pool, solo, { status: 'replayed' })).deadLetters.map((d) => d.id)).toEqual([made[1]!.id]);

    const all = await listDeadLetters(env.pool, solo, { status: 'all', limit: 200 });
    expect(all.deadLetters).toHaveLength(7);
    const paged: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await listDeadLetters(env.pool, solo, { status: 'all', limit: 3, ...(cursor ? { cursor } : {}) });
      paged.push(...r.deadLetters.map((d) => d.id));
      if (!r.nextCursor) break;
      cursor = r.nextCursor;
    }
    expect(paged).toEqual(all.deadLetters.map((d) => d.id));

    expect((await listDeadLetters(env.pool, { ...solo, orgId: dev.orgId })).deadLetters).toEqual([]);
    await expectTenancyError(listDeadLetters(env.pool, solo, { cursor: 'nope' }), 'invalid', 'cursor');
    await expectTenancyError(listDeadLetters(env.pool, solo, { limit: 0 }), 'invalid', 'limit');
  });
});

describe('replay job ids', () => {
  it('differ from the batch id and are recognised as replays', () => {
    expect(replayJobId('batch_ab12', 3)).toBe('batch_ab12-replay-3');
    expect(isReplayJobId('batch_ab12-replay-3')).toBe(true);
    expect(isReplayJobId('batch_ab12')).toBe(false);
    expect(isReplayJobId(undefined)).toBe(false);
  });

  it('name the replay a job belongs to, or none', () => {
    expect(replayCountOf('batch_ab12-replay-3', 'batch_ab12')).toBe(3);
    expect(replayCountOf('batch_ab12', 'batch_ab12')).toBeNull();
    expect(replayCountOf('batch_ab12-replay-03', 'batch_ab12')).toBeNull();
    expect(replayCountOf('batch_cd34-replay-3', 'batch_ab12')).toBeNull();
  });
});

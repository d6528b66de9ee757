import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import {
  commitAccepted,
  createRedis,
  createSpanQueue,
  ledgerKeys,
  loadConfig,
  minuteOf,
  pendingKey,
  pendingSummaries,
  recordRefusals,
  settleStoredBatches,
  writeAcceptIntent,
  type LedgerBatch,
  type SpanBatch,
  type SpanQueue,
} from '../../src/index.js';

// The Redis half of the ingest ledger against a real Redis: every accepted batch is
// counted exactly once whichever of the collector's commit and the worker's settle runs,
// in whatever order and however often, and a stored batch is never left pending.

let redis: Redis;
let queue: SpanQueue;
const prefix = `ledger_rec_${randomBytes(4).toString('hex')}`;
const keys = ledgerKeys(prefix);
const minute = minuteOf(Date.now());

beforeAll(async () => {
  redis = createRedis(loadConfig(process.env).redis.url, { forWorker: true });
  queue = createSpanQueue(redis, prefix);
});

afterAll(async () => {
  await queue?.close();
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (found.length) await redis.del(...found);
  } while (cursor !== '0');
  redis?.disconnect();
});

let seq = 0;
function batchOf(spanCount: number, over: Partial<LedgerBatch> = {}): LedgerBatch {
  seq++;
  return { batchId: `batch_${prefix}_${seq}`, orgId: 'org_a', workspaceId: `ws_${seq}`, keyId: 'key_1', receivedAtMs: minute + 1_234, spanCount, bytes: spanCount * 100, ...over };
}

/** The live counters of one batch's slot, as `kind|measure` → number. */
async function countsOf(b: LedgerBatch): Promise<Record<string, number>> {
  const all = await redis.hgetall(keys.live);
  const slot = `${minuteOf(b.receivedAtMs)}|${b.orgId}|${b.workspaceId}|${b.keyId}|`;
  return Object.fromEntries(Object.entries(all).filter(([f]) => f.startsWith(slot)).map(([f, v]) => [f.slice(slot.length), Number(v)]));
}

const pendingOf = async (b: LedgerBatch): Promise<string[]> => redis.zrange(pendingKey(prefix, b.workspaceId), 0, -1);

describe('accepted batches', () => {
  it('counts a batch once and marks it pending, however often the collector commits it', async () => {
    const b = batchOf(7);
    await writeAcceptIntent(redis, prefix, b);
    const first = await commitAccepted(redis, prefix, { jobId: b.batchId, batchId: b.batchId, workspaceId: b.workspaceId });
    const again = await commitAccepted(redis, prefix, { jobId: b.batchId, batchId: b.batchId, workspaceId: b.workspaceId });
    expect([first, again]).toEqual([true, false]);
    expect(await countsOf(b)).toEqual({ 'accepted|spans': 7, 'accepted|requests': 1, 'accepted|bytes': 700 });
    expect(await redis.zrange(pendingKey(prefix, b.workspaceId), 0, -1, 'WITHSCORES')).toEqual([b.batchId, String(b.receivedAtMs)]);
    expect(await redis.exists(keys.intent(b.batchId))).toBe(0);
  });

  it('settles a stored batch: out of the pending set, not counted again', async () => {
    const b = batchOf(3);
    await writeAcceptIntent(redis, prefix, b);
    await commitAccepted(redis, prefix, { jobId: b.batchId, batchId: b.batchId, workspaceId: b.workspaceId });
    await settleStoredBatches(redis, prefix, [b]);
    await settleStoredBatches(redis, prefix, [b]);
    expect(await countsOf(b)).toEqual({ 'accepted|spans': 3, 'accepted|requests': 1, 'accepted|bytes': 300 });
    expect(await pendingOf(b)).toEqual([]);
    expect(await pendingSummaries(redis, prefix, [b.workspaceId])).toEqual(new Map([[b.workspaceId, { batches: 0, oldestReceivedAtMs: null }]]));
  });

  it('lets the storing worker count a batch whose collector died before committing, and a late commit changes nothing', async () => {
    const b = batchOf(5);
    await writeAcceptIntent(redis, prefix, b);
    // the collector queued the batch and died; a worker stored it
    await settleStoredBatches(redis, prefix, [b]);
    expect(await countsOf(b)).toEqual({ 'accepted|spans': 5, 'accepted|requests': 1, 'accepted|bytes': 500 });
    // a commit arriving after the store (a slow collector) must not count it again or leave it pending forever
    expect(await commitAccepted(redis, prefix, { jobId: b.batchId, batchId: b.batchId, workspaceId: b.workspaceId })).toBe(false);
    expect(await countsOf(b)).toEqual({ 'accepted|spans': 5, 'accepted|requests': 1, 'accepted|bytes': 500 });
    expect(await pendingOf(b)).toEqual([]);
  });

  it('does not count a batch that was never queued (its intent only expires)', async () => {
    const b = batchOf(4);
    await writeAcceptIntent(redis, prefix, b);
    expect(await redis.pttl(keys.intent(b.batchId))).toBeGreaterThan(14 * 60_000);
    expect(await countsOf(b)).toEqual({});
    expect(await pendingOf(b)).toEqual([]);
  });
});

describe('a re-sent request the queue deduplicates', () => {
  function spanBatch(b: LedgerBatch): SpanBatch {
    return {
      v: 1,
      ...b,
      minTimestampSec: 1,
      maxTimestampSec: 1,
      groups: [{ prefix: `"org_id":"${b.orgId}"`, spans: '"name":"x"' }],
    };
  }

  it('is answered with the earlier job, whose batch the re-send then counts once if its own collector could not', async () => {
    const ws = `ws_dedupe_${seq}`;
    const first = batchOf(6, { workspaceId: ws });
    const resend = batchOf(6, { workspaceId: ws, receivedAtMs: minute + 30_000 });
    const dedupeId = `dedupe-${prefix}-${seq}`;
    // the first request: intent, add — and its collector dies before committing
    await writeAcceptIntent(redis, prefix, first);
    expect(await queue.add(spanBatch(first), { attempts: 1, dedupeId })).toEqual({ jobId: first.batchId });
    // the client re-sends the same bytes to another collector
    await writeAcceptIntent(redis, prefix, resend);
    const queued = await queue.add(spanBatch(resend), { attempts: 1, dedupeId });
    expect(queued).toEqual({ jobId: first.batchId });
    expect(await commitAccepted(redis, prefix, { jobId: queued.jobId, batchId: resend.batchId, workspaceId: ws })).toBe(true);
    // counted once, in the first request's minute and slot, pending as the first batch; the re-send's intent is gone
    expect(await countsOf(first)).toEqual({ 'accepted|spans': 6, 'accepted|requests': 1, 'accepted|bytes': 600 });
    expect(await redis.zrange(pendingKey(prefix, ws), 0, -1, 'WITHSCORES')).toEqual([first.batchId, String(first.receivedAtMs)]);
    expect(await redis.exists(keys.intent(resend.batchId))).toBe(0);
    // the queue holds the first job only
    expect(await queue.queue.getJob(resend.batchId)).toBeUndefined();
    expect((await queue.queue.getJob(first.batchId))?.data).toMatchObject({ batchId: first.batchId });
  });

  it('adds nothing when the earlier job was counted already (the usual re-send after a lost answer)', async () => {
    const ws = `ws_dedupe_${seq}`;
    const first = batchOf(2, { workspaceId: ws });
    const resend = batchOf(2, { workspaceId: ws });
    const dedupeId = `dedupe-${prefix}-${seq}`;
    await writeAcceptIntent(redis, prefix, first);
    const a = await queue.add(spanBatch(first), { attempts: 1, dedupeId });
    await commitAccepted(redis, prefix, { jobId: a.jobId, batchId: first.batchId, workspaceId: ws });
    await writeAcceptIntent(redis, prefix, resend);
    const b = await queue.add(spanBatch(resend), { attempts: 1, dedupeId });
    expect(await commitAccepted(redis, prefix, { jobId: b.jobId, batchId: resend.batchId, workspaceId: ws })).toBe(false);
    expect(await countsOf(first)).toEqual({ 'accepted|spans': 2, 'accepted|requests': 1, 'accepted|bytes': 200 });
    expect(await redis.exists(keys.intent(resend.batchId))).toBe(0);
  });
});

describe('refusals', () => {
  it('adds every refused request to its slot, by kind', async () => {
    const slot = { minuteMs: minute, orgId: 'org_r', workspaceId: 'ws_r', keyId: 'key_r' };
    await recordRefusals(redis, prefix, { slot, counts: { rejected_invalid: { spans: 3, requests: 1 } } });
    await recordRefusals(redis, prefix, { slot, counts: { rejected_invalid: { spans: 2, requests: 1 }, rejected_quota: { spans: 10, requests: 1 } } });
    await recordRefusals(redis, prefix, { slot, counts: { rejected_rate_limit: { spans: 4, requests: 1 }, rejected_too_large: { requests: 1 } } });
    await recordRefusals(redis, prefix, { slot, counts: {} });
    expect(await countsOf({ ...slot, receivedAtMs: minute, batchId: 'x', spanCount: 0, bytes: 0 })).toEqual({
      'rejected_invalid|spans': 5,
      'rejected_invalid|requests': 2,
      'rejected_quota|spans': 10,
      'rejected_quota|requests': 1,
      'rejected_rate_limit|spans': 4,
      'rejected_rate_limit|requests': 1,
      'rejected_too_large|requests': 1,
    });
  });
});

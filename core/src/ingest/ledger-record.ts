import type { Redis } from 'ioredis';
import { pendingKey } from './pending.js';
import { INTENT_TTL_MS, cellField, ledgerKeys, minuteOf, slotField, type LedgerKind, type LedgerSlot } from './ledger-keys.js';
import { luaScript } from './lua.js';

/**
 * Counting accepted and refused spans in Redis, exactly.
 *
 * An accepted batch is counted once, whoever gets there first, by consuming its intent:
 * 1. before the enqueue the collector writes the batch's *intent* (its ledger slot, spans,
 *    bytes, receivedAtMs) under the batch id, with a TTL;
 * 2. after the enqueue, before answering 2xx, the collector's script consumes the intent
 *    of the job that is queued (its own batch, or on a dedupe hit the earlier job's):
 *    DEL it, HINCRBY the live counters, ZADD the batch to the workspace's pending set;
 * 3. once a worker has stored a batch, its script consumes the intent if it is still
 *    there (the collector died between enqueue and step 2, or lost the race) without
 *    marking it pending, and removes the batch from the pending set.
 * The DEL inside the same script is the marker: whichever script runs second finds no
 * intent and changes nothing, so no order of crashes and retries counts a batch twice,
 * and a batch stored before the collector's script ran is never left pending.
 */

const CONSUME_INTENT = `
local intent = redis.call('GET', KEYS[1])
local counted = 0
if intent then
  redis.call('DEL', KEYS[1])
  local slot, spans, bytes, at = string.match(intent, '^([^\\n]+)\\n(%d+)\\n(%d+)\\n(%d+)$')
  if slot then
    redis.call('HINCRBY', KEYS[2], slot .. '|accepted|spans', spans)
    redis.call('HINCRBY', KEYS[2], slot .. '|accepted|requests', 1)
    redis.call('HINCRBY', KEYS[2], slot .. '|accepted|bytes', bytes)
    counted = 1
    if ARGV[2] == 'accepted' then redis.call('ZADD', KEYS[3], at, ARGV[1]) end
  end
end
if ARGV[2] == 'stored' then redis.call('ZREM', KEYS[3], ARGV[1]) end
if KEYS[4] then redis.call('DEL', KEYS[4]) end
return counted
`;

const consumeIntent = luaScript('canopyLedgerConsumeIntent', CONSUME_INTENT);

/** What the ledger needs to know about a batch. */
export interface LedgerBatch {
  batchId: string;
  orgId: string;
  workspaceId: string;
  keyId: string;
  receivedAtMs: number;
  spanCount: number;
  bytes: number;
}

const intentValue = (b: LedgerBatch): string =>
  `${slotField({ minuteMs: minuteOf(b.receivedAtMs), orgId: b.orgId, workspaceId: b.workspaceId, keyId: b.keyId })}\n${b.spanCount}\n${b.bytes}\n${b.receivedAtMs}`;

/** Step 1: records what the batch will add to the ledger once it is queued. */
export async function writeAcceptIntent(redis: Redis, queuePrefix: string, batch: LedgerBatch): Promise<void> {
  await redis.set(ledgerKeys(queuePrefix).intent(batch.batchId), intentValue(batch), 'PX', INTENT_TTL_MS);
}

/**
 * Step 2: counts the queued job's batch as accepted and marks it pending, unless that was
 * done already. `jobId` is the job the queue holds: our batch's id, or on a dedupe hit the
 * earlier job's, whose intent is then consumed instead (and ours, never to be queued, is
 * dropped). Resolves true when this call counted it.
 */
export async function commitAccepted(redis: Redis, queuePrefix: string, queued: { jobId: string; batchId: string; workspaceId: string }): Promise<boolean> {
  const keys = ledgerKeys(queuePrefix);
  const own = queued.jobId === queued.batchId ? [] : [keys.intent(queued.batchId)];
  const counted = await consumeIntent.run(redis, [keys.intent(queued.jobId), keys.live, pendingKey(queuePrefix, queued.workspaceId), ...own], [queued.jobId, 'accepted']);
  return counted === 1;
}

/**
 * Step 3, for batches ClickHouse now holds (or that were kept as dead letters): counts any whose intent is still unconsumed,
 * and takes them all out of their workspaces' pending sets. One round trip.
 */
export async function settleStoredBatches(redis: Redis, queuePrefix: string, batches: ReadonlyArray<Pick<LedgerBatch, 'batchId' | 'workspaceId'>>): Promise<void> {
  if (batches.length === 0) return;
  const keys = ledgerKeys(queuePrefix);
  consumeIntent.define(redis);
  const pipeline = redis.pipeline();
  for (const b of batches) consumeIntent.queue(pipeline, [keys.intent(b.batchId), keys.live, pendingKey(queuePrefix, b.workspaceId)], [b.batchId, 'stored']);
  const results = (await pipeline.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0] as Error;
}

/** Refusals of one request; spans are unknown for a body that was too large to read. */
export type Refusals = Partial<Record<Exclude<LedgerKind, 'accepted'>, { spans?: number; requests?: number }>>;

/**
 * Adds a request's refusals to the live counters. No marker: a refused request is not
 * retried by id, so every refusal the collector answers is one more refusal.
 */
export async function recordRefusals(redis: Redis, queuePrefix: string, refused: { slot: LedgerSlot; counts: Refusals }): Promise<void> {
  const live = ledgerKeys(queuePrefix).live;
  const increments: Array<[string, number]> = [];
  for (const [kind, counts] of Object.entries(refused.counts) as Array<[Exclude<LedgerKind, 'accepted'>, { spans?: number; requests?: number }]>) {
    for (const measure of ['spans', 'requests'] as const) {
      const value = counts[measure];
      if (value) increments.push([cellField({ ...refused.slot, kind, measure }), value]);
    }
  }
  if (increments.length === 0) return;
  const multi = redis.multi();
  for (const [field, value] of increments) multi.hincrby(live, field, value);
  const results = (await multi.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0] as Error;
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createTestEnv, type TestEnv } from '../../src/testing/index.js';
import { applyLedgerFlush, cellField, createRedis, flushLedger, ledgerKeys, pruneLedgerFlushes, recordRefusals, rotateLedger, type LedgerCell } from '../../src/index.js';

// The flush of the ingest ledger's Redis counters into Postgres, against the real
// services: exact however it is interrupted and however many workers run it at once.

let env: TestEnv;
let redis: Redis;
let prefix: string;
const deps = (): { redis: Redis; pool: TestEnv['pool'] } => ({ redis, pool: env.pool });
const MINUTE = Date.UTC(2026, 0, 2, 3, 4);

beforeAll(async () => {
  env = await createTestEnv();
  prefix = env.config.redis.queuePrefix;
  redis = createRedis(env.config.redis.url, { forWorker: true });
});
afterAll(async () => {
  redis?.disconnect();
  await env?.cleanup();
});

const cell = (workspaceId: string, over: Partial<LedgerCell> = {}): LedgerCell => ({
  minuteMs: MINUTE,
  orgId: 'org_f',
  workspaceId,
  keyId: 'key_f',
  kind: 'accepted',
  measure: 'spans',
  ...over,
});

async function ledgerOf(workspaceId: string): Promise<Array<{ kind: string; minute: string; key_id: string; spans: string; requests: string; bytes: string }>> {
  const { rows } = await env.pool.query(
    'SELECT kind, minute, key_id, spans::text, requests::text, bytes::text FROM ingest_ledger WHERE workspace_id = $1 ORDER BY kind, minute, key_id',
    [workspaceId],
  );
  return rows.map((r: { kind: string; minute: Date; key_id: string; spans: string; requests: string; bytes: string }) => ({ ...r, minute: r.minute.toISOString() }));
}

describe('flushing the ledger', () => {
  it('moves every counter into ingest_ledger and leaves nothing behind in Redis', async () => {
    await redis.hincrby(ledgerKeys(prefix).live, cellField(cell('ws_1')), 40);
    await redis.hincrby(ledgerKeys(prefix).live, cellField(cell('ws_1', { measure: 'requests' })), 2);
    await redis.hincrby(ledgerKeys(prefix).live, cellField(cell('ws_1', { measure: 'bytes' })), 4000);
    await recordRefusals(redis, prefix, { slot: { minuteMs: MINUTE + 60_000, orgId: 'org_f', workspaceId: 'ws_1', keyId: 'key_g' }, counts: { rejected_too_large: { requests: 3 } } });
    const report = await flushLedger(deps(), prefix);
    expect(report).toMatchObject({ applied: 1, alreadyApplied: 0, rows: 2, unknownFields: 0 });
    expect(await ledgerOf('ws_1')).toEqual([
      { kind: 'accepted', minute: new Date(MINUTE).toISOString(), key_id: 'key_f', spans: '40', requests: '2', bytes: '4000' },
      { kind: 'rejected_too_large', minute: new Date(MINUTE + 60_000).toISOString(), key_id: 'key_g', spans: '0', requests: '3', bytes: '0' },
    ]);
    const keys = ledgerKeys(prefix);
    expect(await redis.exists(keys.live)).toBe(0);
    expect(await redis.smembers(keys.flushing)).toEqual([]);
    expect(await flushLedger(deps(), prefix)).toMatchObject({ applied: 0, alreadyApplied: 0 });
  });

  it('adds a flush once when a worker died after the Postgres commit and before removing it from Redis', async () => {
    const keys = ledgerKeys(prefix);
    await redis.hincrby(keys.live, cellField(cell('ws_2')), 11);
    const id = await rotateLedger(redis, prefix);
    expect(id).not.toBeNull();
    const hash = await redis.hgetall(keys.flush(id!));
    expect(await applyLedgerFlush(deps(), prefix, id!)).toEqual({ status: 'applied', rows: 1, unknownFields: 0 });
    // Redis as it was just before the DEL/SREM that the crash prevented
    await redis.hset(keys.flush(id!), hash);
    await redis.sadd(keys.flushing, id!);
    expect(await flushLedger(deps(), prefix)).toMatchObject({ applied: 0, alreadyApplied: 1 });
    expect((await ledgerOf('ws_2')).map((r) => r.spans)).toEqual(['11']);
    expect(await redis.exists(keys.flush(id!))).toBe(0);
    expect(await redis.smembers(keys.flushing)).toEqual([]);
  });

  it('applies a flush a worker renamed away and then died on, before its commit', async () => {
    const keys = ledgerKeys(prefix);
    await redis.hincrby(keys.live, cellField(cell('ws_3')), 5);
    const id = await rotateLedger(redis, prefix);
    // …the worker dies here; collectors keep counting into a new live hash
    await redis.hincrby(keys.live, cellField(cell('ws_3')), 6);
    expect(await flushLedger(deps(), prefix)).toMatchObject({ applied: 2, alreadyApplied: 0 });
    expect((await ledgerOf('ws_3')).map((r) => r.spans)).toEqual(['11']);
    expect(await redis.sismember(keys.flushing, id!)).toBe(0);
  });

  it('counts exactly while collectors increment and three workers flush at the same time', async () => {
    const field = cellField(cell('ws_4'));
    let stop = false;
    let added = 0;
    const collectors = Array.from({ length: 4 }, async () => {
      while (!stop) {
        await redis.hincrby(ledgerKeys(prefix).live, field, 3);
        added += 3;
      }
    });
    const workers = Array.from({ length: 3 }, async () => {
      let flushes = 0;
      while (!stop) {
        await flushLedger(deps(), prefix);
        flushes++;
      }
      return flushes;
    });
    await new Promise((r) => setTimeout(r, 1_500));
    stop = true;
    await Promise.all(collectors);
    const flushes = await Promise.all(workers);
    await flushLedger(deps(), prefix);
    expect(flushes.every((n) => n > 3)).toBe(true);
    expect(added).toBeGreaterThan(100);
    expect((await ledgerOf('ws_4')).map((r) => Number(r.spans))).toEqual([added]);
  });

  it('skips counter fields it does not know, and forgets old flush ids when pruned', async () => {
    const keys = ledgerKeys(prefix);
    await redis.hincrby(keys.live, 'not|a|ledger|field', 1);
    await redis.hincrby(keys.live, cellField(cell('ws_5', { kind: 'rejected_quota' })), 9);
    expect(await flushLedger(deps(), prefix)).toMatchObject({ applied: 1, rows: 1, unknownFields: 1 });
    expect((await ledgerOf('ws_5')).map((r) => [r.kind, r.spans])).toEqual([['rejected_quota', '9']]);
    await env.pool.query("UPDATE ingest_ledger_flushes SET applied_at = now() - interval '4 days' WHERE id IN (SELECT id FROM ingest_ledger_flushes LIMIT 2)");
    expect(await pruneLedgerFlushes(env.pool, 3 * 86_400_000)).toBe(2);
  });
});

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { withTransaction, type PgPool } from '../postgres/pool.js';
import { ledgerKeys, parseCellField, type LedgerKind } from './ledger-keys.js';
import { luaScript } from './lua.js';

/**
 * Moving the live Redis counters into Postgres `ingest_ledger`, exactly once, from any
 * number of workers at once:
 * 1. `rotate`: one script RENAMEs the live hash to `flush:<uuid>` and SADDs the uuid to
 *    the flushing set; collectors go on incrementing a new live hash;
 * 2. `apply`, for every id in the flushing set: one Postgres transaction inserts the id
 *    into `ingest_ledger_flushes` and, only if that row is new, adds the hash's counts;
 *    then the hash is deleted and the id removed from the set.
 * A crash before the commit leaves the id to be applied by the next flush; a crash after
 * it leaves an id whose insert finds its row and adds nothing. Two workers applying the
 * same id serialize on that row's key.
 */

const ROTATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
`;
const rotateScript = luaScript('canopyLedgerRotate', ROTATE);

export interface LedgerFlushDeps {
  redis: Redis;
  pool: PgPool;
}

/** Renames the live counters away for applying; null when there were none. */
export async function rotateLedger(redis: Redis, queuePrefix: string): Promise<string | null> {
  const keys = ledgerKeys(queuePrefix);
  const id = randomUUID();
  const rotated = await rotateScript.run(redis, [keys.live, keys.flush(id), keys.flushing], [id]);
  return rotated === 1 ? id : null;
}

interface LedgerRow {
  orgId: string;
  workspaceId: string;
  keyId: string;
  minuteMs: number;
  kind: LedgerKind;
  spans: bigint;
  requests: bigint;
  bytes: bigint;
}

/** One row per (minute, workspace, key, kind) of a flushed hash; fields this version does not know are skipped. */
export function ledgerRowsOf(hash: Record<string, string>): { rows: LedgerRow[]; unknownFields: number } {
  const rows = new Map<string, LedgerRow>();
  let unknownFields = 0;
  for (const [field, value] of Object.entries(hash)) {
    const cell = parseCellField(field);
    if (!cell || !/^-?\d+$/.test(value)) {
      unknownFields++;
      continue;
    }
    const id = `${cell.minuteMs}|${cell.workspaceId}|${cell.keyId}|${cell.kind}`;
    let row = rows.get(id);
    if (!row) {
      row = { orgId: cell.orgId, workspaceId: cell.workspaceId, keyId: cell.keyId, minuteMs: cell.minuteMs, kind: cell.kind, spans: 0n, requests: 0n, bytes: 0n };
      rows.set(id, row);
    }
    row[cell.measure] += BigInt(value);
  }
  return { rows: [...rows.values()], unknownFields };
}

export type FlushApplied = { status: 'applied'; rows: number; unknownFields: number } | { status: 'already_applied' } | { status: 'empty' };

/** Step 2 for one flush id; safe to call again after any crash, and from several workers at once. */
export async function applyLedgerFlush(deps: LedgerFlushDeps, queuePrefix: string, id: string): Promise<FlushApplied> {
  const keys = ledgerKeys(queuePrefix);
  const hash = await deps.redis.hgetall(keys.flush(id));
  let result: FlushApplied = { status: 'empty' };
  if (Object.keys(hash).length > 0) {
    const { rows, unknownFields } = ledgerRowsOf(hash);
    const applied = await withTransaction(deps.pool, async (client) => {
      const claimed = await client.query('INSERT INTO ingest_ledger_flushes (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', [id]);
      if (claimed.rowCount === 0) return false;
      if (rows.length > 0) {
        await client.query(
          `INSERT INTO ingest_ledger (org_id, workspace_id, key_id, minute, kind, spans, requests, bytes)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[])
           ON CONFLICT (workspace_id, minute, key_id, kind) DO UPDATE SET
             spans = ingest_ledger.spans + EXCLUDED.spans,
             requests = ingest_ledger.requests + EXCLUDED.requests,
             bytes = ingest_ledger.bytes + EXCLUDED.bytes`,
          [
            rows.map((r) => r.orgId),
            rows.map((r) => r.workspaceId),
            rows.map((r) => r.keyId),
            rows.map((r) => new Date(r.minuteMs).toISOString()),
            rows.map((r) => r.kind),
            rows.map((r) => r.spans.toString()),
            rows.map((r) => r.requests.toString()),
            rows.map((r) => r.bytes.toString()),
          ],
        );
      }
      return true;
    });
    result = applied ? { status: 'applied', rows: rows.length, unknownFields } : { status: 'already_applied' };
  }
  const done = (await deps.redis.multi().del(keys.flush(id)).srem(keys.flushing, id).exec()) ?? [];
  const failed = done.find(([err]) => err);
  if (failed) throw failed[0] as Error;
  return result;
}

export interface LedgerFlushReport {
  /** flush ids applied to Postgres by this call */
  applied: number;
  /** flush ids another call (or an earlier crashed one) had applied already */
  alreadyApplied: number;
  rows: number;
  unknownFields: number;
}

/**
 * Rotates the live counters and applies every flush waiting in Redis, left-overs of
 * crashed flushes included. After it returns, every count that reached Redis before the
 * call is in Postgres.
 */
export async function flushLedger(deps: LedgerFlushDeps, queuePrefix: string): Promise<LedgerFlushReport> {
  await rotateLedger(deps.redis, queuePrefix);
  const report: LedgerFlushReport = { applied: 0, alreadyApplied: 0, rows: 0, unknownFields: 0 };
  for (const id of await deps.redis.smembers(ledgerKeys(queuePrefix).flushing)) {
    const outcome = await applyLedgerFlush(deps, queuePrefix, id);
    if (outcome.status === 'applied') {
      report.applied++;
      report.rows += outcome.rows;
      report.unknownFields += outcome.unknownFields;
    } else if (outcome.status === 'already_applied') report.alreadyApplied++;
  }
  return report;
}

/** Forgets applied flush ids older than `olderThanMs`: by then no copy of them can be left in Redis. */
export async function pruneLedgerFlushes(pool: PgPool, olderThanMs: number): Promise<number> {
  const { rowCount } = await pool.query("DELETE FROM ingest_ledger_flushes WHERE applied_at < now() - $1 * interval '1 millisecond'", [olderThanMs]);
  return rowCount ?? 0;
}

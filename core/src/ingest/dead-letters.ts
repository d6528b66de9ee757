import { newId } from '../ids.js';
import { groupsToJsonEachRow, type RowGroup } from '../otlp/normalize.js';
import { spanBatchSchema, type SpanBatch } from '../queue/contract.js';
import type { Queryable } from '../tenancy/db.js';
import { parseInput, TenancyError } from '../tenancy/errors.js';
import type { WorkspaceRef } from '../tenancy/schemas.js';
import {
  DEAD_LETTER_FIRST_ROWS,
  deadLetterQuerySchema,
  type DeadLetter,
  type DeadLetterDetail,
  type DeadLetterList,
  type DeadLetterQuery,
  type DeadLetterStatus,
} from './dead-letters-schemas.js';
import { replayCountOf } from './dead-letters-jobs.js';

/**
 * The dead-letter store: batches ClickHouse still refused after their last attempt are
 * kept in Postgres (`dead_letters`, one row per batch id) instead of being dropped, until
 * a workspace admin replays or discards them (dead-letters-actions.ts).
 */

export interface DeadLetterRow {
  id: string;
  org_id: string;
  workspace_id: string;
  key_id: string;
  batch_id: string;
  received_at: Date;
  spans: number;
  bytes: string;
  attempts: number;
  error_code: string;
  error_message: string;
  status: DeadLetterStatus;
  dead_lettered_at: Date;
  updated_at: Date;
  replay_count: number;
  /** dead_lettered_at to the microsecond, for the keyset cursor */
  dead_lettered_at_text: string;
}

export const DEAD_LETTER_COLUMNS = `id, org_id, workspace_id, key_id, batch_id, received_at, spans, bytes::text AS bytes, attempts, error_code, error_message,
  status, dead_lettered_at, updated_at, replay_count, to_char(dead_lettered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS dead_lettered_at_text`;

/** Error messages are kept whole up to this length: enough for any ClickHouse answer, bounded for a hostile one. */
const MAX_ERROR_MESSAGE = 4_000;

export function toDeadLetter(r: DeadLetterRow): DeadLetter {
  return {
    id: r.id,
    batchId: r.batch_id,
    workspaceId: r.workspace_id,
    keyId: r.key_id,
    receivedAt: r.received_at.toISOString(),
    deadLetteredAt: r.dead_lettered_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    spans: r.spans,
    bytes: Number(r.bytes),
    attempts: r.attempts,
    replayCount: r.replay_count,
    status: r.status,
    error: { code: r.error_code, message: r.error_message },
  };
}

export interface NewDeadLetter {
  /** the batch exactly as it was queued */
  batch: SpanBatch;
  /** insert attempts this delivery spent on it */
  attempts: number;
  error: { code: string; message: string };
  /** the BullMQ job that failed: only the current replay's job may reopen a replayed dead letter */
  jobId: string;
}

/**
 * What `recordDeadLetter` did: `created` a new dead letter; `reopened` one whose current
 * replay failed again (attempts added up, payload refreshed); left one `unchanged` that is
 * already open (the same job delivered again after it was kept), discarded, or replayed
 * by a later job than the failing one (a stale job: the caller completes it, the replay
 * decides); or found the batch's workspace deleted (its dead letters went with it).
 */
export type RecordedDeadLetter = { outcome: 'created' | 'reopened' | 'unchanged'; deadLetter: DeadLetter } | { outcome: 'workspace_deleted' };

/**
 * Keeps a batch as an open dead letter, one statement, so a redelivered job can call it
 * again safely. Postgres errors other than the deleted workspace are thrown as they are
 * (the caller tells an outage from a bug).
 */
export async function recordDeadLetter(db: Queryable, entry: NewDeadLetter): Promise<RecordedDeadLetter> {
  const { batch, attempts, error } = entry;
  // A replayed row is reopened only by the job of its current replay (replayJobId(batch_id, replay_count)).
  // Any other job of the batch — the original redelivered after a stall, a second sweep reading the
  // failed set, an earlier replay — is stale: reopening would count the batch as dead-lettered while
  // the replay stores it. null never equals replay_count.
  const replayCount = replayCountOf(entry.jobId, batch.batchId);
  let rows: Array<DeadLetterRow & { inserted: boolean }>;
  try {
    ({ rows } = await db.query<DeadLetterRow & { inserted: boolean }>(
      `INSERT INTO dead_letters (id, org_id, workspace_id, key_id, batch_id, received_at, spans, bytes, attempts, error_code, error_message, payload)
       VALUES ($1, $2, $3, $4, $5, to_timestamp($6::double precision / 1000), $7, $8, $9, $10, $11, $12::jsonb)
       ON CONFLICT (batch_id) DO UPDATE SET
         status = 'open', attempts = dead_letters.attempts + EXCLUDED.attempts, error_code = EXCLUDED.error_code,
         error_message = EXCLUDED.error_message, payload = EXCLUDED.payload, spans = EXCLUDED.spans, bytes = EXCLUDED.bytes,
         dead_lettered_at = now(), updated_at = now()
       WHERE dead_letters.status = 'replayed' AND dead_letters.replay_count = $13::integer
       RETURNING ${DEAD_LETTER_COLUMNS}, (xmax = 0) AS inserted`,
      [
        newId('dl'),
        batch.orgId,
        batch.workspaceId,
        batch.keyId,
        batch.batchId,
        batch.receivedAtMs,
        batch.spanCount,
        batch.bytes,
        attempts,
        error.code,
        error.message.slice(0, MAX_ERROR_MESSAGE),
        JSON.stringify(batch),
        replayCount,
      ],
    ));
  } catch (err) {
    // 23503: the workspace (or organization) is gone; ON DELETE CASCADE would have removed the dead letter too.
    if ((err as { code?: unknown }).code === '23503') return { outcome: 'workspace_deleted' };
    throw err;
  }
  const written = rows[0];
  if (written) return { outcome: written.inserted ? 'created' : 'reopened', deadLetter: toDeadLetter(written) };
  const existing = await db.query<DeadLetterRow>(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE batch_id = $1`, [batch.batchId]);
  return { outcome: 'unchanged', deadLetter: toDeadLetter(existing.rows[0]!) };
}

function encodeCursor(row: DeadLetterRow): string {
  return Buffer.from(JSON.stringify([row.dead_lettered_at_text, row.id])).toString('base64url');
}

/** Exactly what encodeCursor writes, so Postgres never sees a time it cannot parse. */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function decodeCursor(cursor: string): [string, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && CURSOR_TIME.test(v[0])) return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw new TenancyError('invalid', 'cursor: not a cursor this API returned', { field: 'cursor' });
}

/** A workspace's dead letters, newest first, `limit` at a time (default: the open ones). */
export async function listDeadLetters(db: Queryable, ref: WorkspaceRef, query: DeadLetterQuery = {}): Promise<DeadLetterList> {
  const q = parseInput(deadLetterQuerySchema, query);
  const params: unknown[] = [ref.orgId, ref.workspaceId];
  const where = ['org_id = $1', 'workspace_id = $2'];
  if (q.status !== 'all') {
    params.push(q.status);
    where.push(`status = $${params.length}`);
  }
  if (q.cursor !== undefined) {
    params.push(...decodeCursor(q.cursor));
    where.push(`(dead_lettered_at, id) < ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  params.push(q.limit + 1);
  const { rows } = await db.query<DeadLetterRow>(
    `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE ${where.join(' AND ')} ORDER BY dead_lettered_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return { deadLetters: page.map(toDeadLetter), nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null };
}

/** One dead letter with its first rows expanded; not_found when it is not in that workspace of that organization. */
export async function getDeadLetter(db: Queryable, ref: WorkspaceRef, id: string): Promise<DeadLetterDetail> {
  const { rows } = await db.query<DeadLetterRow & { payload: unknown }>(
    `SELECT ${DEAD_LETTER_COLUMNS}, payload FROM dead_letters WHERE id = $1 AND org_id = $2 AND workspace_id = $3`,
    [id, ref.orgId, ref.workspaceId],
  );
  const row = rows[0];
  if (!row) throw new TenancyError('not_found', 'dead letter not found', { field: 'id' });
  const batch = row.payload === null ? null : spanBatchSchema.safeParse(row.payload);
  const groups = batch?.success ? batch.data.groups : [];
  return { ...toDeadLetter(row), firstRows: firstRows(groups, DEAD_LETTER_FIRST_ROWS), rowCount: groups.reduce((n, g) => n + g.spans.split('\n').length, 0) };
}

/** The first `n` rows of the groups as objects, expanded by the one expansion the writer inserts with. */
export function firstRows(groups: readonly RowGroup[], n: number): Array<Record<string, unknown>> {
  const head: RowGroup[] = [];
  let left = n;
  for (const g of groups) {
    if (left <= 0) break;
    const lines = g.spans.split('\n').slice(0, left);
    head.push({ prefix: g.prefix, spans: lines.join('\n') });
    left -= lines.length;
  }
  if (head.length === 0) return [];
  return groupsToJsonEachRow(head)
    .split('\n')
    .map((line) => {
      try {
        const row: unknown = JSON.parse(line);
        if (row && typeof row === 'object' && !Array.isArray(row)) return row as Record<string, unknown>;
      } catch {
        // a poison row: shown as text
      }
      return { unparsable: line };
    });
}

import type { PgClient } from '../postgres/pool.js';
import { spanBatchSchema, type SpanBatch } from '../queue/contract.js';
import { recordAudit } from '../tenancy/audit.js';
import { inTransaction, type Db } from '../tenancy/db.js';
import { TenancyError } from '../tenancy/errors.js';
import type { Actor, WorkspaceRef } from '../tenancy/schemas.js';
import { DEAD_LETTER_COLUMNS, toDeadLetter, type DeadLetterRow } from './dead-letters.js';
import type { DeadLetter } from './dead-letters-schemas.js';
import { replayJobId } from './dead-letters-jobs.js';

export { replayJobId, isReplayJobId } from './dead-letters-jobs.js';

/**
 * What a workspace admin may do with a dead letter: replay it (back on the span queue)
 * or discard it (its payload deleted). Each is one transaction with its audit entry.
 */

/**
 * Puts a replayed batch back on the span queue; resolves once Redis holds it, and throws
 * only when it does not know that Redis holds it (an add that timed out may still land:
 * the requeue asks the queue for the job before giving up). Called again with the same
 * job id when the replay is retried, so an add that did land is not queued twice.
 */
export type Requeue = (batch: SpanBatch, job: { jobId: string; replayCount: number }) => Promise<void>;

const snapshot = (d: DeadLetter): Record<string, unknown> => ({
  batchId: d.batchId,
  status: d.status,
  spans: d.spans,
  bytes: d.bytes,
  attempts: d.attempts,
  replayCount: d.replayCount,
  error: d.error,
});

async function lockDeadLetter(client: PgClient, ref: WorkspaceRef & { id: string }): Promise<DeadLetterRow & { payload: unknown }> {
  const { rows } = await client.query<DeadLetterRow & { payload: unknown }>(
    `SELECT ${DEAD_LETTER_COLUMNS}, payload FROM dead_letters WHERE id = $1 AND org_id = $2 AND workspace_id = $3 FOR UPDATE`,
    [ref.id, ref.orgId, ref.workspaceId],
  );
  if (!rows[0]) throw new TenancyError('not_found', 'dead letter not found', { field: 'id' });
  return rows[0];
}

function ensureOpen(row: DeadLetterRow, doing: 'replayed' | 'discarded'): void {
  if (row.status === 'open') return;
  throw new TenancyError('conflict', `dead letter ${row.id} is ${row.status}; only an open dead letter can be ${doing}`, { field: 'id' });
}

/**
 * Replays an open dead letter: marks it replayed, records the audit entry and calls
 * `requeue` — all before the commit, so a refused enqueue leaves the row open. (An
 * enqueue whose answer was lost, or a commit that fails after it, may still leave the
 * batch queued with the row open: replaying it again reuses the same job id — the
 * replay count is not spent — so it is not queued twice, and the workers find a stored
 * batch stored.) conflict unless it is open.
 */
export async function markDeadLetterReplayed(db: Db, actor: Actor, input: WorkspaceRef & { id: string; requeue: Requeue }): Promise<DeadLetter> {
  const { requeue, ...ref } = input;
  return inTransaction(db, async (client) => {
    const row = await lockDeadLetter(client, ref);
    ensureOpen(row, 'replayed');
    const batch = spanBatchSchema.parse(row.payload);
    const { rows } = await client.query<DeadLetterRow>(
      `UPDATE dead_letters SET status = 'replayed', replay_count = replay_count + 1, replayed_at = now(), updated_at = now()
        WHERE id = $1 RETURNING ${DEAD_LETTER_COLUMNS}`,
      [row.id],
    );
    const after = toDeadLetter(rows[0]!);
    await recordAudit(client, { orgId: ref.orgId, actor, action: 'dead_letter.replay', targetType: 'dead_letter', targetId: row.id, before: snapshot(toDeadLetter(row)), after: snapshot(after) });
    await requeue(batch, { jobId: replayJobId(batch.batchId, after.replayCount), replayCount: after.replayCount });
    return after;
  });
}

/** Discards an open dead letter: its payload is deleted, the row stays for the record. conflict unless it is open. */
export async function discardDeadLetter(db: Db, actor: Actor, input: WorkspaceRef & { id: string }): Promise<DeadLetter> {
  return inTransaction(db, async (client) => {
    const row = await lockDeadLetter(client, input);
    ensureOpen(row, 'discarded');
    const { rows } = await client.query<DeadLetterRow>(
      `UPDATE dead_letters SET status = 'discarded', payload = NULL, discarded_at = now(), updated_at = now()
        WHERE id = $1 RETURNING ${DEAD_LETTER_COLUMNS}`,
      [row.id],
    );
    const after = toDeadLetter(rows[0]!);
    await recordAudit(client, { orgId: input.orgId, actor, action: 'dead_letter.discard', targetType: 'dead_letter', targetId: row.id, before: snapshot(toDeadLetter(row)), after: snapshot(after) });
    return after;
  });
}

import type { Queryable } from './db.js';
import { parseInput, TenancyError } from './errors.js';
import { actorSchema, auditQuerySchema, type Actor, type AuditQuery } from './schemas.js';

export type AuditActorType = 'user' | 'api_key' | 'system';

export interface AuditEntry {
  /** bigserial, as a decimal string */
  id: string;
  orgId: string;
  actorType: AuditActorType;
  actorId: string;
  action: string;
  targetType: string;
  targetId: string;
  before: unknown;
  after: unknown;
  sourceIp: string | null;
  createdAt: Date;
}

export interface AuditRecord {
  /**
   * The scope the entry belongs to: an organization id, or — for a user's own personal
   * tokens, which belong to no organization — the user id (ids are prefixed, `org_…` and
   * `usr_…`, so the two never collide).
   */
  orgId: string;
  actor: Actor;
  action: string;
  targetType: string;
  targetId: string;
  before?: unknown;
  after?: unknown;
}

/** Writes one audit entry; call it with the client of the transaction that makes the change. */
export async function recordAudit(db: Queryable, entry: AuditRecord): Promise<void> {
  const actor = parseInput(actorSchema, entry.actor, 'actor');
  await db.query(
    `INSERT INTO audit_log (org_id, actor_type, actor_id, action, target_type, target_id, before, after, source_ip)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      entry.orgId,
      actor.type,
      actor.id,
      entry.action,
      entry.targetType,
      entry.targetId,
      entry.before === undefined || entry.before === null ? null : JSON.stringify(entry.before),
      entry.after === undefined || entry.after === null ? null : JSON.stringify(entry.after),
      actor.ip ?? null,
    ],
  );
}

interface AuditRow {
  id: string;
  org_id: string;
  actor_type: AuditActorType;
  actor_id: string;
  action: string;
  target_type: string;
  target_id: string;
  before: unknown;
  after: unknown;
  source_ip: string | null;
  created_at: Date;
  created_at_text: string;
}

/** Keyset cursor: the exact (microsecond) created_at as Postgres printed it, and the id. */
function encodeCursor(row: AuditRow): string {
  return Buffer.from(JSON.stringify([row.created_at_text, row.id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && /^\d{1,19}$/.test(v[1]) && !Number.isNaN(Date.parse(v[0]))) {
      return [v[0], v[1]];
    }
  } catch {
    // fall through
  }
  throw new TenancyError('invalid', 'cursor: not a cursor this API returned', { field: 'cursor' });
}

/** An organization's audit entries, newest first, `limit` at a time (default 100, at most 1000). */
export async function listAudit(db: Queryable, orgId: string, query: AuditQuery = {}): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
  const q = parseInput(auditQuerySchema, query);
  const params: unknown[] = [orgId];
  const where = ['org_id = $1'];
  const add = (clause: string, value: unknown): void => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (q.actorId !== undefined) add('actor_id = ?', q.actorId);
  if (q.action !== undefined) add('action = ?', q.action);
  if (q.targetType !== undefined) add('target_type = ?', q.targetType);
  if (q.targetId !== undefined) add('target_id = ?', q.targetId);
  if (q.from !== undefined) add('created_at >= ?', q.from);
  if (q.to !== undefined) add('created_at < ?', q.to);
  if (q.cursor !== undefined) {
    const [ts, id] = decodeCursor(q.cursor);
    params.push(ts, id);
    where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::bigint)`);
  }
  params.push(q.limit + 1);
  const { rows } = await db.query<AuditRow>(
    `SELECT id::text AS id, org_id, actor_type, actor_id, action, target_type, target_id, before, after, source_ip, created_at,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_text
       FROM audit_log WHERE ${where.join(' AND ')}
      ORDER BY created_at DESC, id DESC
      LIMIT $${params.length}`,
    params,
  );
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    entries: page.map((r) => ({
      id: r.id,
      orgId: r.org_id,
      actorType: r.actor_type,
      actorId: r.actor_id,
      action: r.action,
      targetType: r.target_type,
      targetId: r.target_id,
      before: r.before,
      after: r.after,
      sourceIp: r.source_ip,
      createdAt: r.created_at,
    })),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null,
  };
}

const CSV_COLUMNS = ['id', 'created_at', 'actor_type', 'actor_id', 'action', 'target_type', 'target_id', 'source_ip', 'before', 'after'] as const;

/**
 * One CSV cell: a value a spreadsheet would read as a formula (starting with = + - @,
 * tab or CR) gets a leading `'`; then RFC 4180 quoting when it holds a quote, comma or
 * line break.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** Audit entries as CSV (RFC 4180: header row, CRLF line ends, quoted where needed). */
export function auditToCsv(entries: readonly AuditEntry[]): string {
  const json = (v: unknown): string => (v === null || v === undefined ? '' : JSON.stringify(v));
  const lines = [CSV_COLUMNS.join(',')];
  for (const e of entries) {
    const cells = [e.id, e.createdAt.toISOString(), e.actorType, e.actorId, e.action, e.targetType, e.targetId, e.sourceIp ?? '', json(e.before), json(e.after)];
    lines.push(cells.map(csvCell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

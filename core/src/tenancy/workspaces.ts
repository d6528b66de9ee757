import { newId } from '../ids.js';
import { recordAudit } from './audit.js';
import { inTransaction, type Db, type Queryable } from './db.js';
import { parseInput, TenancyError } from './errors.js';
import { createWorkspaceSchema, updateWorkspaceSchema, type Actor, type CreateWorkspaceInput, type UpdateWorkspaceInput, type OrgRef, type WorkspaceRef } from './schemas.js';

export interface WorkspaceRecord {
  id: string;
  orgId: string;
  slug: string;
  name: string;
}

export interface Workspace extends WorkspaceRecord {
  retentionDays: number;
  createdAt: Date;
}

interface WorkspaceRow {
  id: string;
  org_id: string;
  slug: string;
  name: string;
  retention_days: number;
  created_at: Date;
}

const COLUMNS = 'id, org_id, slug, name, retention_days, created_at';

const toWorkspace = (r: WorkspaceRow): Workspace => ({
  id: r.id,
  orgId: r.org_id,
  slug: r.slug,
  name: r.name,
  retentionDays: r.retention_days,
  createdAt: r.created_at,
});

const snapshot = (w: Workspace): Record<string, unknown> => ({ id: w.id, slug: w.slug, name: w.name, retentionDays: w.retentionDays });

/** Creates a workspace; conflict on `slug` when the organization already has one by that slug. */
export async function createWorkspace(db: Db, actor: Actor, input: OrgRef & CreateWorkspaceInput): Promise<Workspace> {
  const { orgId } = input;
  const { slug, name, retentionDays } = parseInput(createWorkspaceSchema, input);
  return inTransaction(db, async (client) => {
    const { rows } = await client.query<WorkspaceRow>(
      `INSERT INTO workspaces (id, org_id, slug, name, retention_days) VALUES ($1, $2, $3, $4, COALESCE($5, 30)) RETURNING ${COLUMNS}`,
      [newId('ws'), orgId, slug, name ?? slug, retentionDays ?? null],
    );
    const ws = toWorkspace(rows[0]!);
    await recordAudit(client, { orgId, actor, action: 'workspace.create', targetType: 'workspace', targetId: ws.id, after: snapshot(ws) });
    return ws;
  });
}

/** The organization's workspaces, oldest first. */
export async function listWorkspaces(db: Queryable, orgId: string): Promise<Workspace[]> {
  const { rows } = await db.query<WorkspaceRow>(`SELECT ${COLUMNS} FROM workspaces WHERE org_id = $1 ORDER BY created_at, slug`, [orgId]);
  return rows.map(toWorkspace);
}

/** The workspace, or null when it does not exist or belongs to another organization (callers answer 404). */
export async function getWorkspace(db: Queryable, orgId: string, workspaceId: string): Promise<Workspace | null> {
  const { rows } = await db.query<WorkspaceRow>(`SELECT ${COLUMNS} FROM workspaces WHERE id = $1 AND org_id = $2`, [workspaceId, orgId]);
  return rows[0] ? toWorkspace(rows[0]) : null;
}

/**
 * The workspace by id alone, whatever its organization: what the query API uses to find
 * the organization of a workspace named in a URL, before it checks the caller's access
 * to that organization. Everything else wants getWorkspace, which checks the org.
 */
export async function lookupWorkspace(db: Queryable, workspaceId: string): Promise<Workspace | null> {
  const { rows } = await db.query<WorkspaceRow>(`SELECT ${COLUMNS} FROM workspaces WHERE id = $1`, [workspaceId]);
  return rows[0] ? toWorkspace(rows[0]) : null;
}

/** Like getWorkspace, by slug. */
export async function getWorkspaceBySlug(db: Queryable, orgId: string, slug: string): Promise<Workspace | null> {
  const { rows } = await db.query<WorkspaceRow>(`SELECT ${COLUMNS} FROM workspaces WHERE org_id = $1 AND slug = $2`, [orgId, slug]);
  return rows[0] ? toWorkspace(rows[0]) : null;
}

/** Locks the workspace row for the transaction; not_found unless it exists in `orgId`. */
export async function lockWorkspace(client: Queryable, ref: WorkspaceRef, mode: 'UPDATE' | 'SHARE' = 'UPDATE'): Promise<Workspace> {
  const { orgId, workspaceId } = ref;
  const { rows } = await client.query<WorkspaceRow>(`SELECT ${COLUMNS} FROM workspaces WHERE id = $1 AND org_id = $2 FOR ${mode === 'UPDATE' ? 'UPDATE' : 'SHARE'}`, [
    workspaceId,
    orgId,
  ]);
  if (!rows[0]) throw new TenancyError('not_found', 'workspace not found', { field: 'workspaceId' });
  return toWorkspace(rows[0]);
}

export async function updateWorkspace(db: Db, actor: Actor, input: WorkspaceRef & UpdateWorkspaceInput): Promise<Workspace> {
  const { orgId, workspaceId, ...fields } = input;
  const patch = parseInput(updateWorkspaceSchema, fields);
  return inTransaction(db, async (client) => {
    const before = await lockWorkspace(client, { orgId, workspaceId });
    const { rows } = await client.query<WorkspaceRow>(
      `UPDATE workspaces SET name = COALESCE($3, name), retention_days = COALESCE($4, retention_days) WHERE id = $1 AND org_id = $2 RETURNING ${COLUMNS}`,
      [workspaceId, orgId, patch.name ?? null, patch.retentionDays ?? null],
    );
    const after = toWorkspace(rows[0]!);
    await recordAudit(client, { orgId, actor, action: 'workspace.update', targetType: 'workspace', targetId: workspaceId, before: snapshot(before), after: snapshot(after) });
    return after;
  });
}

/**
 * Deletes a workspace with its API keys and workspace memberships (ON DELETE CASCADE).
 * Its spans in ClickHouse are left to retention.
 */
export async function deleteWorkspace(db: Db, actor: Actor, ref: WorkspaceRef): Promise<Workspace> {
  const { orgId, workspaceId } = ref;
  return inTransaction(db, async (client) => {
    const before = await lockWorkspace(client, ref);
    await client.query('DELETE FROM workspaces WHERE id = $1 AND org_id = $2', [workspaceId, orgId]);
    await recordAudit(client, { orgId, actor, action: 'workspace.delete', targetType: 'workspace', targetId: workspaceId, before: snapshot(before) });
    return before;
  });
}

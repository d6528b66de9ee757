import { recordAudit } from './audit.js';
import { inTransaction, type Db, type Queryable } from './db.js';
import { parseInput, TenancyError } from './errors.js';
import { workspaceRoleSchema, type Actor, type OrgRole, type WorkspaceRef, type WorkspaceRole } from './schemas.js';
import { lockWorkspace } from './workspaces.js';

export interface WorkspaceMember {
  userId: string;
  email: string;
  name: string;
  role: WorkspaceRole;
  orgRole: OrgRole;
  createdAt: Date;
}

interface WorkspaceMemberRow {
  user_id: string;
  email: string;
  name: string;
  role: WorkspaceRole;
  org_role: OrgRole;
  created_at: Date;
}

/** Users holding a role in the workspace; not_found when the workspace is not in `orgId`. */
export async function listWorkspaceMembers(db: Queryable, orgId: string, workspaceId: string): Promise<WorkspaceMember[]> {
  const { rows } = await db.query<WorkspaceMemberRow>(
    `SELECT u.id AS user_id, u.email, u.name, wm.role, m.role AS org_role, wm.created_at
       FROM workspaces w
       JOIN workspace_members wm ON wm.workspace_id = w.id
       JOIN users u ON u.id = wm.user_id
       JOIN org_members m ON m.org_id = w.org_id AND m.user_id = wm.user_id
      WHERE w.id = $1 AND w.org_id = $2
      ORDER BY lower(u.email), u.id`,
    [workspaceId, orgId],
  );
  if (rows.length === 0) {
    const ws = await db.query('SELECT 1 FROM workspaces WHERE id = $1 AND org_id = $2', [workspaceId, orgId]);
    if (ws.rowCount === 0) throw new TenancyError('not_found', 'workspace not found', { field: 'workspaceId' });
  }
  return rows.map((r) => ({ userId: r.user_id, email: r.email, name: r.name, role: r.role, orgRole: r.org_role, createdAt: r.created_at }));
}

/**
 * Gives an org member a role in one workspace (or changes it). The user must already be
 * a member of the organization (not_found otherwise). Setting the role the user already
 * holds changes nothing and records nothing.
 */
export async function setWorkspaceMember(db: Db, actor: Actor, input: WorkspaceRef & { userId: string; role: WorkspaceRole }): Promise<WorkspaceMember> {
  const { orgId, workspaceId, userId } = input;
  const next = parseInput(workspaceRoleSchema, input.role, 'role');
  return inTransaction(db, async (client) => {
    await lockWorkspace(client, { orgId, workspaceId }, 'SHARE');
    // Locking the org membership keeps a concurrent removeMember from leaving a stray workspace role.
    const member = await client.query<{ role: OrgRole; email: string; name: string }>(
      `SELECT m.role, u.email, u.name FROM org_members m JOIN users u ON u.id = m.user_id
        WHERE m.org_id = $1 AND m.user_id = $2 FOR SHARE OF m`,
      [orgId, userId],
    );
    const org = member.rows[0];
    if (!org) throw new TenancyError('not_found', 'the user is not a member of this organization', { field: 'userId' });
    const current = await client.query<{ role: WorkspaceRole }>('SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2 FOR UPDATE', [workspaceId, userId]);
    const before = current.rows[0]?.role ?? null;
    const { rows } = await client.query<{ created_at: Date }>(
      `INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role RETURNING created_at`,
      [workspaceId, userId, next],
    );
    if (before !== next) {
      await recordAudit(client, {
        orgId,
        actor,
        action: 'workspace_member.set',
        targetType: 'user',
        targetId: userId,
        before: before === null ? null : { workspaceId, role: before },
        after: { workspaceId, role: next },
      });
    }
    return { userId, email: org.email, name: org.name, role: next, orgRole: org.role, createdAt: rows[0]!.created_at };
  });
}

/** Takes a user's role in one workspace away; not_found when the user holds none there. */
export async function removeWorkspaceMember(db: Db, actor: Actor, input: WorkspaceRef & { userId: string }): Promise<void> {
  const { orgId, workspaceId, userId } = input;
  await inTransaction(db, async (client) => {
    await lockWorkspace(client, { orgId, workspaceId }, 'SHARE');
    const { rows } = await client.query<{ role: WorkspaceRole }>('DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2 RETURNING role', [workspaceId, userId]);
    if (!rows[0]) throw new TenancyError('not_found', 'the user has no role in this workspace', { field: 'userId' });
    await recordAudit(client, {
      orgId,
      actor,
      action: 'workspace_member.remove',
      targetType: 'user',
      targetId: userId,
      before: { workspaceId, role: rows[0].role },
    });
  });
}

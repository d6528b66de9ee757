import { recordAudit } from './audit.js';
import { inTransaction, type Db, type Queryable } from './db.js';
import { parseInput, TenancyError } from './errors.js';
import { addMemberSchema, orgRoleSchema, type Actor, type AddMemberInput, type OrgRef, type OrgRole, type WorkspaceRole } from './schemas.js';
import { findUserByEmail, getUser } from './users.js';

export interface MemberWorkspaceRole {
  workspaceId: string;
  workspaceSlug: string;
  role: WorkspaceRole;
}

export interface Member {
  userId: string;
  email: string;
  name: string;
  role: OrgRole;
  joinedAt: Date;
  workspaceRoles: MemberWorkspaceRole[];
}

interface MemberRow {
  user_id: string;
  email: string;
  name: string;
  role: OrgRole;
  created_at: Date;
  workspace_roles: MemberWorkspaceRole[];
}

const MEMBER_SELECT = `
  SELECT u.id AS user_id, u.email, u.name, m.role, m.created_at,
         COALESCE((SELECT json_agg(json_build_object('workspaceId', w.id, 'workspaceSlug', w.slug, 'role', wm.role) ORDER BY w.slug)
                     FROM workspace_members wm JOIN workspaces w ON w.id = wm.workspace_id
                    WHERE wm.user_id = m.user_id AND w.org_id = m.org_id), '[]'::json) AS workspace_roles
    FROM org_members m JOIN users u ON u.id = m.user_id
   WHERE m.org_id = $1`;

const toMember = (r: MemberRow): Member => ({
  userId: r.user_id,
  email: r.email,
  name: r.name,
  role: r.role,
  joinedAt: r.created_at,
  workspaceRoles: r.workspace_roles,
});

const snapshot = (m: Member): Record<string, unknown> => ({ userId: m.userId, email: m.email, role: m.role, workspaceRoles: m.workspaceRoles });

/** The organization's members with their org role and their roles in its workspaces. */
export async function listMembers(db: Queryable, orgId: string): Promise<Member[]> {
  const { rows } = await db.query<MemberRow>(`${MEMBER_SELECT} ORDER BY lower(u.email), u.id`, [orgId]);
  return rows.map(toMember);
}

/** One member, or null when the user is not a member of the organization. */
export async function getMember(db: Queryable, orgId: string, userId: string): Promise<Member | null> {
  const { rows } = await db.query<MemberRow>(`${MEMBER_SELECT} AND m.user_id = $2`, [orgId, userId]);
  return rows[0] ? toMember(rows[0]) : null;
}

/**
 * Locks every owner row of the organization (in a fixed order), so that two transactions
 * demoting or removing owners run one after the other and the second one sees the first's
 * result. Returns the owners' user ids.
 */
async function lockOwners(client: Queryable, orgId: string): Promise<string[]> {
  const { rows } = await client.query<{ user_id: string }>(`SELECT user_id FROM org_members WHERE org_id = $1 AND role = 'owner' ORDER BY user_id FOR UPDATE`, [orgId]);
  return rows.map((r) => r.user_id);
}

async function lockMember(client: Queryable, orgId: string, userId: string): Promise<Member> {
  await client.query('SELECT 1 FROM org_members WHERE org_id = $1 AND user_id = $2 FOR UPDATE', [orgId, userId]);
  const member = await getMember(client, orgId, userId);
  if (!member) throw new TenancyError('not_found', 'the user is not a member of this organization', { field: 'userId' });
  return member;
}

/** Adds an existing user (by id or email) to the organization; conflict when already a member. */
export async function addMember(db: Db, actor: Actor, input: OrgRef & AddMemberInput): Promise<Member> {
  const { orgId } = input;
  const { userId, email, role } = parseInput(addMemberSchema, input);
  const field = userId !== undefined ? 'userId' : 'email';
  return inTransaction(db, async (client) => {
    const user = userId !== undefined ? await getUser(client, userId) : await findUserByEmail(client, email!);
    if (!user) throw new TenancyError('not_found', 'no such user', { field });
    if (await getMember(client, orgId, user.id)) throw new TenancyError('conflict', 'the user is already a member of this organization', { field });
    await client.query('INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, $3)', [orgId, user.id, role]);
    const member = (await getMember(client, orgId, user.id))!;
    await recordAudit(client, { orgId, actor, action: 'member.add', targetType: 'user', targetId: user.id, after: snapshot(member) });
    return member;
  });
}

/**
 * Called with the member as locked, before anything changes; throws to refuse. Lets a
 * caller decide on the member's current role (the API: only an owner may touch an
 * owner) without a window in which that role could change.
 */
export type MemberCheck = (current: Member) => void;

/**
 * Changes a member's org role. Demoting the last owner fails with `last_owner`. Setting
 * the role the member already has changes nothing and records nothing.
 */
export async function setMemberRole(db: Db, actor: Actor, input: OrgRef & { userId: string; role: OrgRole; check?: MemberCheck }): Promise<Member> {
  const { orgId, userId } = input;
  const next = parseInput(orgRoleSchema, input.role, 'role');
  return inTransaction(db, async (client) => {
    const owners = await lockOwners(client, orgId);
    const before = await lockMember(client, orgId, userId);
    input.check?.(before);
    if (before.role === next) return before;
    if (before.role === 'owner' && owners.length <= 1) {
      throw new TenancyError('last_owner', 'an organization needs at least one owner: make someone else owner first', { field: 'role' });
    }
    await client.query('UPDATE org_members SET role = $3 WHERE org_id = $1 AND user_id = $2', [orgId, userId, next]);
    const after = { ...before, role: next };
    await recordAudit(client, { orgId, actor, action: 'member.update', targetType: 'user', targetId: userId, before: { role: before.role }, after: { role: next } });
    return after;
  });
}

/** Removes a member and their roles in the organization's workspaces; never the last owner. */
export async function removeMember(db: Db, actor: Actor, input: OrgRef & { userId: string; check?: MemberCheck }): Promise<Member> {
  const { orgId, userId } = input;
  return inTransaction(db, async (client) => {
    const owners = await lockOwners(client, orgId);
    const before = await lockMember(client, orgId, userId);
    input.check?.(before);
    if (before.role === 'owner' && owners.length <= 1) {
      throw new TenancyError('last_owner', 'the last owner cannot leave the organization', { field: 'userId' });
    }
    await client.query('DELETE FROM workspace_members WHERE user_id = $2 AND workspace_id IN (SELECT id FROM workspaces WHERE org_id = $1)', [orgId, userId]);
    await client.query('DELETE FROM org_members WHERE org_id = $1 AND user_id = $2', [orgId, userId]);
    await recordAudit(client, { orgId, actor, action: 'member.remove', targetType: 'user', targetId: userId, before: snapshot(before) });
    return before;
  });
}

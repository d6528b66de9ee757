import { randomBytes } from 'node:crypto';
import { newId } from '../ids.js';
import { hashSecret } from '../keys/secrets.js';
import { recordAudit } from './audit.js';
import { inTransaction, type Db, type Queryable } from './db.js';
import { parseInput, TenancyError } from './errors.js';
import { getMember, type Member } from './members.js';
import { inviteMemberSchema, type Actor, type InviteMemberInput, type OrgRef, type OrgRole } from './schemas.js';
import { getUser } from './users.js';

export const INVITATION_TTL_DAYS = 7;

export interface Invitation {
  id: string;
  orgId: string;
  email: string;
  role: OrgRole;
  invitedBy: string | null;
  createdAt: Date;
  expiresAt: Date;
  acceptedAt: Date | null;
  revokedAt: Date | null;
}

interface InvitationRow {
  id: string;
  org_id: string;
  email: string;
  role: OrgRole;
  invited_by: string | null;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'id, org_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at';

const toInvitation = (r: InvitationRow): Invitation => ({
  id: r.id,
  orgId: r.org_id,
  email: r.email,
  role: r.role,
  invitedBy: r.invited_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  acceptedAt: r.accepted_at,
  revokedAt: r.revoked_at,
});

const snapshot = (i: Invitation): Record<string, unknown> => ({ id: i.id, email: i.email, role: i.role, expiresAt: i.expiresAt.toISOString() });

/**
 * Invites an email address to the organization. The token is returned once and stored
 * only as its SHA-256; it expires after 7 days. Earlier pending invitations of the same
 * address to the same organization are revoked (the new one replaces them). Conflict on
 * `email` when a user with that address is already a member.
 */
export async function inviteMember(db: Db, actor: Actor, input: OrgRef & InviteMemberInput): Promise<{ invitation: Invitation; token: string }> {
  const { orgId } = input;
  const { email, role } = parseInput(inviteMemberSchema, input);
  const token = `cnp_inv_${randomBytes(32).toString('base64url')}`;
  return inTransaction(db, async (client) => {
    const existing = await client.query(
      'SELECT 1 FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND lower(u.email) = lower($2)',
      [orgId, email],
    );
    if ((existing.rowCount ?? 0) > 0) throw new TenancyError('conflict', 'a user with this email is already a member', { field: 'email' });
    const replaced = await client.query<{ id: string }>(
      `UPDATE invitations SET revoked_at = now()
        WHERE org_id = $1 AND lower(email) = lower($2) AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
        RETURNING id`,
      [orgId, email],
    );
    // invited_by references users: an acting user is recorded, an API key or the system is not.
    const invitedBy = actor.type === 'user' ? actor.id : null;
    const { rows } = await client.query<InvitationRow>(
      `INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, (SELECT id FROM users WHERE id = $6), now() + make_interval(days => $7)) RETURNING ${COLUMNS}`,
      [newId('inv'), orgId, email, role, hashSecret(token), invitedBy, INVITATION_TTL_DAYS],
    );
    const invitation = toInvitation(rows[0]!);
    await recordAudit(client, {
      orgId,
      actor,
      action: 'member.invite',
      targetType: 'invitation',
      targetId: invitation.id,
      after: { ...snapshot(invitation), replacedInvitationIds: replaced.rows.map((r) => r.id) },
    });
    return { invitation, token };
  });
}

/** The organization's invitations that can still be accepted, newest first. */
export async function listInvitations(db: Queryable, orgId: string): Promise<Invitation[]> {
  const { rows } = await db.query<InvitationRow>(
    `SELECT ${COLUMNS} FROM invitations WHERE org_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at DESC, id`,
    [orgId],
  );
  return rows.map(toInvitation);
}

/** Withdraws a pending invitation; not_found unless it is pending in `orgId`. */
export async function revokeInvitation(db: Db, actor: Actor, input: OrgRef & { invitationId: string }): Promise<Invitation> {
  const { orgId, invitationId } = input;
  return inTransaction(db, async (client) => {
    const { rows } = await client.query<InvitationRow>(
      `UPDATE invitations SET revoked_at = now() WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL RETURNING ${COLUMNS}`,
      [invitationId, orgId],
    );
    if (!rows[0]) throw new TenancyError('not_found', 'no pending invitation with this id', { field: 'invitationId' });
    const invitation = toInvitation(rows[0]);
    await recordAudit(client, { orgId, actor, action: 'invitation.revoke', targetType: 'invitation', targetId: invitation.id, before: snapshot(invitation) });
    return invitation;
  });
}

/**
 * Accepts an invitation for the acting user (`actor` must be a user): the user joins with
 * the invited role and the invitation is marked used. Unknown token → not_found; expired,
 * revoked or already used → expired; the user already a member → conflict. Audited as
 * the accepting user.
 */
export async function acceptInvitation(db: Db, actor: Actor, input: { token: string }): Promise<{ invitation: Invitation; member: Member }> {
  const { token } = input;
  if (actor.type !== 'user') throw new TenancyError('invalid', 'actor: only a user can accept an invitation', { field: 'actor' });
  const userId = actor.id;
  return inTransaction(db, async (client) => {
    const found = await client.query<InvitationRow>(`SELECT ${COLUMNS} FROM invitations WHERE token_hash = $1 FOR UPDATE`, [hashSecret(token)]);
    const row = found.rows[0];
    if (!row) throw new TenancyError('not_found', 'unknown invitation', { field: 'token' });
    if (row.accepted_at) throw new TenancyError('expired', 'this invitation has already been used', { field: 'token' });
    if (row.revoked_at) throw new TenancyError('expired', 'this invitation has been withdrawn', { field: 'token' });
    if (row.expires_at.getTime() <= Date.now()) throw new TenancyError('expired', 'this invitation has expired', { field: 'token' });
    const user = await getUser(client, userId);
    if (!user) throw new TenancyError('not_found', 'no such user', { field: 'userId' });
    if (await getMember(client, row.org_id, userId)) throw new TenancyError('conflict', 'the user is already a member of this organization', { field: 'userId' });
    await client.query('INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, $3)', [row.org_id, userId, row.role]);
    const updated = await client.query<InvitationRow>(`UPDATE invitations SET accepted_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [row.id]);
    const invitation = toInvitation(updated.rows[0]!);
    const member = (await getMember(client, row.org_id, userId))!;
    await recordAudit(client, {
      orgId: row.org_id,
      actor,
      action: 'invitation.accept',
      targetType: 'invitation',
      targetId: invitation.id,
      before: { id: invitation.id, email: invitation.email, role: invitation.role },
      after: { id: invitation.id, userId, email: user.email, role: member.role },
    });
    return { invitation, member };
  });
}

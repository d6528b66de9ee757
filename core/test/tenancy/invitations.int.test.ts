import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../../src/testing/index.js';
import { hashSecret } from '../../src/keys/secrets.js';
import { acceptInvitation, addMember, createOrganization, createUser, getMember, inviteMember, listInvitations, revokeInvitation, type Organization, type User } from '../../src/tenancy/index.js';
import { admin, expectTenancyError, oneAudit, unique } from './helpers.js';

let env: TestEnv;
let owner: User;
let org: Organization;

beforeAll(async () => {
  env = await createTestEnv();
  owner = await createUser(env.pool, { email: `${unique('owner')}@example.com`, name: 'Owner' });
  org = await createOrganization(env.pool, admin(owner.id), { name: unique('org'), ownerUserId: owner.id });
});
afterAll(async () => env?.cleanup());

const newUser = (label: string): Promise<User> => createUser(env.pool, { email: `${unique(label)}@example.com`, name: label });

describe('invitations', () => {
  it('stores only the hash of the token, expires in 7 days and audits member.invite without the token', async () => {
    const { result, entry } = await oneAudit(env.pool, () => inviteMember(env.pool, admin(owner.id), { orgId: org.id, email: 'new.hire@example.com', role: 'member' }));
    const { invitation, token } = result;
    expect(token).toMatch(/^cnp_inv_[A-Za-z0-9_-]{43}$/);
    const stored = await env.pool.query('SELECT token_hash, invited_by FROM invitations WHERE id = $1', [invitation.id]);
    expect(stored.rows[0]).toEqual({ token_hash: hashSecret(token), invited_by: owner.id });
    const days = (invitation.expiresAt.getTime() - invitation.createdAt.getTime()) / 86_400_000;
    expect(days).toBeCloseTo(7, 5);
    expect(entry).toMatchObject({ action: 'member.invite', target_type: 'invitation', target_id: invitation.id, after: { email: 'new.hire@example.com', role: 'member' } });
    expect(JSON.stringify(entry)).not.toContain(token);
    expect(JSON.stringify(entry)).not.toContain(hashSecret(token));
  });

  it('lets the invited user join with the invited role, once', async () => {
    const { invitation, token } = await inviteMember(env.pool, admin(owner.id), { orgId: org.id, email: 'joiner@example.com', role: 'billing' });
    const joiner = await newUser('joiner');
    const { result, entry } = await oneAudit(env.pool, () => acceptInvitation(env.pool, { type: 'user', id: joiner.id, ip: '198.51.100.1' }, { token }));
    expect(result.member).toMatchObject({ userId: joiner.id, role: 'billing' });
    expect(result.invitation.acceptedAt).toBeInstanceOf(Date);
    expect(entry).toMatchObject({
      org_id: org.id,
      actor_type: 'user',
      actor_id: joiner.id,
      action: 'invitation.accept',
      target_id: invitation.id,
      after: { userId: joiner.id, role: 'billing' },
      source_ip: '198.51.100.1',
    });
    const second = await newUser('second');
    await expectTenancyError(acceptInvitation(env.pool, { type: 'user', id: second.id }, { token }), 'expired', 'token');
    expect(await getMember(env.pool, org.id, second.id)).toBeNull();
    expect((await listInvitations(env.pool, org.id)).map((i) => i.id)).not.toContain(invitation.id);
  });

  it('refuses an expired invitation and leaves no membership', async () => {
    const { invitation, token } = await inviteMember(env.pool, admin(owner.id), { orgId: org.id, email: 'late@example.com', role: 'admin' });
    await env.pool.query(`UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = $1`, [invitation.id]);
    const late = await newUser('late');
    await expectTenancyError(acceptInvitation(env.pool, { type: 'user', id: late.id }, { token }), 'expired');
    expect(await getMember(env.pool, org.id, late.id)).toBeNull();
  });

  it('refuses an unknown token as not_found and a revoked invitation as expired', async () => {
    const u = await newUser('u');
    await expectTenancyError(acceptInvitation(env.pool, { type: 'user', id: u.id }, { token: 'cnp_inv_nope' }), 'not_found', 'token');
    const { invitation, token } = await inviteMember(env.pool, admin(owner.id), { orgId: org.id, email: 'withdrawn@example.com', role: 'member' });
    const { entry } = await oneAudit(env.pool, () => revokeInvitation(env.pool, admin(owner.id), { orgId: org.id, invitationId: invitation.id }));
    expect(entry).toMatchObject({ action: 'invitation.revoke', target_id: invitation.id, after: null });
    await expectTenancyError(acceptInvitation(env.pool, { type: 'user', id: u.id }, { token }), 'expired');
    await expectTenancyError(revokeInvitation(env.pool, admin(), { orgId: org.id, invitationId: invitation.id }), 'not_found');
  });

  it('replaces a pending invitation of the same address, so only the newest token works', async () => {
    const first = await inviteMember(env.pool, admin(owner.id), { orgId: org.id, email: 'Twice@example.com', role: 'member' });
    const { result: second, entry } = await oneAudit(env.pool, () => inviteMember(env.pool, admin(owner.id), { orgId: org.id, email: 'twice@example.com', role: 'admin' }));
    expect(entry.after).toMatchObject({ replacedInvitationIds: [first.invitation.id] });
    const u = await newUser('twice');
    await expectTenancyError(acceptInvitation(env.pool, { type: 'user', id: u.id }, { token: first.token }), 'expired');
    await expect(acceptInvitation(env.pool, { type: 'user', id: u.id }, { token: second.token })).resolves.toMatchObject({ member: { role: 'admin' } });
  });

  it('refuses inviting an existing member as a conflict on email, and an invalid email or role', async () => {
    const member = await newUser('member');
    await addMember(env.pool, admin(), { orgId: org.id, userId: member.id, role: 'member' });
    await expectTenancyError(inviteMember(env.pool, admin(), { orgId: org.id, email: member.email.toUpperCase(), role: 'admin' }), 'conflict', 'email');
    await expectTenancyError(inviteMember(env.pool, admin(), { orgId: org.id, email: 'bad@', role: 'member' }), 'invalid', 'email');
    await expectTenancyError(inviteMember(env.pool, admin(), { orgId: org.id, email: 'ok@example.com', role: 'viewer' as 'member' }), 'invalid', 'role');
  });

  it('refuses accepting when the user is already a member, keeping the invitation usable', async () => {
    const member = await newUser('already');
    const { token } = await inviteMember(env.pool, admin(), { orgId: org.id, email: 'someone-else@example.com', role: 'member' });
    await addMember(env.pool, admin(), { orgId: org.id, userId: member.id, role: 'member' });
    await expectTenancyError(acceptInvitation(env.pool, { type: 'user', id: member.id }, { token }), 'conflict');
    const other = await newUser('other');
    await expect(acceptInvitation(env.pool, { type: 'user', id: other.id }, { token })).resolves.toMatchObject({ member: { userId: other.id } });
  });
});

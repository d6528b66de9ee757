import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../../src/testing/index.js';
import {
  addMember,
  createOrganization,
  createUser,
  createWorkspace,
  getMember,
  listMembers,
  listWorkspaceMembers,
  removeMember,
  removeWorkspaceMember,
  setMemberRole,
  setWorkspaceMember,
  type Organization,
  type User,
} from '../../src/tenancy/index.js';
import { admin, auditCount, expectTenancyError, oneAudit, unique, withAudit } from './helpers.js';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.cleanup());

async function user(label = 'user'): Promise<User> {
  return createUser(env.pool, { email: `${unique(label)}@example.com`, name: label });
}

async function orgOwnedBy(owner: User): Promise<Organization> {
  return createOrganization(env.pool, admin(owner.id), { name: unique('org'), ownerUserId: owner.id });
}

describe('members', () => {
  it('adds a user by id or by email and lists members with their workspace roles', async () => {
    const owner = await user('owner');
    const org = await orgOwnedBy(owner);
    const dev = await createWorkspace(env.pool, admin(), { orgId: org.id, slug: 'dev' });
    const ann = await user('ann');
    const bob = await user('bob');
    const { entry } = await oneAudit(env.pool, () => addMember(env.pool, admin(owner.id), { orgId: org.id, userId: ann.id, role: 'member' }));
    expect(entry).toMatchObject({ action: 'member.add', target_type: 'user', target_id: ann.id, before: null, after: { userId: ann.id, email: ann.email, role: 'member', workspaceRoles: [] } });
    await addMember(env.pool, admin(owner.id), { orgId: org.id, email: bob.email.toUpperCase(), role: 'billing' });
    await setWorkspaceMember(env.pool, admin(owner.id), { orgId: org.id, workspaceId: dev.id, userId: ann.id, role: 'viewer' });

    const members = await listMembers(env.pool, org.id);
    // by email: ann-…, bob-…, owner-…
    expect(members.map((m) => [m.userId, m.role])).toEqual([
      [ann.id, 'member'],
      [bob.id, 'billing'],
      [owner.id, 'owner'],
    ]);
    expect(members).toHaveLength(3);
    expect(members.find((m) => m.userId === ann.id)).toMatchObject({ email: ann.email, name: 'ann', workspaceRoles: [{ workspaceId: dev.id, workspaceSlug: 'dev', role: 'viewer' }] });
  });

  it('refuses adding a member twice as a conflict, and unknown users as not_found', async () => {
    const owner = await user('owner');
    const org = await orgOwnedBy(owner);
    const ann = await user('ann');
    await addMember(env.pool, admin(), { orgId: org.id, userId: ann.id, role: 'member' });
    await expectTenancyError(addMember(env.pool, admin(), { orgId: org.id, email: ann.email, role: 'admin' }), 'conflict', 'email');
    await expectTenancyError(addMember(env.pool, admin(), { orgId: org.id, userId: ann.id, role: 'admin' }), 'conflict', 'userId');
    await expectTenancyError(addMember(env.pool, admin(), { orgId: org.id, email: 'nobody@example.com', role: 'member' }), 'not_found', 'email');
  });

  it('rejects an invalid email or role naming the field', async () => {
    const owner = await user('owner');
    const org = await orgOwnedBy(owner);
    await expectTenancyError(addMember(env.pool, admin(), { orgId: org.id, email: 'nope', role: 'member' }), 'invalid', 'email');
    await expectTenancyError(addMember(env.pool, admin(), { orgId: org.id, email: 'a@example.com', role: 'god' as 'member' }), 'invalid', 'role');
    await expectTenancyError(setMemberRole(env.pool, admin(), { orgId: org.id, userId: owner.id, role: 'root' as 'member' }), 'invalid', 'role');
    await expectTenancyError(addMember(env.pool, admin(), { orgId: org.id, role: 'member' }), 'invalid', 'userId');
  });

  it('changes a role with one member.update entry, and records nothing when the role is unchanged', async () => {
    const owner = await user('owner');
    const org = await orgOwnedBy(owner);
    const ann = await user('ann');
    await addMember(env.pool, admin(), { orgId: org.id, userId: ann.id, role: 'member' });
    const { result, entry } = await oneAudit(env.pool, () => setMemberRole(env.pool, admin(owner.id), { orgId: org.id, userId: ann.id, role: 'admin' }));
    expect(result.role).toBe('admin');
    expect(entry).toMatchObject({ action: 'member.update', target_id: ann.id, before: { role: 'member' }, after: { role: 'admin' } });
    const { audit } = await withAudit(env.pool, () => setMemberRole(env.pool, admin(owner.id), { orgId: org.id, userId: ann.id, role: 'admin' }));
    expect(audit).toHaveLength(0);
    await expectTenancyError(setMemberRole(env.pool, admin(), { orgId: org.id, userId: 'usr_stranger', role: 'admin' }), 'not_found', 'userId');
  });

  it('removes a member together with their workspace roles in that organization only', async () => {
    const owner = await user('owner');
    const org = await orgOwnedBy(owner);
    const other = await orgOwnedBy(owner);
    const ws = await createWorkspace(env.pool, admin(), { orgId: org.id, slug: 'dev' });
    const otherWs = await createWorkspace(env.pool, admin(), { orgId: other.id, slug: 'dev' });
    const ann = await user('ann');
    await addMember(env.pool, admin(), { orgId: org.id, userId: ann.id, role: 'member' });
    await addMember(env.pool, admin(), { orgId: other.id, userId: ann.id, role: 'member' });
    await setWorkspaceMember(env.pool, admin(), { orgId: org.id, workspaceId: ws.id, userId: ann.id, role: 'developer' });
    await setWorkspaceMember(env.pool, admin(), { orgId: other.id, workspaceId: otherWs.id, userId: ann.id, role: 'viewer' });

    const { entry } = await oneAudit(env.pool, () => removeMember(env.pool, admin(owner.id), { orgId: org.id, userId: ann.id }));
    expect(entry).toMatchObject({
      action: 'member.remove',
      target_id: ann.id,
      before: { userId: ann.id, role: 'member', workspaceRoles: [{ workspaceId: ws.id, role: 'developer' }] },
      after: null,
    });
    expect(await getMember(env.pool, org.id, ann.id)).toBeNull();
    expect(await listWorkspaceMembers(env.pool, org.id, ws.id)).toEqual([]);
    expect((await listWorkspaceMembers(env.pool, other.id, otherWs.id)).map((m) => m.userId)).toEqual([ann.id]);
    await expectTenancyError(removeMember(env.pool, admin(), { orgId: org.id, userId: ann.id }), 'not_found');
  });
});

describe('a caller check', () => {
  it('sees the member as locked and, by throwing, leaves role and audit log untouched', async () => {
    const owner = await user('owner');
    const org = await orgOwnedBy(owner);
    const ann = await user('ann');
    await addMember(env.pool, admin(owner.id), { orgId: org.id, userId: ann.id, role: 'admin' });
    const seen: string[] = [];
    const refuse = (current: { role: string }): void => {
      seen.push(current.role);
      throw new Error('refused by the caller');
    };
    const before = await auditCount(env.pool);
    await expect(setMemberRole(env.pool, admin(owner.id), { orgId: org.id, userId: ann.id, role: 'member', check: refuse })).rejects.toThrow('refused by the caller');
    await expect(removeMember(env.pool, admin(owner.id), { orgId: org.id, userId: ann.id, check: refuse })).rejects.toThrow('refused by the caller');
    expect(seen).toEqual(['admin', 'admin']);
    expect((await getMember(env.pool, org.id, ann.id))?.role).toBe('admin');
    expect(await auditCount(env.pool)).toBe(before);
  });
});

describe('the last owner', () => {
  it('can be neither demoted nor removed, and the refusal writes nothing', async () => {
    const owner = await user('owner');
    const org = await orgOwnedBy(owner);
    const before = await auditCount(env.pool);
    await expectTenancyError(setMemberRole(env.pool, admin(owner.id), { orgId: org.id, userId: owner.id, role: 'admin' }), 'last_owner');
    await expectTenancyError(removeMember(env.pool, admin(owner.id), { orgId: org.id, userId: owner.id }), 'last_owner');
    expect(await auditCount(env.pool)).toBe(before);
    expect((await getMember(env.pool, org.id, owner.id))?.role).toBe('owner');
  });

  it('may step down once another owner exists', async () => {
    const owner = await user('owner');
    const org = await orgOwnedBy(owner);
    const heir = await user('heir');
    await addMember(env.pool, admin(), { orgId: org.id, userId: heir.id, role: 'owner' });
    await setMemberRole(env.pool, admin(owner.id), { orgId: org.id, userId: owner.id, role: 'member' });
    await expectTenancyError(removeMember(env.pool, admin(), { orgId: org.id, userId: heir.id }), 'last_owner');
  });

  it('survives two concurrent demotions of the only two owners: exactly one succeeds', async () => {
    for (let round = 0; round < 5; round++) {
      const a = await user('a');
      const b = await user('b');
      const org = await orgOwnedBy(a);
      await addMember(env.pool, admin(), { orgId: org.id, userId: b.id, role: 'owner' });

      // Hold the owner rows so both demotions are queued behind the same lock, then let go.
      const blocker = await env.pool.connect();
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM org_members WHERE org_id = $1 AND role = 'owner' FOR UPDATE`, [org.id]);
      const demotions = [setMemberRole(env.pool, admin(a.id), { orgId: org.id, userId: a.id, role: 'admin' }), setMemberRole(env.pool, admin(b.id), { orgId: org.id, userId: b.id, role: 'admin' })];
      const waiting = async (): Promise<number> =>
        (await env.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n as number;
      for (let i = 0; i < 100 && (await waiting()) < 2; i++) await new Promise((r) => setTimeout(r, 10));
      await blocker.query('COMMIT');
      blocker.release();

      const results = await Promise.allSettled(demotions);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected');
      expect((rejected as PromiseRejectedResult).reason).toMatchObject({ code: 'last_owner' });
      const owners = (await listMembers(env.pool, org.id)).filter((m) => m.role === 'owner');
      expect(owners).toHaveLength(1);
    }
  });

  it('survives a concurrent removal and demotion of the only two owners', async () => {
    const a = await user('a');
    const b = await user('b');
    const org = await orgOwnedBy(a);
    await addMember(env.pool, admin(), { orgId: org.id, userId: b.id, role: 'owner' });
    const results = await Promise.allSettled([removeMember(env.pool, admin(), { orgId: org.id, userId: a.id }), setMemberRole(env.pool, admin(), { orgId: org.id, userId: b.id, role: 'billing' })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await listMembers(env.pool, org.id)).filter((m) => m.role === 'owner')).toHaveLength(1);
  });
});

describe('workspace members', () => {
  it('sets, changes and removes a workspace role with one audit entry each', async () => {
    const owner = await user('owner');
    const org = await orgOwnedBy(owner);
    const ws = await createWorkspace(env.pool, admin(), { orgId: org.id, slug: 'prod' });
    const ann = await user('ann');
    await addMember(env.pool, admin(), { orgId: org.id, userId: ann.id, role: 'member' });

    const set = await oneAudit(env.pool, () => setWorkspaceMember(env.pool, admin(owner.id), { orgId: org.id, workspaceId: ws.id, userId: ann.id, role: 'viewer' }));
    expect(set.entry).toMatchObject({ action: 'workspace_member.set', target_type: 'user', target_id: ann.id, before: null, after: { workspaceId: ws.id, role: 'viewer' } });
    const change = await oneAudit(env.pool, () => setWorkspaceMember(env.pool, admin(owner.id), { orgId: org.id, workspaceId: ws.id, userId: ann.id, role: 'developer' }));
    expect(change.entry).toMatchObject({ before: { workspaceId: ws.id, role: 'viewer' }, after: { workspaceId: ws.id, role: 'developer' } });
    expect(await listWorkspaceMembers(env.pool, org.id, ws.id)).toEqual([expect.objectContaining({ userId: ann.id, role: 'developer', orgRole: 'member' })]);

    const removed = await oneAudit(env.pool, () => removeWorkspaceMember(env.pool, admin(owner.id), { orgId: org.id, workspaceId: ws.id, userId: ann.id }));
    expect(removed.entry).toMatchObject({ action: 'workspace_member.remove', before: { workspaceId: ws.id, role: 'developer' }, after: null });
    await expectTenancyError(removeWorkspaceMember(env.pool, admin(), { orgId: org.id, workspaceId: ws.id, userId: ann.id }), 'not_found');
  });

  it('requires an org member, a workspace of that org and a valid role', async () => {
    const owner = await user('owner');
    const org = await orgOwnedBy(owner);
    const other = await orgOwnedBy(owner);
    const ws = await createWorkspace(env.pool, admin(), { orgId: org.id, slug: 'prod' });
    const foreignWs = await createWorkspace(env.pool, admin(), { orgId: other.id, slug: 'prod' });
    const stranger = await user('stranger');
    await expectTenancyError(setWorkspaceMember(env.pool, admin(), { orgId: org.id, workspaceId: ws.id, userId: stranger.id, role: 'viewer' }), 'not_found', 'userId');
    await expectTenancyError(setWorkspaceMember(env.pool, admin(), { orgId: org.id, workspaceId: foreignWs.id, userId: owner.id, role: 'viewer' }), 'not_found', 'workspaceId');
    await expectTenancyError(setWorkspaceMember(env.pool, admin(), { orgId: org.id, workspaceId: ws.id, userId: owner.id, role: 'owner' as 'admin' }), 'invalid', 'role');
    await expectTenancyError(listWorkspaceMembers(env.pool, org.id, foreignWs.id), 'not_found');
  });
});

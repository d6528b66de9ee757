import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../../src/testing/index.js';
import {
  createOrganization,
  createUser,
  createWorkspace,
  deleteWorkspace,
  findOrganizationByName,
  findUserByEmail,
  getOrganization,
  getPlan,
  getUser,
  getWorkspace,
  getWorkspaceBySlug,
  listOrganizationsForUser,
  listWorkspaces,
  renameOrganization,
  updatePlan,
  updateWorkspace,
  type User,
} from '../../src/tenancy/index.js';
import { admin, auditCount, expectTenancyError, oneAudit, unique } from './helpers.js';

let env: TestEnv;
let owner: User;

beforeAll(async () => {
  env = await createTestEnv();
  owner = await createUser(env.pool, { email: `${unique('owner')}@example.com`, name: 'Olive Owner' });
});
afterAll(async () => env?.cleanup());

describe('users', () => {
  it('finds a user by id and by email in any case', async () => {
    const u = await createUser(env.pool, { email: 'Mixed.Case@Example.com', name: 'Mixed' });
    expect(await getUser(env.pool, u.id)).toEqual(u);
    expect(await findUserByEmail(env.pool, 'mixed.case@example.COM')).toEqual(u);
    expect(await getUser(env.pool, 'usr_missing')).toBeNull();
  });

  it('rejects a second user with the same email, whatever its case, as a conflict on email', async () => {
    await createUser(env.pool, { email: 'dup@example.com', name: '' });
    await expectTenancyError(createUser(env.pool, { email: 'DUP@example.com', name: '' }), 'conflict', 'email');
  });

  it('rejects an invalid email naming the field', async () => {
    await expectTenancyError(createUser(env.pool, { email: 'not-an-email', name: 'x' }), 'invalid', 'email');
  });
});

describe('organizations', () => {
  it('creates an organization with its owner, a free plan without quota, and one org.create entry', async () => {
    const name = unique('Acme');
    const { result: org, entry } = await oneAudit(env.pool, () => createOrganization(env.pool, admin(owner.id), { name, ownerUserId: owner.id }));
    expect(org).toMatchObject({ name });
    expect(entry).toMatchObject({
      org_id: org.id,
      actor_type: 'user',
      actor_id: owner.id,
      action: 'org.create',
      target_type: 'organization',
      target_id: org.id,
      before: null,
      after: { id: org.id, name, ownerUserId: owner.id, plan: 'free' },
      source_ip: '203.0.113.7',
    });
    expect(await getPlan(env.pool, org.id)).toMatchObject({ plan: 'free', monthlySpanQuota: null, ingestRateLimitPerS: null });
    expect(await listOrganizationsForUser(env.pool, owner.id)).toContainEqual({ ...org, role: 'owner' });
    expect(await findOrganizationByName(env.pool, name.toUpperCase())).toEqual({ id: org.id, name });
  });

  it('refuses a taken name in any case as a conflict on name, leaving nothing behind', async () => {
    const name = unique('Taken');
    await createOrganization(env.pool, admin(owner.id), { name, ownerUserId: owner.id });
    const before = await auditCount(env.pool);
    const orgsBefore = (await env.pool.query('SELECT count(*)::int AS n FROM organizations')).rows[0].n as number;
    await expectTenancyError(createOrganization(env.pool, admin(owner.id), { name: name.toUpperCase(), ownerUserId: owner.id }), 'conflict', 'name');
    expect(await auditCount(env.pool)).toBe(before);
    expect((await env.pool.query('SELECT count(*)::int AS n FROM organizations')).rows[0].n).toBe(orgsBefore);
  });

  it('rolls back the organization when the owner does not exist', async () => {
    const name = unique('Orphan');
    await expectTenancyError(createOrganization(env.pool, admin(), { name, ownerUserId: 'usr_nobody' }), 'not_found', 'userId');
    expect(await findOrganizationByName(env.pool, name)).toBeNull();
  });

  it('rejects an empty or overlong name naming the field', async () => {
    await expectTenancyError(createOrganization(env.pool, admin(), { name: '  ', ownerUserId: owner.id }), 'invalid', 'name');
    await expectTenancyError(createOrganization(env.pool, admin(), { name: 'x'.repeat(201), ownerUserId: owner.id }), 'invalid', 'name');
  });

  it('renames with before and after in the audit entry', async () => {
    const org = await createOrganization(env.pool, admin(owner.id), { name: unique('Old'), ownerUserId: owner.id });
    const name = unique('New');
    const { result, entry } = await oneAudit(env.pool, () => renameOrganization(env.pool, admin(owner.id), { orgId: org.id, name }));
    expect(result.name).toBe(name);
    expect(entry).toMatchObject({ action: 'org.rename', target_id: org.id, before: { name: org.name }, after: { name } });
    expect((await getOrganization(env.pool, org.id))?.name).toBe(name);
    await expectTenancyError(renameOrganization(env.pool, admin(), { orgId: 'org_missing', name: unique('x') }), 'not_found');
  });

  it('updates the plan, keeping omitted limits and clearing null ones', async () => {
    const org = await createOrganization(env.pool, admin(owner.id), { name: unique('Plan'), ownerUserId: owner.id });
    const { entry } = await oneAudit(env.pool, () => updatePlan(env.pool, admin(), { orgId: org.id, plan: 'team', monthlySpanQuota: 5_000_000_000, ingestRateLimitPerS: 2000 }));
    expect(entry).toMatchObject({
      action: 'plan.update',
      target_type: 'plan',
      target_id: org.id,
      before: { plan: 'free', monthlySpanQuota: null, ingestRateLimitPerS: null },
      after: { plan: 'team', monthlySpanQuota: 5_000_000_000, ingestRateLimitPerS: 2000 },
    });
    const plan = await updatePlan(env.pool, admin(), { orgId: org.id, ingestRateLimitPerS: null });
    expect(plan).toMatchObject({ plan: 'team', monthlySpanQuota: 5_000_000_000, ingestRateLimitPerS: null });
    await expectTenancyError(updatePlan(env.pool, admin(), { orgId: org.id, monthlySpanQuota: -1 }), 'invalid', 'monthlySpanQuota');
    await expectTenancyError(updatePlan(env.pool, admin(), { orgId: 'org_missing', plan: 'team' }), 'not_found');
  });
});

describe('workspaces', () => {
  it('creates, updates and deletes a workspace, each with one audit entry holding before and after', async () => {
    const org = await createOrganization(env.pool, admin(owner.id), { name: unique('Ws'), ownerUserId: owner.id });
    const { result: ws, entry: created } = await oneAudit(env.pool, () => createWorkspace(env.pool, admin(), { orgId: org.id, slug: 'prod', retentionDays: 90 }));
    expect(ws).toMatchObject({ orgId: org.id, slug: 'prod', name: 'prod', retentionDays: 90 });
    expect(created).toMatchObject({ action: 'workspace.create', target_type: 'workspace', target_id: ws.id, before: null, after: { id: ws.id, slug: 'prod', name: 'prod', retentionDays: 90 } });

    const { result: updated, entry: changed } = await oneAudit(env.pool, () => updateWorkspace(env.pool, admin(), { orgId: org.id, workspaceId: ws.id, name: 'Production', retentionDays: 365 }));
    expect(updated).toMatchObject({ name: 'Production', retentionDays: 365, slug: 'prod' });
    expect(changed).toMatchObject({ action: 'workspace.update', before: { name: 'prod', retentionDays: 90 }, after: { name: 'Production', retentionDays: 365 } });

    expect(await getWorkspaceBySlug(env.pool, org.id, 'prod')).toEqual(updated);
    const { entry: deleted } = await oneAudit(env.pool, () => deleteWorkspace(env.pool, admin(), { orgId: org.id, workspaceId: ws.id }));
    expect(deleted).toMatchObject({ action: 'workspace.delete', target_id: ws.id, before: { slug: 'prod', name: 'Production' }, after: null });
    expect(await getWorkspace(env.pool, org.id, ws.id)).toBeNull();
  });

  it('defaults name to the slug and retention to 30 days, and lists oldest first', async () => {
    const org = await createOrganization(env.pool, admin(owner.id), { name: unique('List'), ownerUserId: owner.id });
    await createWorkspace(env.pool, admin(), { orgId: org.id, slug: 'dev' });
    await createWorkspace(env.pool, admin(), { orgId: org.id, slug: 'staging', name: 'Staging' });
    const list = await listWorkspaces(env.pool, org.id);
    expect(list.map((w) => [w.slug, w.name, w.retentionDays])).toEqual([
      ['dev', 'dev', 30],
      ['staging', 'Staging', 30],
    ]);
  });

  it('refuses a duplicate slug in the same organization as a conflict on slug, but allows it in another', async () => {
    const a = await createOrganization(env.pool, admin(owner.id), { name: unique('A'), ownerUserId: owner.id });
    const b = await createOrganization(env.pool, admin(owner.id), { name: unique('B'), ownerUserId: owner.id });
    await createWorkspace(env.pool, admin(), { orgId: a.id, slug: 'dev' });
    const before = await auditCount(env.pool);
    await expectTenancyError(createWorkspace(env.pool, admin(), { orgId: a.id, slug: 'dev' }), 'conflict', 'slug');
    expect(await auditCount(env.pool)).toBe(before);
    await expect(createWorkspace(env.pool, admin(), { orgId: b.id, slug: 'dev' })).resolves.toMatchObject({ orgId: b.id });
  });

  it('rejects bad slugs and retention outside 1–3650 days naming the field', async () => {
    const org = await createOrganization(env.pool, admin(owner.id), { name: unique('Bad'), ownerUserId: owner.id });
    for (const slug of ['Dev', '-dev', '', 'a'.repeat(64), 'dev_1', 'dév']) {
      await expectTenancyError(createWorkspace(env.pool, admin(), { orgId: org.id, slug }), 'invalid', 'slug');
    }
    await expectTenancyError(createWorkspace(env.pool, admin(), { orgId: org.id, slug: 'ok', retentionDays: 0 }), 'invalid', 'retentionDays');
    await expectTenancyError(createWorkspace(env.pool, admin(), { orgId: org.id, slug: 'ok', retentionDays: 3651 }), 'invalid', 'retentionDays');
    await expectTenancyError(createWorkspace(env.pool, admin(), { orgId: 'org_missing', slug: 'ok' }), 'not_found', 'orgId');
  });

  it("never returns, changes or deletes another organization's workspace", async () => {
    const mine = await createOrganization(env.pool, admin(owner.id), { name: unique('Mine'), ownerUserId: owner.id });
    const theirs = await createOrganization(env.pool, admin(owner.id), { name: unique('Theirs'), ownerUserId: owner.id });
    const ws = await createWorkspace(env.pool, admin(), { orgId: theirs.id, slug: 'secret' });
    expect(await getWorkspace(env.pool, mine.id, ws.id)).toBeNull();
    expect(await getWorkspaceBySlug(env.pool, mine.id, 'secret')).toBeNull();
    await expectTenancyError(updateWorkspace(env.pool, admin(), { orgId: mine.id, workspaceId: ws.id, name: 'pwned' }), 'not_found');
    await expectTenancyError(deleteWorkspace(env.pool, admin(), { orgId: mine.id, workspaceId: ws.id }), 'not_found');
    expect(await getWorkspace(env.pool, theirs.id, ws.id)).toMatchObject({ name: 'secret' });
  });
});

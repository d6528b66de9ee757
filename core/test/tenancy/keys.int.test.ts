import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../../src/testing/index.js';
import { findApiKeyByHash } from '../../src/keys/store.js';
import { hashSecret } from '../../src/keys/secrets.js';
import {
  createOrgUsageKey,
  createOrganization,
  createPersonalToken,
  createUser,
  createWorkspace,
  createWorkspaceKey,
  listAudit,
  listKeys,
  listPersonalTokens,
  lookupKey,
  lookupWorkspace,
  resolvePersonalToken,
  revokeKey,
  revokePersonalToken,
  type Organization,
  type User,
  type Workspace,
} from '../../src/tenancy/index.js';
import { admin, expectTenancyError, oneAudit, unique, withAudit } from './helpers.js';

let env: TestEnv;
let owner: User;
let org: Organization;
let dev: Workspace;
let prod: Workspace;

beforeAll(async () => {
  env = await createTestEnv();
  owner = await createUser(env.pool, { email: `${unique('owner')}@example.com`, name: 'Owner' });
  org = await createOrganization(env.pool, admin(owner.id), { name: unique('org'), ownerUserId: owner.id });
  dev = await createWorkspace(env.pool, admin(owner.id), { orgId: org.id, slug: 'dev' });
  prod = await createWorkspace(env.pool, admin(owner.id), { orgId: org.id, slug: 'prod' });
});
afterAll(async () => env?.cleanup());

describe('workspace keys', () => {
  it('creates a key that resolves to its workspace, audited without the secret or hash', async () => {
    const { result: key, entry } = await oneAudit(env.pool, () => createWorkspaceKey(env.pool, admin(owner.id), { orgId: org.id, workspaceId: dev.id, name: 'ci', scopes: ['read', 'ingest', 'read'] }));
    expect(key.scopes).toEqual(['ingest', 'read']);
    expect(key.key.startsWith(key.prefix)).toBe(true);
    expect(await findApiKeyByHash(env.pool, hashSecret(key.key))).toMatchObject({ keyId: key.id, orgId: org.id, workspaceId: dev.id, scopes: ['ingest', 'read'] });
    expect(entry).toMatchObject({ action: 'key.create', target_type: 'api_key', target_id: key.id, before: null, after: { id: key.id, workspaceId: dev.id, name: 'ci', prefix: key.prefix, scopes: ['ingest', 'read'] } });
    expect(JSON.stringify(entry)).not.toContain(key.key);
    expect(JSON.stringify(entry)).not.toContain(hashSecret(key.key));
  });

  it('lists keys without secrets or hashes', async () => {
    const key = await createWorkspaceKey(env.pool, admin(owner.id), { orgId: org.id, workspaceId: prod.id, name: 'listed', scopes: ['ingest'], expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    const listed = await listKeys(env.pool, org.id, prod.id);
    const info = listed.find((k) => k.id === key.id);
    expect(info).toMatchObject({ name: 'listed', prefix: key.prefix, scopes: ['ingest'], createdBy: owner.id, revokedAt: null, lastUsedAt: null });
    expect(info?.expiresAt).toBeInstanceOf(Date);
    expect(Object.keys(info!).sort()).toEqual(['createdAt', 'createdBy', 'expiresAt', 'id', 'lastUsedAt', 'name', 'orgId', 'prefix', 'revokedAt', 'scopes', 'workspaceId']);
    expect(JSON.stringify(listed)).not.toContain(hashSecret(key.key));
  });

  it('rejects scopes outside ingest/read, an empty scope list, a past expiry and a bad name, naming the field', async () => {
    await expectTenancyError(createWorkspaceKey(env.pool, admin(), { orgId: org.id, workspaceId: dev.id, name: 'x', scopes: ['usage' as 'read'] }), 'invalid', 'scopes.0');
    await expectTenancyError(createWorkspaceKey(env.pool, admin(), { orgId: org.id, workspaceId: dev.id, name: 'x', scopes: [] }), 'invalid', 'scopes');
    await expectTenancyError(createWorkspaceKey(env.pool, admin(), { orgId: org.id, workspaceId: dev.id, name: 'x', scopes: ['read'], expiresAt: new Date(Date.now() - 1000) }), 'invalid', 'expiresAt');
    await expectTenancyError(createWorkspaceKey(env.pool, admin(), { orgId: org.id, workspaceId: dev.id, name: '', scopes: ['read'] }), 'invalid', 'name');
  });

  it("refuses creating or listing keys in another organization's workspace", async () => {
    const other = await createOrganization(env.pool, admin(owner.id), { name: unique('other'), ownerUserId: owner.id });
    await expectTenancyError(createWorkspaceKey(env.pool, admin(), { orgId: other.id, workspaceId: dev.id, name: 'x', scopes: ['read'] }), 'not_found', 'workspaceId');
    await expectTenancyError(listKeys(env.pool, other.id, dev.id), 'not_found', 'workspaceId');
  });

  it('revokes a key with one key.revoke entry, after which it no longer resolves; revoking again records nothing', async () => {
    const key = await createWorkspaceKey(env.pool, admin(owner.id), { orgId: org.id, workspaceId: dev.id, name: 'doomed', scopes: ['ingest'] });
    const { result, entry } = await oneAudit(env.pool, () => revokeKey(env.pool, admin(owner.id), { orgId: org.id, workspaceId: dev.id, keyId: key.id }));
    expect(result.revokedAt).toBeInstanceOf(Date);
    expect(entry).toMatchObject({ action: 'key.revoke', target_id: key.id, before: { revokedAt: null }, after: { name: 'doomed' } });
    expect((entry.after as { revokedAt: string | null }).revokedAt).not.toBeNull();
    expect(await findApiKeyByHash(env.pool, hashSecret(key.key))).toBeNull();
    const again = await withAudit(env.pool, () => revokeKey(env.pool, admin(owner.id), { orgId: org.id, workspaceId: dev.id, keyId: key.id }));
    expect(again.audit).toHaveLength(0);
  });

  it("answers not_found when revoking another workspace's key, and leaves that key working", async () => {
    const key = await createWorkspaceKey(env.pool, admin(owner.id), { orgId: org.id, workspaceId: prod.id, name: 'prod ingest', scopes: ['ingest'] });
    await expectTenancyError(revokeKey(env.pool, admin(), { orgId: org.id, workspaceId: dev.id, keyId: key.id }), 'not_found', 'keyId');
    const other = await createOrganization(env.pool, admin(owner.id), { name: unique('other'), ownerUserId: owner.id });
    await expectTenancyError(revokeKey(env.pool, admin(), { orgId: other.id, workspaceId: prod.id, keyId: key.id }), 'not_found');
    await expectTenancyError(revokeKey(env.pool, admin(), { orgId: org.id, workspaceId: null, keyId: key.id }), 'not_found');
    expect(await findApiKeyByHash(env.pool, hashSecret(key.key))).not.toBeNull();
  });
});

describe('lookups by id alone (for the API to find the org, and for operators)', () => {
  it('find a workspace with its organization, and a key with its org and workspace', async () => {
    expect(await lookupWorkspace(env.pool, prod.id)).toMatchObject({ id: prod.id, orgId: org.id, slug: 'prod' });
    expect(await lookupWorkspace(env.pool, 'ws_unknown')).toBeNull();
    const key = await createWorkspaceKey(env.pool, admin(owner.id), { orgId: org.id, workspaceId: prod.id, name: 'lookup', scopes: ['read'] });
    expect(await lookupKey(env.pool, key.id)).toMatchObject({ id: key.id, orgId: org.id, workspaceId: prod.id, scopes: ['read'], revokedAt: null });
    expect(await lookupKey(env.pool, 'key_unknown')).toBeNull();
  });
});

describe('org usage keys', () => {
  it('creates an org-level usage key listed and revoked with workspaceId null', async () => {
    const { result: key, entry } = await oneAudit(env.pool, () => createOrgUsageKey(env.pool, admin(owner.id), { orgId: org.id, name: 'finance' }));
    expect(key.scopes).toEqual(['usage']);
    expect(entry).toMatchObject({ action: 'key.create', after: { workspaceId: null, scopes: ['usage'] } });
    expect(await findApiKeyByHash(env.pool, hashSecret(key.key))).toMatchObject({ orgId: org.id, workspaceId: null, scopes: ['usage'] });
    expect((await listKeys(env.pool, org.id, null)).map((k) => k.id)).toEqual([key.id]);
    await expectTenancyError(revokeKey(env.pool, admin(), { orgId: org.id, workspaceId: dev.id, keyId: key.id }), 'not_found');
    await revokeKey(env.pool, admin(), { orgId: org.id, workspaceId: null, keyId: key.id });
    expect(await findApiKeyByHash(env.pool, hashSecret(key.key))).toBeNull();
    await expectTenancyError(createOrgUsageKey(env.pool, admin(), { orgId: 'org_missing', name: 'x' }), 'not_found');
  });
});

describe('personal tokens', () => {
  it('creates a token that resolves to its user, audited under the user without the secret', async () => {
    const { result, entry } = await oneAudit(env.pool, () => createPersonalToken(env.pool, admin(owner.id), { userId: owner.id, name: 'laptop' }));
    expect(result.token).toMatch(/^cnp_pat_/);
    expect(result.token.startsWith(result.prefix)).toBe(true);
    expect(entry).toMatchObject({ org_id: owner.id, action: 'token.create', target_type: 'personal_token', target_id: result.id, after: { name: 'laptop', prefix: result.prefix } });
    expect(JSON.stringify(entry)).not.toContain(result.token);
    expect(JSON.stringify(entry)).not.toContain(hashSecret(result.token));
    expect(await resolvePersonalToken(env.pool, result.token)).toEqual({ tokenId: result.id, userId: owner.id });
    expect((await listAudit(env.pool, owner.id, { action: 'token.create' })).entries.map((e) => e.targetId)).toContain(result.id);
  });

  it('marks a token used at most once a minute', async () => {
    const { id, token } = await createPersonalToken(env.pool, admin(owner.id), { userId: owner.id, name: 'used' });
    const lastUsed = async (): Promise<Date | null> => (await listPersonalTokens(env.pool, owner.id)).find((t) => t.id === id)!.lastUsedAt;
    expect(await lastUsed()).toBeNull();
    await resolvePersonalToken(env.pool, token);
    const first = await lastUsed();
    expect(first).toBeInstanceOf(Date);
    await resolvePersonalToken(env.pool, token);
    expect(await lastUsed()).toEqual(first);
    await env.pool.query(`UPDATE personal_tokens SET last_used_at = now() - interval '2 minutes' WHERE id = $1`, [id]);
    const stale = await lastUsed();
    await resolvePersonalToken(env.pool, token);
    expect((await lastUsed())!.getTime()).toBeGreaterThan(stale!.getTime());
  });

  it('stops resolving a revoked token; revoking records one token.revoke entry', async () => {
    const { id, token } = await createPersonalToken(env.pool, admin(owner.id), { userId: owner.id, name: 'revoked' });
    const { entry } = await oneAudit(env.pool, () => revokePersonalToken(env.pool, admin(owner.id), { userId: owner.id, tokenId: id }));
    expect(entry).toMatchObject({ org_id: owner.id, action: 'token.revoke', target_id: id, before: { revokedAt: null } });
    expect(await resolvePersonalToken(env.pool, token)).toBeNull();
    expect((await listPersonalTokens(env.pool, owner.id)).find((t) => t.id === id)?.revokedAt).toBeInstanceOf(Date);
  });

  it("refuses revoking another user's token", async () => {
    const other = await createUser(env.pool, { email: `${unique('other')}@example.com`, name: 'Other' });
    const { id, token } = await createPersonalToken(env.pool, admin(owner.id), { userId: owner.id, name: 'mine' });
    await expectTenancyError(revokePersonalToken(env.pool, admin(other.id), { userId: other.id, tokenId: id }), 'not_found', 'tokenId');
    expect(await resolvePersonalToken(env.pool, token)).not.toBeNull();
  });

  it('stops resolving an expired token and unknown secrets', async () => {
    const { id, token } = await createPersonalToken(env.pool, admin(owner.id), { userId: owner.id, name: 'short', expiresAt: new Date(Date.now() + 60_000) });
    expect(await resolvePersonalToken(env.pool, token)).not.toBeNull();
    await env.pool.query(`UPDATE personal_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    expect(await resolvePersonalToken(env.pool, token)).toBeNull();
    expect(await resolvePersonalToken(env.pool, `${token}x`)).toBeNull();
    expect(await resolvePersonalToken(env.pool, 'cnp_api_whatever')).toBeNull();
  });

  it('refuses a token for an unknown user', async () => {
    await expectTenancyError(createPersonalToken(env.pool, admin(), { userId: 'usr_ghost', name: 'x' }), 'not_found', 'userId');
  });
});

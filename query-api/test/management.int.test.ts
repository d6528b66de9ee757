import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapOrganization, findApiKeyByHash, hashSecret } from '@canopy/core';
import { createTestEnv, type TestEnv } from '@canopy/core/testing';
import { errorOf, startApi, unique, userWithToken, type RunningApi } from './helpers.js';

let env: TestEnv;
let api: RunningApi;
let owner: Awaited<ReturnType<typeof userWithToken>>;
let orgId: string;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  owner = await userWithToken(env.pool, 'owner');
  const created = await api.request('POST', '/api/v1/orgs', { token: owner.token, body: { name: unique('acme') } });
  expect(created.status).toBe(201);
  orgId = (created.json as { id: string }).id;
});

afterAll(async () => {
  await api?.close();
  await env?.cleanup();
});

const count = async (table: string): Promise<number> => (await env.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

describe('authentication', () => {
  it('answers a request without a token with 401 and WWW-Authenticate: Bearer', async () => {
    const reply = await api.request('GET', '/api/v1/orgs');
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(errorOf(reply).code).toBe('unauthorized');
  });

  it('refuses unknown tokens of every shape with 401', async () => {
    for (const token of ['cnp_pat_nope', 'cnp_api_nope', 'something-else']) {
      const reply = await api.request('GET', '/api/v1/orgs', { token });
      expect(reply.status).toBe(401);
      expect(reply.text).not.toContain(token);
    }
    const basic = await api.request('GET', '/api/v1/orgs', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(basic.status).toBe(401);
  });

  it('accepts a personal token and tells the user who it is', async () => {
    const reply = await api.request('GET', '/api/v1/me', { token: owner.token });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ id: owner.id, email: owner.email, orgs: [{ id: orgId, role: 'owner' }] });
  });

  it('refuses API keys on routes for people with 403', async () => {
    const key = await api.request('POST', `/api/v1/orgs/${orgId}/keys`, { token: owner.token, body: { name: 'finance' } });
    const reply = await api.request('GET', '/api/v1/me', { token: (key.json as { key: string }).key });
    expect(reply.status).toBe(403);
  });
});

describe('organizations and workspaces', () => {
  it('creates an organization whose creator is its owner, listed under GET /orgs', async () => {
    const reply = await api.request('GET', '/api/v1/orgs', { token: owner.token });
    expect(reply.status).toBe(200);
    expect((reply.json as { orgs: unknown[] }).orgs).toEqual([expect.objectContaining({ id: orgId, role: 'owner' })]);
  });

  it('renames an organization', async () => {
    const name = unique('renamed');
    const reply = await api.request('PATCH', `/api/v1/orgs/${orgId}`, { token: owner.token, body: { name } });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ id: orgId, name });
    expect((await api.request('GET', `/api/v1/orgs/${orgId}`, { token: owner.token })).json).toMatchObject({ name });
  });

  it('creates, lists, renames and deletes a workspace', async () => {
    const created = await api.request('POST', `/api/v1/orgs/${orgId}/workspaces`, { token: owner.token, body: { slug: 'qa', retentionDays: 7 } });
    expect(created.status).toBe(201);
    const ws = created.json as { id: string };
    expect(ws).toMatchObject({ orgId, slug: 'qa', name: 'qa', retentionDays: 7 });
    const list = await api.request('GET', `/api/v1/orgs/${orgId}/workspaces`, { token: owner.token });
    expect((list.json as { workspaces: Array<{ id: string }> }).workspaces.map((w) => w.id)).toContain(ws.id);
    const renamed = await api.request('PATCH', `/api/v1/orgs/${orgId}/workspaces/${ws.id}`, { token: owner.token, body: { name: 'Quality' } });
    expect(renamed.json).toMatchObject({ id: ws.id, name: 'Quality', retentionDays: 7 });
    expect((await api.request('DELETE', `/api/v1/orgs/${orgId}/workspaces/${ws.id}`, { token: owner.token })).status).toBe(200);
    expect((await api.request('GET', `/api/v1/orgs/${orgId}/workspaces/${ws.id}`, { token: owner.token })).status).toBe(404);
  });

  it('answers a duplicate slug with 409 naming the slug, and writes nothing', async () => {
    await api.request('POST', `/api/v1/orgs/${orgId}/workspaces`, { token: owner.token, body: { slug: 'twice' } });
    const [workspaces, audit] = [await count('workspaces'), await count('audit_log')];
    const again = await api.request('POST', `/api/v1/orgs/${orgId}/workspaces`, { token: owner.token, body: { slug: 'twice' } });
    expect(again.status).toBe(409);
    expect(errorOf(again)).toMatchObject({ code: 'conflict', field: 'slug' });
    expect([await count('workspaces'), await count('audit_log')]).toEqual([workspaces, audit]);
  });

  it('shows and changes the plan', async () => {
    expect((await api.request('GET', `/api/v1/orgs/${orgId}/plan`, { token: owner.token })).json).toMatchObject({ orgId, plan: 'free', monthlySpanQuota: null });
    const changed = await api.request('PATCH', `/api/v1/orgs/${orgId}/plan`, { token: owner.token, body: { plan: 'team', monthlySpanQuota: 1_000_000 } });
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({ plan: 'team', monthlySpanQuota: 1_000_000, ingestRateLimitPerS: null });
  });
});

describe('bad input', () => {
  it('names the field at fault with 400 invalid', async () => {
    const cases: Array<{ path: string; body: unknown; field: string }> = [
      { path: `/api/v1/orgs/${orgId}/workspaces`, body: {}, field: 'slug' },
      { path: `/api/v1/orgs/${orgId}/workspaces`, body: { slug: 'Not A Slug' }, field: 'slug' },
      { path: `/api/v1/orgs/${orgId}/workspaces`, body: { slug: 'ok', retentionDays: 0 }, field: 'retentionDays' },
      { path: `/api/v1/orgs/${orgId}/members`, body: { email: 'not-an-email', role: 'member' }, field: 'email' },
      { path: `/api/v1/orgs/${orgId}/members`, body: { email: 'a@example.test', role: 'emperor' }, field: 'role' },
      { path: `/api/v1/orgs/${orgId}/members`, body: { role: 'member' }, field: 'email' },
      { path: '/api/v1/orgs', body: { name: '' }, field: 'name' },
    ];
    for (const c of cases) {
      const reply = await api.request('POST', c.path, { token: owner.token, body: c.body });
      expect({ path: c.path, body: c.body, status: reply.status, error: errorOf(reply) }).toMatchObject({
        status: 400,
        error: { code: 'invalid', field: c.field, message: expect.stringContaining(c.field) },
      });
    }
  });

  it('refuses workspace key scopes other than ingest and read', async () => {
    const { rows } = await env.pool.query<{ id: string }>('SELECT id FROM workspaces WHERE org_id = $1 LIMIT 1', [orgId]);
    const reply = await api.request('POST', `/api/v1/workspaces/${rows[0]!.id}/keys`, { token: owner.token, body: { name: 'x', scopes: ['usage'] } });
    expect(reply.status).toBe(400);
    expect(errorOf(reply).field).toBe('scopes.0');
  });

  it('answers a body that is not JSON with 400, not 500', async () => {
    const reply = await api.request('POST', '/api/v1/orgs', { token: owner.token, rawBody: '{"name": ' });
    expect(reply.status).toBe(400);
    expect(errorOf(reply)).toEqual({ code: 'bad_request', message: 'the request body is not valid JSON' });
  });

  it('answers an unknown audit cursor with 400 naming cursor', async () => {
    const reply = await api.request('GET', `/api/v1/orgs/${orgId}/audit?cursor=garbage`, { token: owner.token });
    expect(reply.status).toBe(400);
    expect(errorOf(reply).field).toBe('cursor');
  });
});

describe('members and invitations', () => {
  it('invites by email; the invitee accepts with the token and becomes a member', async () => {
    const invitee = await userWithToken(env.pool, 'invitee');
    const invited = await api.request('POST', `/api/v1/orgs/${orgId}/members`, { token: owner.token, body: { email: invitee.email, role: 'admin' } });
    expect(invited.status).toBe(201);
    const { invitation, token } = invited.json as { invitation: { id: string; email: string }; token: string };
    expect(invitation.email).toBe(invitee.email);
    const pending = await api.request('GET', `/api/v1/orgs/${orgId}/invitations`, { token: owner.token });
    expect((pending.json as { invitations: Array<{ id: string }> }).invitations.map((i) => i.id)).toContain(invitation.id);

    const accepted = await api.request('POST', '/api/v1/invitations/accept', { token: invitee.token, body: { token } });
    expect(accepted.status).toBe(200);
    expect(accepted.json).toEqual({ orgId, role: 'admin' });
    // The new admin acts at once: this process reloaded its policy before answering.
    expect((await api.request('GET', `/api/v1/orgs/${orgId}/members`, { token: invitee.token })).status).toBe(200);
    const again = await api.request('POST', '/api/v1/invitations/accept', { token: invitee.token, body: { token } });
    expect(again.status).toBe(410);
    expect(errorOf(again).code).toBe('expired');
  });

  it('withdraws an invitation', async () => {
    const invited = await api.request('POST', `/api/v1/orgs/${orgId}/members`, { token: owner.token, body: { email: `${unique('w')}@example.test`, role: 'member' } });
    const { invitation, token } = invited.json as { invitation: { id: string }; token: string };
    expect((await api.request('DELETE', `/api/v1/orgs/${orgId}/invitations/${invitation.id}`, { token: owner.token })).status).toBe(200);
    const late = await userWithToken(env.pool, 'late');
    expect((await api.request('POST', '/api/v1/invitations/accept', { token: late.token, body: { token } })).status).toBe(410);
  });

  it('adds an existing user by id, changes the role, and removes the member', async () => {
    const user = await userWithToken(env.pool, 'direct');
    const added = await api.request('POST', `/api/v1/orgs/${orgId}/members`, { token: owner.token, body: { userId: user.id, role: 'member' } });
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ member: { userId: user.id, role: 'member' } });
    const changed = await api.request('PATCH', `/api/v1/orgs/${orgId}/members/${user.id}`, { token: owner.token, body: { role: 'billing' } });
    expect(changed.json).toMatchObject({ userId: user.id, role: 'billing' });
    expect((await api.request('DELETE', `/api/v1/orgs/${orgId}/members/${user.id}`, { token: owner.token })).status).toBe(200);
    expect((await api.request('GET', `/api/v1/orgs/${orgId}`, { token: user.token })).status).toBe(404);
  });

  it('never removes or demotes the last owner (409 last_owner)', async () => {
    const demote = await api.request('PATCH', `/api/v1/orgs/${orgId}/members/${owner.id}`, { token: owner.token, body: { role: 'admin' } });
    expect(demote.status).toBe(409);
    expect(errorOf(demote).code).toBe('last_owner');
    const remove = await api.request('DELETE', `/api/v1/orgs/${orgId}/members/${owner.id}`, { token: owner.token });
    expect(remove.status).toBe(409);
    expect(errorOf(remove).code).toBe('last_owner');
  });

  it('lets an admin manage members but never grant, change or remove the owner role', async () => {
    const admin = await userWithToken(env.pool, 'admin');
    const other = await userWithToken(env.pool, 'other');
    await api.request('POST', `/api/v1/orgs/${orgId}/members`, { token: owner.token, body: { userId: admin.id, role: 'admin' } });
    await api.request('POST', `/api/v1/orgs/${orgId}/members`, { token: owner.token, body: { userId: other.id, role: 'member' } });
    const as = { token: admin.token };
    expect((await api.request('PATCH', `/api/v1/orgs/${orgId}/members/${other.id}`, { ...as, body: { role: 'billing' } })).status).toBe(200);
    expect((await api.request('PATCH', `/api/v1/orgs/${orgId}/members/${other.id}`, { ...as, body: { role: 'owner' } })).status).toBe(403);
    expect((await api.request('PATCH', `/api/v1/orgs/${orgId}/members/${admin.id}`, { ...as, body: { role: 'owner' } })).status).toBe(403);
    expect((await api.request('PATCH', `/api/v1/orgs/${orgId}/members/${owner.id}`, { ...as, body: { role: 'member' } })).status).toBe(403);
    expect((await api.request('DELETE', `/api/v1/orgs/${orgId}/members/${owner.id}`, as)).status).toBe(403);
    expect((await api.request('POST', `/api/v1/orgs/${orgId}/members`, { ...as, body: { email: 'boss@example.test', role: 'owner' } })).status).toBe(403);
    const roles = await env.pool.query<{ user_id: string; role: string }>('SELECT user_id, role FROM org_members WHERE org_id = $1 AND user_id = ANY($2)', [
      orgId,
      [owner.id, admin.id, other.id],
    ]);
    expect(Object.fromEntries(roles.rows.map((r) => [r.user_id, r.role]))).toEqual({ [owner.id]: 'owner', [admin.id]: 'admin', [other.id]: 'billing' });
    // The owner may hand the role on; then the first owner may step down.
    expect((await api.request('PATCH', `/api/v1/orgs/${orgId}/members/${admin.id}`, { token: owner.token, body: { role: 'owner' } })).status).toBe(200);
    expect((await api.request('PATCH', `/api/v1/orgs/${orgId}/members/${admin.id}`, { token: owner.token, body: { role: 'admin' } })).status).toBe(200);
  });
});

describe('workspace memberships', () => {
  it('gives a member a workspace role, which then shows the workspace to it, and takes it away', async () => {
    const dev = (await api.request('POST', `/api/v1/orgs/${orgId}/workspaces`, { token: owner.token, body: { slug: unique('dev') } })).json as { id: string };
    const member = await userWithToken(env.pool, 'member');
    await api.request('POST', `/api/v1/orgs/${orgId}/members`, { token: owner.token, body: { userId: member.id, role: 'member' } });
    const visible = async (): Promise<string[]> =>
      ((await api.request('GET', `/api/v1/orgs/${orgId}/workspaces`, { token: member.token })).json as { workspaces: Array<{ id: string }> }).workspaces.map((w) => w.id);
    expect(await visible()).toEqual([]);
    const set = await api.request('PUT', `/api/v1/workspaces/${dev.id}/members/${member.id}`, { token: owner.token, body: { role: 'viewer' } });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ userId: member.id, role: 'viewer', orgRole: 'member' });
    expect(await visible()).toEqual([dev.id]);
    const listed = await api.request('GET', `/api/v1/workspaces/${dev.id}/members`, { token: owner.token });
    expect((listed.json as { members: Array<{ userId: string }> }).members.map((m) => m.userId)).toEqual([member.id]);
    expect((await api.request('DELETE', `/api/v1/workspaces/${dev.id}/members/${member.id}`, { token: owner.token })).status).toBe(204);
    expect(await visible()).toEqual([]);
  });

  it('refuses a workspace role for someone outside the organization with 404', async () => {
    const dev = (await api.request('POST', `/api/v1/orgs/${orgId}/workspaces`, { token: owner.token, body: { slug: unique('dev') } })).json as { id: string };
    const stranger = await userWithToken(env.pool, 'stranger');
    const reply = await api.request('PUT', `/api/v1/workspaces/${dev.id}/members/${stranger.id}`, { token: owner.token, body: { role: 'admin' } });
    expect(reply.status).toBe(404);
    expect(errorOf(reply).field).toBe('userId');
  });
});

describe('keys and tokens', () => {
  it('creates a workspace key shown once, lists it without the secret, and revokes it', async () => {
    const ws = (await api.request('POST', `/api/v1/orgs/${orgId}/workspaces`, { token: owner.token, body: { slug: unique('keys') } })).json as { id: string };
    const created = await api.request('POST', `/api/v1/workspaces/${ws.id}/keys`, { token: owner.token, body: { name: 'ci', scopes: ['read', 'ingest'] } });
    expect(created.status).toBe(201);
    const key = created.json as { id: string; key: string; prefix: string; scopes: string[] };
    expect(Object.keys(key).sort()).toEqual(['id', 'key', 'prefix', 'scopes']);
    expect(key.scopes).toEqual(['ingest', 'read']);
    expect(key.key.startsWith(key.prefix)).toBe(true);
    expect(await findApiKeyByHash(env.pool, hashSecret(key.key))).toMatchObject({ keyId: key.id, workspaceId: ws.id });

    const listed = await api.request('GET', `/api/v1/workspaces/${ws.id}/keys`, { token: owner.token });
    expect(listed.text).not.toContain(key.key);
    expect((listed.json as { keys: Array<{ id: string; lastUsedAt: null }> }).keys).toEqual([expect.objectContaining({ id: key.id, prefix: key.prefix, lastUsedAt: null })]);

    // The key reads its workspace at once (the policy was reloaded before the answer).
    expect((await api.request('GET', `/api/v1/orgs/${orgId}/workspaces/${ws.id}`, { token: key.key })).status).toBe(200);
    const revoked = await api.request('DELETE', `/api/v1/workspaces/${ws.id}/keys/${key.id}`, { token: owner.token });
    expect(revoked.status).toBe(200);
    expect((revoked.json as { revokedAt: string | null }).revokedAt).not.toBeNull();
  });

  it('answers a key id of another workspace with 404', async () => {
    const a = (await api.request('POST', `/api/v1/orgs/${orgId}/workspaces`, { token: owner.token, body: { slug: unique('a') } })).json as { id: string };
    const b = (await api.request('POST', `/api/v1/orgs/${orgId}/workspaces`, { token: owner.token, body: { slug: unique('b') } })).json as { id: string };
    const key = (await api.request('POST', `/api/v1/workspaces/${a.id}/keys`, { token: owner.token, body: { name: 'a', scopes: ['ingest'] } })).json as { id: string };
    const reply = await api.request('DELETE', `/api/v1/workspaces/${b.id}/keys/${key.id}`, { token: owner.token });
    expect(reply.status).toBe(404);
    expect(await findApiKeyByHash(env.pool, (await env.pool.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE id = $1', [key.id])).rows[0]!.key_hash)).not.toBeNull();
  });

  it('creates org usage keys that carry only the usage scope', async () => {
    const created = await api.request('POST', `/api/v1/orgs/${orgId}/keys`, { token: owner.token, body: { name: 'finance export' } });
    expect(created.status).toBe(201);
    expect((created.json as { scopes: string[] }).scopes).toEqual(['usage']);
    const listed = await api.request('GET', `/api/v1/orgs/${orgId}/keys`, { token: owner.token });
    expect((listed.json as { keys: Array<{ workspaceId: string | null }> }).keys.every((k) => k.workspaceId === null)).toBe(true);
  });

  it('creates, lists and revokes personal tokens; a revoked token stops working at once', async () => {
    const created = await api.request('POST', '/api/v1/me/tokens', { token: owner.token, body: { name: 'laptop' } });
    expect(created.status).toBe(201);
    const { id, token } = created.json as { id: string; token: string };
    expect((await api.request('GET', '/api/v1/me', { token })).status).toBe(200);
    const listed = await api.request('GET', '/api/v1/me/tokens', { token });
    expect(listed.text).not.toContain(token);
    expect((listed.json as { tokens: Array<{ id: string }> }).tokens.map((t) => t.id)).toContain(id);
    expect((await api.request('DELETE', `/api/v1/me/tokens/${id}`, { token })).status).toBe(200);
    expect((await api.request('GET', '/api/v1/me', { token })).status).toBe(401);
  });

  it("answers another user's token id with 404", async () => {
    const other = await userWithToken(env.pool, 'other-tokens');
    const theirs = (await api.request('GET', '/api/v1/me/tokens', { token: other.token })).json as { tokens: Array<{ id: string }> };
    expect((await api.request('DELETE', `/api/v1/me/tokens/${theirs.tokens[0]!.id}`, { token: owner.token })).status).toBe(404);
  });
});

describe('what canopy bootstrap prints', () => {
  it('works against the API at once: the owner manages, the billing user reads the plan only, the read key reads its workspace', async () => {
    const out = await bootstrapOrganization(env.pool, { name: unique('boot'), workspaceSlugs: ['dev'] });
    await api.policy.reload(); // created outside this API; NOTIFY would get there within a second too
    const dev = out.workspaces[0]!;
    const status = async (path: string, token: string): Promise<number> => (await api.request('GET', `/api/v1${path}`, { token })).status;
    expect(await status(`/orgs/${out.org.id}/members`, out.ownerToken)).toBe(200);
    expect(await status(`/orgs/${out.org.id}/plan`, out.billingToken)).toBe(200);
    expect(await status(`/orgs/${out.org.id}/members`, out.billingToken)).toBe(403);
    expect(await status(`/orgs/${out.org.id}/audit`, out.billingToken)).toBe(403);
    expect(await status(`/orgs/${out.org.id}/workspaces/${dev.id}`, dev.readKey)).toBe(200);
    expect(await status(`/orgs/${out.org.id}/workspaces/${dev.id}`, dev.ingestKey)).toBe(403);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../../src/testing/index.js';
import { findApiKeyByHash } from '../../src/keys/store.js';
import { hashSecret } from '../../src/keys/secrets.js';
import {
  bootstrapOrganization,
  createUser,
  createWorkspace,
  findOrganizationByName,
  findUserByEmail,
  listAudit,
  listMembers,
  listWorkspaces,
  resolvePersonalToken,
  slugifyName,
  createOrganization,
} from '../../src/tenancy/index.js';
import { auditCount, expectTenancyError, unique } from './helpers.js';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.cleanup());

describe('bootstrapOrganization', () => {
  it('returns exactly the JSON shape of `canopy bootstrap --json`, with secrets that work at once', async () => {
    const out = await bootstrapOrganization(env.pool, { name: 'acme', workspaceSlugs: ['dev', 'staging', 'prod'] });
    expect(Object.keys(out).sort()).toEqual(['billingToken', 'org', 'ownerToken', 'workspaces']);
    expect(Object.keys(out.org).sort()).toEqual(['id', 'name']);
    expect(out.org.name).toBe('acme');
    expect(out.workspaces.map((w) => w.slug)).toEqual(['dev', 'staging', 'prod']);
    for (const ws of out.workspaces) {
      expect(Object.keys(ws).sort()).toEqual(['id', 'ingestKey', 'readKey', 'slug']);
      expect(await findApiKeyByHash(env.pool, hashSecret(ws.ingestKey))).toMatchObject({ orgId: out.org.id, workspaceId: ws.id, scopes: ['ingest'] });
      expect(await findApiKeyByHash(env.pool, hashSecret(ws.readKey))).toMatchObject({ orgId: out.org.id, workspaceId: ws.id, scopes: ['read'] });
    }
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);

    const owner = await findUserByEmail(env.pool, 'owner@acme.local');
    const billing = await findUserByEmail(env.pool, 'billing@acme.local');
    expect(await resolvePersonalToken(env.pool, out.ownerToken)).toMatchObject({ userId: owner!.id });
    expect(await resolvePersonalToken(env.pool, out.billingToken)).toMatchObject({ userId: billing!.id });
    const roles = Object.fromEntries((await listMembers(env.pool, out.org.id)).map((m) => [m.email, m.role]));
    expect(roles).toEqual({ 'owner@acme.local': 'owner', 'billing@acme.local': 'billing' });
  });

  it('audits every step as the system actor', async () => {
    const out = await bootstrapOrganization(env.pool, { name: unique('Audited Co'), workspaceSlugs: ['dev', 'prod'] });
    const { entries } = await listAudit(env.pool, out.org.id);
    expect(entries.every((e) => e.actorType === 'system' && e.actorId === 'bootstrap')).toBe(true);
    const counts: Record<string, number> = {};
    for (const e of entries) counts[e.action] = (counts[e.action] ?? 0) + 1;
    expect(counts).toEqual({ 'org.create': 1, 'member.add': 1, 'workspace.create': 2, 'key.create': 4 });
    const owner = (await listMembers(env.pool, out.org.id)).find((m) => m.role === 'owner')!;
    expect((await listAudit(env.pool, owner.userId)).entries.map((e) => e.action)).toEqual(['token.create']);
  });

  it('uses the given emails, reusing an existing user', async () => {
    const existing = await createUser(env.pool, { email: 'cfo@example.com', name: 'CFO' });
    const out = await bootstrapOrganization(env.pool, { name: unique('Given'), workspaceSlugs: ['dev'], ownerEmail: 'ceo@example.com', billingEmail: 'CFO@example.com' });
    const members = await listMembers(env.pool, out.org.id);
    expect(members.map((m) => [m.email, m.role]).sort()).toEqual([
      ['ceo@example.com', 'owner'],
      ['cfo@example.com', 'billing'],
    ]);
    expect(await resolvePersonalToken(env.pool, out.billingToken)).toMatchObject({ userId: existing.id });
  });

  it('derives default emails from the name and never silently reuses a default user', async () => {
    expect(slugifyName('Acme, Inc.')).toBe('acme-inc');
    expect(slugifyName('Ünïcode Ltd')).toBe('unicode-ltd');
    expect(slugifyName('!!!')).toBe('org');
    await bootstrapOrganization(env.pool, { name: 'Twin Co', workspaceSlugs: [] });
    expect(await findUserByEmail(env.pool, 'owner@twin-co.local')).not.toBeNull();
    await expectTenancyError(bootstrapOrganization(env.pool, { name: 'twin-co', workspaceSlugs: [] }), 'conflict', 'ownerEmail');
  });

  it('leaves nothing behind when any step fails', async () => {
    const before = await auditCount(env.pool);
    await expectTenancyError(bootstrapOrganization(env.pool, { name: 'acme', workspaceSlugs: ['dev'], ownerEmail: 'fresh@example.com', billingEmail: 'fresh-billing@example.com' }), 'conflict', 'name');
    expect(await findUserByEmail(env.pool, 'fresh@example.com')).toBeNull();
    expect(await auditCount(env.pool)).toBe(before);
  });

  it('rejects bad slugs, duplicate slugs and equal owner and billing emails before touching the database', async () => {
    await expectTenancyError(bootstrapOrganization(env.pool, { name: 'x1', workspaceSlugs: ['Prod'] }), 'invalid', 'workspaceSlugs.0');
    await expectTenancyError(bootstrapOrganization(env.pool, { name: 'x2', workspaceSlugs: ['dev', 'dev'] }), 'invalid', 'workspaceSlugs');
    await expectTenancyError(bootstrapOrganization(env.pool, { name: 'x3', workspaceSlugs: [], ownerEmail: 'a@b.co', billingEmail: 'A@b.co' }), 'invalid', 'billingEmail');
    expect(await findOrganizationByName(env.pool, 'x1')).toBeNull();
  });
});

describe("operations inside a caller's transaction", () => {
  it('undo only their own part when they fail, leaving the caller free to continue and commit', async () => {
    const owner = await createUser(env.pool, { email: `${unique('tx')}@example.com`, name: '' });
    const org = await createOrganization(env.pool, { type: 'system', id: 'test' }, { name: unique('tx'), ownerUserId: owner.id });
    const client = await env.pool.connect();
    try {
      await client.query('BEGIN');
      await createWorkspace(client, { type: 'system', id: 'test' }, { orgId: org.id, slug: 'one' });
      await expectTenancyError(createWorkspace(client, { type: 'system', id: 'test' }, { orgId: org.id, slug: 'one' }), 'conflict', 'slug');
      await createWorkspace(client, { type: 'system', id: 'test' }, { orgId: org.id, slug: 'two' });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect((await listWorkspaces(env.pool, org.id)).map((w) => w.slug)).toEqual(['one', 'two']);
    expect((await listAudit(env.pool, org.id, { action: 'workspace.create' })).entries).toHaveLength(2);
  });

  it('refuse a client that is not inside a transaction', async () => {
    const client = await env.pool.connect();
    try {
      await expect(createWorkspace(client, { type: 'system', id: 'test' }, { orgId: 'org_x', slug: 'dev' })).rejects.toMatchObject({ code: '25P01' });
    } finally {
      client.release();
    }
  });
});

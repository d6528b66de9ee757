import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  createOrganization,
  createOrgUsageKey,
  createUser,
  createWorkspace,
  createWorkspaceKey,
  inviteMember,
  setWorkspaceMember,
  type OrgRole,
  type WorkspaceRole,
} from '@canopy/core';
import { createTestEnv, type TestEnv } from '@canopy/core/testing';
import { ROLE_TABLE, type Action, type RoleName } from '@canopy/policies';
import { openDeadLetter } from './dead-letter-fixtures.js';
import { errorOf, startApi, SYSTEM, unique, userWithToken, type RunningApi } from './helpers.js';

/**
 * The isolation matrix: every principal (each org role, each workspace role, each kind of
 * key, the owner of another org) × every management route × (own workspace, another
 * workspace of the same org, a workspace of another org) must get exactly the status the
 * role table implies: the route's success status when a role it holds grants the route's
 * action there; 403 when it is not allowed but belongs to the organization; 404 when it
 * has no part in the organization at all. The expectation is computed here from
 * ROLE_TABLE, independently of the API's code.
 */

type Grant = { role: RoleName; orgId: string } | { role: RoleName; workspaceId: string };

interface Principal {
  label: string;
  token: string;
  /** for keys: the one organization they belong to */
  keyOrg?: string;
  grants: Grant[];
  /** for users: the workspace roles it holds on dev (mirrored onto fresh workspaces standing in for dev) */
  devRole?: WorkspaceRole;
  userId?: string;
}

type Kind = 'own' | 'sibling' | 'foreign';

interface Target {
  kind: Kind;
  orgId: string;
  orgName: string;
  workspaceId: string;
  workspaceName: string;
}

interface Prepared {
  /** values for the path's `{id}` / `{userId}` */
  params?: Record<string, string>;
  /** a fresh workspace that replaces the target's (destructive routes) */
  workspace?: { id: string; name: string };
}

interface RouteRow {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** with {org}, {ws}, {id}, {userId} placeholders */
  path: string;
  level: 'org' | 'ws';
  action: Action;
  ok: 200 | 201 | 202 | 204;
  body?: (t: Target) => unknown;
  /** creates what the request acts on, so an allowed call succeeds without touching the fixture */
  prepare?: (t: Target) => Promise<Prepared>;
}

let env: TestEnv;
let api: RunningApi;
const principals: Principal[] = [];
const orgs = { a: { id: '', name: '' }, b: { id: '', name: '' } };
const ws = { dev: { id: '', name: 'dev' }, prod: { id: '', name: 'prod' }, other: { id: '', name: 'other' } };

/** An org member nobody in the matrix is, for routes that change or remove a member. */
async function throwawayMember(orgId: string): Promise<string> {
  const user = await createUser(env.pool, { email: `${unique('spare')}@example.test` });
  await addMember(env.pool, SYSTEM, { orgId, userId: user.id, role: 'member' });
  return user.id;
}

/** A workspace standing in for the target; for `own`, the dev users get their dev roles on it. */
async function freshWorkspace(t: Target): Promise<Prepared> {
  const created = await createWorkspace(env.pool, SYSTEM, { orgId: t.orgId, slug: unique('tmp') });
  if (t.kind === 'own') {
    for (const p of principals) {
      if (p.devRole) await setWorkspaceMember(env.pool, SYSTEM, { orgId: t.orgId, workspaceId: created.id, userId: p.userId!, role: p.devRole });
    }
  }
  return { workspace: { id: created.id, name: created.name } };
}

/** A fresh open dead letter in the target workspace, for the routes that act on one. */
const deadLetterIn = async (t: Target): Promise<Prepared> => ({ params: { id: (await openDeadLetter(env.pool, { orgId: t.orgId, workspaceId: t.workspaceId })).id } });

const ROUTES: RouteRow[] = [
  { method: 'GET', path: '/orgs/{org}', level: 'org', action: 'org:read', ok: 200 },
  { method: 'PATCH', path: '/orgs/{org}', level: 'org', action: 'org:update', ok: 200, body: (t) => ({ name: t.orgName }) },
  { method: 'GET', path: '/orgs/{org}/plan', level: 'org', action: 'billing:read', ok: 200 },
  { method: 'PATCH', path: '/orgs/{org}/plan', level: 'org', action: 'plan:update', ok: 200, body: () => ({ plan: 'free' }) },
  { method: 'GET', path: '/orgs/{org}/workspaces', level: 'org', action: 'org:read', ok: 200 },
  { method: 'POST', path: '/orgs/{org}/workspaces', level: 'org', action: 'workspace:create', ok: 201, body: () => ({ slug: unique('new') }) },
  { method: 'GET', path: '/orgs/{org}/members', level: 'org', action: 'member:read', ok: 200 },
  { method: 'POST', path: '/orgs/{org}/members', level: 'org', action: 'member:invite', ok: 201, body: () => ({ email: `${unique('inv')}@example.test`, role: 'member' }) },
  {
    method: 'PATCH',
    path: '/orgs/{org}/members/{userId}',
    level: 'org',
    action: 'member:update',
    ok: 200,
    body: () => ({ role: 'billing' }),
    prepare: async (t) => ({ params: { userId: await throwawayMember(t.orgId) } }),
  },
  {
    method: 'DELETE',
    path: '/orgs/{org}/members/{userId}',
    level: 'org',
    action: 'member:remove',
    ok: 200,
    prepare: async (t) => ({ params: { userId: await throwawayMember(t.orgId) } }),
  },
  { method: 'GET', path: '/orgs/{org}/invitations', level: 'org', action: 'member:read', ok: 200 },
  {
    method: 'DELETE',
    path: '/orgs/{org}/invitations/{id}',
    level: 'org',
    action: 'member:invite',
    ok: 200,
    prepare: async (t) => ({ params: { id: (await inviteMember(env.pool, SYSTEM, { orgId: t.orgId, email: `${unique('inv')}@example.test`, role: 'member' })).invitation.id } }),
  },
  { method: 'GET', path: '/orgs/{org}/keys', level: 'org', action: 'key:read', ok: 200 },
  { method: 'POST', path: '/orgs/{org}/keys', level: 'org', action: 'key:create', ok: 201, body: () => ({ name: 'usage' }) },
  {
    method: 'DELETE',
    path: '/orgs/{org}/keys/{id}',
    level: 'org',
    action: 'key:revoke',
    ok: 200,
    prepare: async (t) => ({ params: { id: (await createOrgUsageKey(env.pool, SYSTEM, { orgId: t.orgId, name: 'spare' })).id } }),
  },
  { method: 'GET', path: '/orgs/{org}/audit', level: 'org', action: 'audit:read', ok: 200 },
  { method: 'GET', path: '/orgs/{org}/ingest', level: 'org', action: 'ingest_ledger:read', ok: 200 },
  { method: 'GET', path: '/workspaces/{ws}/ingest', level: 'ws', action: 'ingest_ledger:read', ok: 200 },
  { method: 'GET', path: '/orgs/{org}/prices', level: 'org', action: 'billing:read', ok: 200 },
  { method: 'PUT', path: '/orgs/{org}/prices', level: 'org', action: 'price:update', ok: 200, body: () => ({ prices: [] }) },
  { method: 'GET', path: '/orgs/{org}/prices/versions', level: 'org', action: 'billing:read', ok: 200 },
  { method: 'GET', path: '/orgs/{org}/prices/versions/{version}', level: 'org', action: 'billing:read', ok: 200, prepare: async () => ({ params: { version: '1' } }) },
  { method: 'POST', path: '/orgs/{org}/prices/reprice', level: 'org', action: 'price:update', ok: 200, body: () => ({ from: '2026-11-01', to: '2026-11-02' }) },
  { method: 'GET', path: '/orgs/{org}/workspaces/{ws}', level: 'ws', action: 'workspace:read', ok: 200 },
  { method: 'PATCH', path: '/orgs/{org}/workspaces/{ws}', level: 'ws', action: 'workspace:update', ok: 200, body: (t) => ({ name: t.workspaceName }) },
  { method: 'DELETE', path: '/orgs/{org}/workspaces/{ws}', level: 'ws', action: 'workspace:delete', ok: 200, prepare: freshWorkspace },
  { method: 'GET', path: '/workspaces/{ws}/members', level: 'ws', action: 'workspace_member:manage', ok: 200 },
  {
    method: 'PUT',
    path: '/workspaces/{ws}/members/{userId}',
    level: 'ws',
    action: 'workspace_member:manage',
    ok: 200,
    body: () => ({ role: 'viewer' }),
    prepare: async (t) => ({ params: { userId: await throwawayMember(t.orgId) } }),
  },
  {
    method: 'DELETE',
    path: '/workspaces/{ws}/members/{userId}',
    level: 'ws',
    action: 'workspace_member:manage',
    ok: 204,
    prepare: async (t) => {
      const userId = await throwawayMember(t.orgId);
      await setWorkspaceMember(env.pool, SYSTEM, { orgId: t.orgId, workspaceId: t.workspaceId, userId, role: 'viewer' });
      return { params: { userId } };
    },
  },
  { method: 'GET', path: '/workspaces/{ws}/keys', level: 'ws', action: 'key:read', ok: 200 },
  { method: 'POST', path: '/workspaces/{ws}/keys', level: 'ws', action: 'key:create', ok: 201, body: () => ({ name: 'spare', scopes: ['ingest'] }) },
  {
    method: 'DELETE',
    path: '/workspaces/{ws}/keys/{id}',
    level: 'ws',
    action: 'key:revoke',
    ok: 200,
    prepare: async (t) => ({ params: { id: (await createWorkspaceKey(env.pool, SYSTEM, { orgId: t.orgId, workspaceId: t.workspaceId, name: 'spare', scopes: ['read'] })).id } }),
  },
  // Dead letters: inspecting shows span content, so all four need deadletter:manage.
  { method: 'GET', path: '/workspaces/{ws}/dead-letters', level: 'ws', action: 'deadletter:manage', ok: 200 },
  { method: 'GET', path: '/workspaces/{ws}/dead-letters/{id}', level: 'ws', action: 'deadletter:manage', ok: 200, prepare: deadLetterIn },
  { method: 'POST', path: '/workspaces/{ws}/dead-letters/{id}/replay', level: 'ws', action: 'deadletter:manage', ok: 202, prepare: deadLetterIn },
  { method: 'DELETE', path: '/workspaces/{ws}/dead-letters/{id}', level: 'ws', action: 'deadletter:manage', ok: 200, prepare: deadLetterIn },
];

/** Routes for people only: every user gets the success status, every key 403. */
const USER_ROUTES: Array<{ method: RouteRow['method']; path: string; ok: number; body?: () => unknown }> = [
  { method: 'GET', path: '/me', ok: 200 },
  { method: 'GET', path: '/orgs', ok: 200 },
  { method: 'POST', path: '/orgs', ok: 201, body: () => ({ name: unique('org') }) },
  { method: 'GET', path: '/me/tokens', ok: 200 },
  { method: 'POST', path: '/me/tokens', ok: 201, body: () => ({ name: 'another' }) },
];

/** What the role table says: the route's status, 403, or 404. */
function expectedStatus(p: Principal, row: RouteRow, t: Target): number {
  const allowed = p.grants.some((g) => {
    const grant = ROLE_TABLE[g.role];
    if (!(grant.actions as readonly Action[]).includes(row.action)) return false;
    if ('orgId' in g) return grant.level === 'org' && g.orgId === t.orgId;
    return grant.level === 'ws' && row.level === 'ws' && g.workspaceId === t.workspaceId;
  });
  if (allowed) return row.ok;
  const partOfOrg = p.keyOrg !== undefined ? p.keyOrg === t.orgId : p.grants.some((g) => 'orgId' in g && g.orgId === t.orgId);
  return partOfOrg ? 403 : 404;
}

function targets(row: RouteRow): Target[] {
  const a = { orgId: orgs.a.id, orgName: orgs.a.name };
  const all: Target[] = [
    { kind: 'own', ...a, workspaceId: ws.dev.id, workspaceName: ws.dev.name },
    { kind: 'sibling', ...a, workspaceId: ws.prod.id, workspaceName: ws.prod.name },
    { kind: 'foreign', orgId: orgs.b.id, orgName: orgs.b.name, workspaceId: ws.other.id, workspaceName: ws.other.name },
  ];
  return row.level === 'org' ? all.filter((t) => t.kind !== 'sibling') : all;
}

function fill(path: string, values: Record<string, string>): string {
  return `/api/v1${path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? `missing-${name}`)}`;
}

/** Grants of `p` for a request on a fresh workspace standing in for dev. */
function withStandIn(p: Principal, standIn: string | undefined): Principal {
  if (standIn === undefined || p.devRole === undefined) return p;
  return { ...p, grants: [...p.grants, { role: `ws:${p.devRole}`, workspaceId: standIn }] };
}

beforeAll(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  const ownerA = await userWithToken(env.pool, 'org-owner');
  const ownerB = await userWithToken(env.pool, 'other-org-owner');
  orgs.a.name = unique('org-a');
  orgs.b.name = unique('org-b');
  orgs.a.id = (await createOrganization(env.pool, SYSTEM, { name: orgs.a.name, ownerUserId: ownerA.id })).id;
  orgs.b.id = (await createOrganization(env.pool, SYSTEM, { name: orgs.b.name, ownerUserId: ownerB.id })).id;
  ws.dev.id = (await createWorkspace(env.pool, SYSTEM, { orgId: orgs.a.id, slug: 'dev' })).id;
  ws.prod.id = (await createWorkspace(env.pool, SYSTEM, { orgId: orgs.a.id, slug: 'prod' })).id;
  ws.other.id = (await createWorkspace(env.pool, SYSTEM, { orgId: orgs.b.id, slug: 'other' })).id;

  principals.push({ label: 'org owner', token: ownerA.token, userId: ownerA.id, grants: [{ role: 'org:owner', orgId: orgs.a.id }] });
  for (const role of ['admin', 'billing', 'member'] as const satisfies readonly OrgRole[]) {
    const u = await userWithToken(env.pool, `org-${role}`);
    await addMember(env.pool, SYSTEM, { orgId: orgs.a.id, userId: u.id, role });
    principals.push({ label: `org ${role}`, token: u.token, userId: u.id, grants: [{ role: `org:${role}`, orgId: orgs.a.id }] });
  }
  for (const role of ['admin', 'developer', 'viewer'] as const satisfies readonly WorkspaceRole[]) {
    const u = await userWithToken(env.pool, `ws-${role}`);
    await addMember(env.pool, SYSTEM, { orgId: orgs.a.id, userId: u.id, role: 'member' });
    await setWorkspaceMember(env.pool, SYSTEM, { orgId: orgs.a.id, workspaceId: ws.dev.id, userId: u.id, role });
    principals.push({
      label: `workspace ${role} of dev`,
      token: u.token,
      userId: u.id,
      devRole: role,
      grants: [
        { role: 'org:member', orgId: orgs.a.id },
        { role: `ws:${role}`, workspaceId: ws.dev.id },
      ],
    });
  }
  for (const scope of ['ingest', 'read'] as const) {
    const key = await createWorkspaceKey(env.pool, SYSTEM, { orgId: orgs.a.id, workspaceId: ws.dev.id, name: scope, scopes: [scope] });
    principals.push({ label: `${scope} key of dev`, token: key.key, keyOrg: orgs.a.id, grants: [{ role: `scope:${scope}`, workspaceId: ws.dev.id }] });
  }
  const usage = await createOrgUsageKey(env.pool, SYSTEM, { orgId: orgs.a.id, name: 'usage' });
  principals.push({ label: 'usage key of the org', token: usage.key, keyOrg: orgs.a.id, grants: [{ role: 'scope:usage', orgId: orgs.a.id }] });
  principals.push({ label: 'owner of another org', token: ownerB.token, userId: ownerB.id, grants: [{ role: 'org:owner', orgId: orgs.b.id }] });
  await api.policy.reload();
});

afterAll(async () => {
  await api?.close();
  await env?.cleanup();
});

const LABELS = [
  'org owner',
  'org admin',
  'org billing',
  'org member',
  'workspace admin of dev',
  'workspace developer of dev',
  'workspace viewer of dev',
  'ingest key of dev',
  'read key of dev',
  'usage key of the org',
  'owner of another org',
];

describe.each(ROUTES)('$method $path ($action)', (row) => {
  it.each(LABELS)('gives the %s exactly what the role table says', async (label) => {
    const principal = principals.find((p) => p.label === label)!;
    const got: Record<string, string> = {};
    const want: Record<string, string> = {};
    for (const target of targets(row)) {
      const prepared = row.prepare ? await row.prepare(target) : {};
      if (row.prepare) await api.policy.reload();
      const t = prepared.workspace ? { ...target, workspaceId: prepared.workspace.id, workspaceName: prepared.workspace.name } : target;
      const asked = withStandIn(principal, target.kind === 'own' ? prepared.workspace?.id : undefined);
      const reply = await api.request(row.method, fill(row.path, { org: t.orgId, ws: t.workspaceId, ...prepared.params }), {
        token: principal.token,
        ...(row.body ? { body: row.body(t) } : {}),
      });
      const expected = expectedStatus(asked, row, t);
      want[target.kind] = String(expected);
      got[target.kind] = reply.status === expected ? String(reply.status) : `${reply.status} ${reply.text}`;
      if (reply.status === 403) expect(errorOf(reply).code).toBe('forbidden');
      if (reply.status === 404) expect(errorOf(reply).code).toBe('not_found');
    }
    expect(got).toEqual(want);
  });

  it('answers 401 without a token', async () => {
    const t = targets(row)[0]!;
    const reply = await api.request(row.method, fill(row.path, { org: t.orgId, ws: t.workspaceId, id: 'x', userId: 'x' }), row.body ? { body: row.body(t) } : {});
    expect(reply.status).toBe(401);
  });
});

describe.each(USER_ROUTES)('$method $path (people only)', (row) => {
  it('answers every user with its success status and every key with 403', async () => {
    const got: Record<string, number> = {};
    const want: Record<string, number> = {};
    for (const p of principals) {
      const reply = await api.request(row.method, `/api/v1${row.path}`, { token: p.token, ...(row.body ? { body: row.body() } : {}) });
      got[p.label] = reply.status;
      want[p.label] = p.keyOrg === undefined ? row.ok : 403;
    }
    expect(got).toEqual(want);
  });

  it('answers 401 without a token', async () => {
    expect((await api.request(row.method, `/api/v1${row.path}`, row.body ? { body: row.body() } : {})).status).toBe(401);
  });
});

describe('people-only routes that act on one thing', () => {
  it('lets each user accept an invitation meant for it, and refuses keys with 403', async () => {
    const host = await userWithToken(env.pool, 'host');
    const { id: hostOrg } = await createOrganization(env.pool, SYSTEM, { name: unique('host'), ownerUserId: host.id });
    for (const p of principals) {
      const reply = await api.request('POST', '/api/v1/invitations/accept', { token: p.token, body: { token: 'cnp_inv_unknown' } });
      expect({ who: p.label, status: reply.status }).toEqual({ who: p.label, status: p.keyOrg === undefined ? 404 : 403 });
    }
    const guest = principals.find((p) => p.label === 'org billing')!;
    const { rows } = await env.pool.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [guest.userId]);
    const { token } = await inviteMember(env.pool, SYSTEM, { orgId: hostOrg, email: rows[0]!.email, role: 'member' });
    expect((await api.request('POST', '/api/v1/invitations/accept', { token: guest.token, body: { token } })).status).toBe(200);
  });

  it("revokes only the caller's own personal tokens", async () => {
    for (const p of principals) {
      const reply = await api.request('DELETE', '/api/v1/me/tokens/tok_not_mine', { token: p.token });
      expect({ who: p.label, status: reply.status }).toEqual({ who: p.label, status: p.keyOrg === undefined ? 404 : 403 });
    }
  });

  it('answers a workspace named under another organization with 404, even to an owner of both', async () => {
    const both = await userWithToken(env.pool, 'owner-of-both');
    await addMember(env.pool, SYSTEM, { orgId: orgs.a.id, userId: both.id, role: 'owner' });
    await addMember(env.pool, SYSTEM, { orgId: orgs.b.id, userId: both.id, role: 'owner' });
    await api.policy.reload();
    expect((await api.request('GET', `/api/v1/orgs/${orgs.b.id}/workspaces/${ws.other.id}`, { token: both.token })).status).toBe(200);
    const crossed = await api.request('GET', `/api/v1/orgs/${orgs.a.id}/workspaces/${ws.other.id}`, { token: both.token });
    expect(crossed.status).toBe(404);
    expect(errorOf(crossed)).toEqual({ code: 'not_found', message: 'workspace not found', field: 'ws' });
  });

  it('answers an organization that does not exist exactly like one the caller has no part in', async () => {
    const owner = principals[0]!;
    const missing = await api.request('GET', '/api/v1/orgs/org_doesnotexist/members', { token: owner.token });
    const foreign = await api.request('GET', `/api/v1/orgs/${orgs.b.id}/members`, { token: owner.token });
    expect([missing.status, foreign.status]).toEqual([404, 404]);
    expect(errorOf(missing)).toEqual(errorOf(foreign));
  });
});

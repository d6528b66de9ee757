import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, createOrganization, createWorkspace, createWorkspaceKey, removeMember, removeWorkspaceMember, revokeKey, setWorkspaceMember } from '@canopy/core';
import { createTestEnv, waitFor, type TestEnv } from '@canopy/core/testing';
import { startApi, SYSTEM, unique, userWithToken, type RunningApi } from './helpers.js';

/**
 * Changes made elsewhere (another query API process, the CLI, core directly) reach a
 * running query API through Postgres NOTIFY: the policy engine reloads, the key cache
 * drops the key. Nothing here calls reload by hand.
 */

let env: TestEnv;
let api: RunningApi;
let orgId: string;
let wsId: string;
let ownerToken: string;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  const owner = await userWithToken(env.pool, 'owner');
  ownerToken = owner.token;
  orgId = (await createOrganization(env.pool, SYSTEM, { name: unique('org'), ownerUserId: owner.id })).id;
  wsId = (await createWorkspace(env.pool, SYSTEM, { orgId, slug: 'dev' })).id;
});

afterAll(async () => {
  await api?.close();
  await env?.cleanup();
});

/** Milliseconds until `path` answers `status` for `token`, polling every 10 ms; fails after a second. */
async function msUntil(target: RunningApi, request: { path: string; token: string }, status: number): Promise<number> {
  const started = Date.now();
  await waitFor(async () => (await target.request('GET', request.path, { token: request.token })).status === status, {
    timeoutMs: 1_000,
    intervalMs: 10,
    what: `${request.path} → ${status}`,
  });
  return Date.now() - started;
}

describe('revocation reaches a running query API within a second', () => {
  it('a member removed from the organization gets 404 for it', async () => {
    const admin = await userWithToken(env.pool, 'admin');
    await addMember(env.pool, SYSTEM, { orgId, userId: admin.id, role: 'admin' });
    const members = { path: `/api/v1/orgs/${orgId}/members`, token: admin.token };
    await msUntil(api, members, 200);
    await removeMember(env.pool, SYSTEM, { orgId, userId: admin.id });
    expect(await msUntil(api, members, 404)).toBeLessThan(1_000);
  });

  it('a member whose workspace role is taken away gets 403 for the workspace', async () => {
    const viewer = await userWithToken(env.pool, 'viewer');
    await addMember(env.pool, SYSTEM, { orgId, userId: viewer.id, role: 'member' });
    await setWorkspaceMember(env.pool, SYSTEM, { orgId, workspaceId: wsId, userId: viewer.id, role: 'viewer' });
    const workspace = { path: `/api/v1/orgs/${orgId}/workspaces/${wsId}`, token: viewer.token };
    await msUntil(api, workspace, 200);
    await removeWorkspaceMember(env.pool, SYSTEM, { orgId, workspaceId: wsId, userId: viewer.id });
    expect(await msUntil(api, workspace, 403)).toBeLessThan(1_000);
  });

  it('a revoked API key gets 401', async () => {
    const key = await createWorkspaceKey(env.pool, SYSTEM, { orgId, workspaceId: wsId, name: 'reader', scopes: ['read'] });
    const workspace = { path: `/api/v1/orgs/${orgId}/workspaces/${wsId}`, token: key.key };
    await msUntil(api, workspace, 200);
    await revokeKey(env.pool, SYSTEM, { orgId, workspaceId: wsId, keyId: key.id });
    expect(await msUntil(api, workspace, 401)).toBeLessThan(1_000);
  });

  it('a change made through one query API process reaches another', async () => {
    const other = await startApi(env);
    try {
      const key = await createWorkspaceKey(env.pool, SYSTEM, { orgId, workspaceId: wsId, name: 'reader', scopes: ['read'] });
      const workspace = { path: `/api/v1/orgs/${orgId}/workspaces/${wsId}`, token: key.key };
      await msUntil(other, workspace, 200);
      expect((await api.request('DELETE', `/api/v1/workspaces/${wsId}/keys/${key.id}`, { token: ownerToken })).status).toBe(200);
      expect(await msUntil(other, workspace, 401)).toBeLessThan(1_000);
    } finally {
      await other.close();
    }
  });
});

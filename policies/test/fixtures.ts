import { createApiKey, createLogger, newId, type Logger, type PgPool } from '@canopy/core';
import { createTestOrg, type TestEnv } from '@canopy/core/testing';
import type { OrgRole, Subject, WorkspaceRole } from '@canopy/policies';
import type { Grant } from './expected.js';

/** A real logger that writes nothing; tests spy on it where a warning is the behaviour. */
export function testLogger(): Logger {
  return createLogger({ level: 'silent', pretty: false }, 'policies-test');
}

export async function addUser(pool: PgPool, label: string): Promise<string> {
  const id = newId('usr');
  await pool.query('INSERT INTO users (id, email, name) VALUES ($1, $2, $3)', [id, `${label}-${id}@example.test`, label]);
  return id;
}

export async function addOrgMember(pool: PgPool, input: { orgId: string; userId: string; role: OrgRole }): Promise<void> {
  await pool.query('INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, $3)', [input.orgId, input.userId, input.role]);
}

export async function addWorkspaceMember(pool: PgPool, input: { workspaceId: string; userId: string; role: WorkspaceRole }): Promise<void> {
  await pool.query('INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, $3)', [input.workspaceId, input.userId, input.role]);
}

export interface Actor {
  label: string;
  subject: Subject;
  /** what the role table should give it; empty when it should get nothing */
  grants: Grant[];
}

export interface SeededOrg {
  orgId: string;
  /** dev and prod */
  workspaceIds: [string, string];
  actors: Actor[];
}

/**
 * An org with workspaces `dev` and `prod`, a user for every org role, an org member for
 * every workspace role on `dev`, and keys of each kind, plus subjects that must get
 * nothing: a workspace role without org membership, revoked and expired keys.
 */
export async function seedOrg(env: TestEnv): Promise<SeededOrg> {
  const { pool } = env;
  const { orgId, workspaces } = await createTestOrg(env, ['dev', 'prod']);
  const dev = workspaces.dev!;
  const prod = workspaces.prod!;
  const actors: Actor[] = [];
  const user = (label: string, id: string, grants: Grant[]) => actors.push({ label, subject: { type: 'user', id }, grants });
  const key = (label: string, id: string, grants: Grant[]) => actors.push({ label, subject: { type: 'api_key', id }, grants });

  for (const role of ['owner', 'admin', 'billing', 'member'] as const) {
    const id = await addUser(pool, role);
    await addOrgMember(pool, { orgId, userId: id, role });
    user(`org ${role}`, id, [{ role: `org:${role}`, held: { orgId } }]);
  }
  for (const role of ['admin', 'developer', 'viewer'] as const) {
    const id = await addUser(pool, `ws-${role}`);
    await addOrgMember(pool, { orgId, userId: id, role: 'member' });
    await addWorkspaceMember(pool, { workspaceId: dev.id, userId: id, role });
    user(`workspace ${role} of dev`, id, [
      { role: 'org:member', held: { orgId } },
      { role: `ws:${role}`, held: { workspaceId: dev.id } },
    ]);
  }
  {
    const id = await addUser(pool, 'billing-viewer');
    await addOrgMember(pool, { orgId, userId: id, role: 'billing' });
    await addWorkspaceMember(pool, { workspaceId: prod.id, userId: id, role: 'viewer' });
    user('billing who also views prod', id, [
      { role: 'org:billing', held: { orgId } },
      { role: 'ws:viewer', held: { workspaceId: prod.id } },
    ]);
  }
  {
    const id = await addUser(pool, 'outsider');
    await addWorkspaceMember(pool, { workspaceId: dev.id, userId: id, role: 'admin' });
    user('workspace admin of dev who is not an org member', id, []);
  }

  key('dev ingest key', dev.ingestKey.id, [{ role: 'scope:ingest', held: { workspaceId: dev.id } }]);
  key('dev read key', dev.readKey.id, [{ role: 'scope:read', held: { workspaceId: dev.id } }]);
  const all = await createApiKey(pool, { orgId, workspaceId: prod.id, name: 'prod all', scopes: ['ingest', 'read', 'usage'] });
  key('prod key with every scope', all.id, [
    { role: 'scope:ingest', held: { workspaceId: prod.id } },
    { role: 'scope:read', held: { workspaceId: prod.id } },
  ]);
  const usage = await createApiKey(pool, { orgId, workspaceId: null, name: 'finance', scopes: ['usage'] });
  key('org usage key', usage.id, [{ role: 'scope:usage', held: { orgId } }]);
  const orgRead = await createApiKey(pool, { orgId, workspaceId: null, name: 'org read', scopes: ['read', 'ingest'] });
  key('org key with read and ingest', orgRead.id, []);
  const revoked = await createApiKey(pool, { orgId, workspaceId: dev.id, name: 'revoked', scopes: ['ingest', 'read'] });
  await pool.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [revoked.id]);
  key('revoked key', revoked.id, []);
  const expired = await createApiKey(pool, { orgId, workspaceId: dev.id, name: 'expired', scopes: ['ingest', 'read'], expiresAt: new Date(Date.now() - 1_000) });
  key('expired key', expired.id, []);

  return { orgId, workspaceIds: [dev.id, prod.id], actors };
}

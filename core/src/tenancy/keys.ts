import { createApiKey, revokeApiKey, type ApiKeyScope, type CreatedApiKey } from '../keys/store.js';
import { recordAudit } from './audit.js';
import { inTransaction, type Db, type Queryable } from './db.js';
import { parseInput, TenancyError } from './errors.js';
import { lockOrganization } from './organizations.js';
import { createOrgUsageKeySchema, createWorkspaceKeySchema, type Actor, type CreateOrgUsageKeyInput, type CreateWorkspaceKeyInput, type OrgRef, type WorkspaceRef } from './schemas.js';
import { lockWorkspace } from './workspaces.js';

/** A key as listed: everything but the secret and its hash. */
export interface ApiKeyInfo {
  id: string;
  orgId: string;
  workspaceId: string | null;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  createdBy: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

interface KeyRow {
  id: string;
  org_id: string;
  workspace_id: string | null;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  created_by: string | null;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'id, org_id, workspace_id, name, prefix, scopes, created_by, created_at, last_used_at, expires_at, revoked_at';

const toInfo = (r: KeyRow): ApiKeyInfo => ({
  id: r.id,
  orgId: r.org_id,
  workspaceId: r.workspace_id,
  name: r.name,
  prefix: r.prefix,
  scopes: r.scopes,
  createdBy: r.created_by,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

const snapshot = (k: ApiKeyInfo): Record<string, unknown> => ({
  id: k.id,
  workspaceId: k.workspaceId,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  expiresAt: k.expiresAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
});

async function createAudited(client: Queryable, actor: Actor, key: { orgId: string; workspaceId: string | null; name: string; scopes: ApiKeyScope[]; expiresAt: Date | null }): Promise<CreatedApiKey> {
  const created = await createApiKey(client, { ...key, createdBy: actor.id });
  const { rows } = await client.query<KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [created.id]);
  await recordAudit(client, { orgId: key.orgId, actor, action: 'key.create', targetType: 'api_key', targetId: created.id, after: snapshot(toInfo(rows[0]!)) });
  return created;
}

/** Creates an ingest and/or read key for one workspace; the secret is in the result only. */
export async function createWorkspaceKey(db: Db, actor: Actor, input: WorkspaceRef & CreateWorkspaceKeyInput): Promise<CreatedApiKey> {
  const { orgId, workspaceId, ...fields } = input;
  const { name, scopes, expiresAt } = parseInput(createWorkspaceKeySchema, fields);
  return inTransaction(db, async (client) => {
    await lockWorkspace(client, { orgId, workspaceId }, 'SHARE');
    return createAudited(client, actor, { orgId, workspaceId, name, scopes, expiresAt: expiresAt ?? null });
  });
}

/** Creates an org-level key with the `usage` scope (finance exports); the secret is in the result only. */
export async function createOrgUsageKey(db: Db, actor: Actor, input: OrgRef & CreateOrgUsageKeyInput): Promise<CreatedApiKey> {
  const { orgId, ...fields } = input;
  const { name, expiresAt } = parseInput(createOrgUsageKeySchema, fields);
  return inTransaction(db, async (client) => {
    await lockOrganization(client, orgId);
    return createAudited(client, actor, { orgId, workspaceId: null, name, scopes: ['usage'], expiresAt: expiresAt ?? null });
  });
}

/**
 * The keys of one workspace (`workspaceId` null: the org's usage keys), revoked ones
 * included, newest first. not_found when the workspace is not in `orgId`.
 */
export async function listKeys(db: Queryable, orgId: string, workspaceId: string | null): Promise<ApiKeyInfo[]> {
  if (workspaceId !== null) {
    const ws = await db.query('SELECT 1 FROM workspaces WHERE id = $1 AND org_id = $2', [workspaceId, orgId]);
    if (ws.rowCount === 0) throw new TenancyError('not_found', 'workspace not found', { field: 'workspaceId' });
  }
  const { rows } = await db.query<KeyRow>(
    `SELECT ${COLUMNS} FROM api_keys WHERE org_id = $1 AND workspace_id IS NOT DISTINCT FROM $2 ORDER BY created_at DESC, id`,
    [orgId, workspaceId],
  );
  return rows.map(toInfo);
}

/**
 * A key by id alone, whatever its organization: for operators (`canopy keys revoke <id>`),
 * who act outside any organization. Everything answering a tenant goes through listKeys.
 */
export async function lookupKey(db: Queryable, keyId: string): Promise<ApiKeyInfo | null> {
  const { rows } = await db.query<KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [keyId]);
  return rows[0] ? toInfo(rows[0]) : null;
}

/**
 * Revokes a key of one workspace (`workspaceId` null: an org usage key). not_found when
 * the key is not in that workspace of that organization. Revoking a revoked key changes
 * nothing and records nothing.
 */
export async function revokeKey(db: Db, actor: Actor, input: OrgRef & { workspaceId: string | null; keyId: string }): Promise<ApiKeyInfo> {
  const { orgId, workspaceId, keyId } = input;
  return inTransaction(db, async (client) => {
    const { rows } = await client.query<KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1 AND org_id = $2 AND workspace_id IS NOT DISTINCT FROM $3 FOR UPDATE`, [
      keyId,
      orgId,
      workspaceId,
    ]);
    if (!rows[0]) throw new TenancyError('not_found', 'key not found', { field: 'keyId' });
    const before = toInfo(rows[0]);
    if (before.revokedAt) return before;
    await revokeApiKey(client, keyId);
    const updated = await client.query<KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [keyId]);
    const after = toInfo(updated.rows[0]!);
    await recordAudit(client, { orgId, actor, action: 'key.revoke', targetType: 'api_key', targetId: keyId, before: snapshot(before), after: snapshot(after) });
    return after;
  });
}

import type { PgPool } from '../postgres/pool.js';
import { newId } from '../ids.js';
import { generateSecret } from './secrets.js';

export const API_KEY_SCOPES = ['ingest', 'read', 'usage'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** What a key resolves to: everything the collector needs to tag and admit a request. */
export interface ApiKeyPrincipal {
  keyId: string;
  orgId: string;
  workspaceId: string | null;
  scopes: readonly ApiKeyScope[];
  expiresAt: number | null;
}

export interface CreatedApiKey {
  id: string;
  /** the secret; returned once, never stored */
  key: string;
  prefix: string;
  scopes: ApiKeyScope[];
}

export interface NewApiKey {
  orgId: string;
  workspaceId: string | null;
  name: string;
  scopes: ApiKeyScope[];
  createdBy?: string | null;
  expiresAt?: Date | null;
}

interface Queryable {
  query: PgPool['query'];
}

export async function createApiKey(db: Queryable, input: NewApiKey): Promise<CreatedApiKey> {
  const { secret, prefix, hash } = generateSecret('api');
  const id = newId('key');
  await db.query(
    `INSERT INTO api_keys (id, org_id, workspace_id, name, prefix, key_hash, scopes, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [id, input.orgId, input.workspaceId, input.name, prefix, hash, input.scopes, input.createdBy ?? null, input.expiresAt ?? null],
  );
  return { id, key: secret, prefix, scopes: input.scopes };
}

/** Looks a key up by the hash of its secret; null when unknown or revoked. */
export async function findApiKeyByHash(db: Queryable, hash: string): Promise<ApiKeyPrincipal | null> {
  const { rows } = await db.query<{ id: string; org_id: string; workspace_id: string | null; scopes: ApiKeyScope[]; expires_at: Date | null }>(
    'SELECT id, org_id, workspace_id, scopes, expires_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
    [hash],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    keyId: row.id,
    orgId: row.org_id,
    workspaceId: row.workspace_id,
    scopes: row.scopes,
    expiresAt: row.expires_at ? row.expires_at.getTime() : null,
  };
}

export async function revokeApiKey(db: Queryable, id: string): Promise<boolean> {
  const r = await db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
  return (r.rowCount ?? 0) > 0;
}

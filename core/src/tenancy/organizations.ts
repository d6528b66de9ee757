import type { PgPool } from '../postgres/pool.js';
import { withTransaction } from '../postgres/pool.js';
import { newId } from '../ids.js';
import { createApiKey, type CreatedApiKey } from '../keys/store.js';

export interface WorkspaceRecord {
  id: string;
  orgId: string;
  slug: string;
  name: string;
}

export interface OrganizationRecord {
  id: string;
  name: string;
}

export interface BootstrappedWorkspace extends WorkspaceRecord {
  ingestKey: CreatedApiKey;
  readKey: CreatedApiKey;
}

export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Creates an organization with workspaces and one ingest and one read key each, in one transaction. */
export async function createOrganizationWithWorkspaces(
  pool: PgPool,
  input: { name: string; workspaceSlugs: string[]; createdBy?: string | null },
): Promise<{ org: OrganizationRecord; workspaces: BootstrappedWorkspace[] }> {
  for (const slug of input.workspaceSlugs) {
    if (!SLUG_PATTERN.test(slug)) throw new TypeError(`invalid workspace slug ${JSON.stringify(slug)}: use a-z, 0-9 and -`);
  }
  return withTransaction(pool, async (client) => {
    const org = { id: newId('org'), name: input.name };
    await client.query('INSERT INTO organizations (id, name) VALUES ($1, $2)', [org.id, org.name]);
    const workspaces: BootstrappedWorkspace[] = [];
    for (const slug of input.workspaceSlugs) {
      const ws = { id: newId('ws'), orgId: org.id, slug, name: slug };
      await client.query('INSERT INTO workspaces (id, org_id, slug, name) VALUES ($1, $2, $3, $4)', [ws.id, org.id, slug, slug]);
      const common = { orgId: org.id, workspaceId: ws.id, createdBy: input.createdBy ?? null };
      const ingestKey = await createApiKey(client, { ...common, name: `${slug} ingest`, scopes: ['ingest'] });
      const readKey = await createApiKey(client, { ...common, name: `${slug} read`, scopes: ['read'] });
      workspaces.push({ ...ws, ingestKey, readKey });
    }
    return { org, workspaces };
  });
}

export async function findOrganizationByName(pool: PgPool, name: string): Promise<OrganizationRecord | null> {
  const { rows } = await pool.query<OrganizationRecord>('SELECT id, name FROM organizations WHERE lower(name) = lower($1)', [name]);
  return rows[0] ?? null;
}

export async function listWorkspaces(pool: PgPool, orgId: string): Promise<WorkspaceRecord[]> {
  const { rows } = await pool.query<{ id: string; org_id: string; slug: string; name: string }>(
    'SELECT id, org_id, slug, name FROM workspaces WHERE org_id = $1 ORDER BY created_at, slug',
    [orgId],
  );
  return rows.map((r) => ({ id: r.id, orgId: r.org_id, slug: r.slug, name: r.name }));
}

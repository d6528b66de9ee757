import type { PgPool } from '../postgres/pool.js';
import { withTransaction } from '../postgres/pool.js';
import { newId } from '../ids.js';
import { createApiKey, type CreatedApiKey } from '../keys/store.js';
import { recordAudit } from './audit.js';
import { inTransaction, type Db, type Queryable } from './db.js';
import { parseInput, TenancyError } from './errors.js';
import { SLUG_PATTERN, createOrganizationSchema, renameOrganizationSchema, type Actor, type CreateOrganizationInput, type OrgRef, type OrgRole } from './schemas.js';
import type { WorkspaceRecord } from './workspaces.js';

export { SLUG_PATTERN } from './schemas.js';
export { listWorkspaces, type WorkspaceRecord } from './workspaces.js';

export interface OrganizationRecord {
  id: string;
  name: string;
}

export interface Organization extends OrganizationRecord {
  createdAt: Date;
}

export interface BootstrappedWorkspace extends WorkspaceRecord {
  ingestKey: CreatedApiKey;
  readKey: CreatedApiKey;
}

interface OrgRow {
  id: string;
  name: string;
  created_at: Date;
}

const toOrganization = (r: OrgRow): Organization => ({ id: r.id, name: r.name, createdAt: r.created_at });

/**
 * Creates an organization owned by `ownerUserId`, with the default plan (`free`, no
 * quota). Conflict on `name` when the name is taken (case-insensitive).
 */
export async function createOrganization(db: Db, actor: Actor, input: CreateOrganizationInput & { ownerUserId: string }): Promise<Organization> {
  const { ownerUserId } = input;
  const { name } = parseInput(createOrganizationSchema, input);
  return inTransaction(db, async (client) => {
    const { rows } = await client.query<OrgRow>('INSERT INTO organizations (id, name) VALUES ($1, $2) RETURNING id, name, created_at', [newId('org'), name]);
    const org = toOrganization(rows[0]!);
    await client.query(`INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, 'owner')`, [org.id, ownerUserId]);
    await client.query(`INSERT INTO org_plans (org_id, plan) VALUES ($1, 'free')`, [org.id]);
    await recordAudit(client, {
      orgId: org.id,
      actor,
      action: 'org.create',
      targetType: 'organization',
      targetId: org.id,
      after: { id: org.id, name: org.name, ownerUserId, plan: 'free' },
    });
    return org;
  });
}

export async function renameOrganization(db: Db, actor: Actor, input: OrgRef & CreateOrganizationInput): Promise<Organization> {
  const { orgId } = input;
  const { name } = parseInput(renameOrganizationSchema, input);
  return inTransaction(db, async (client) => {
    const before = await lockOrganization(client, orgId);
    const { rows } = await client.query<OrgRow>('UPDATE organizations SET name = $2 WHERE id = $1 RETURNING id, name, created_at', [orgId, name]);
    const org = toOrganization(rows[0]!);
    await recordAudit(client, { orgId, actor, action: 'org.rename', targetType: 'organization', targetId: orgId, before: { name: before.name }, after: { name: org.name } });
    return org;
  });
}

/** Locks the organization row for the rest of the transaction; not_found when it does not exist. */
export async function lockOrganization(client: Queryable, orgId: string): Promise<Organization> {
  const { rows } = await client.query<OrgRow>('SELECT id, name, created_at FROM organizations WHERE id = $1 FOR UPDATE', [orgId]);
  if (!rows[0]) throw new TenancyError('not_found', 'organization not found', { field: 'orgId' });
  return toOrganization(rows[0]);
}

export async function getOrganization(db: Queryable, orgId: string): Promise<Organization | null> {
  const { rows } = await db.query<OrgRow>('SELECT id, name, created_at FROM organizations WHERE id = $1', [orgId]);
  return rows[0] ? toOrganization(rows[0]) : null;
}

/** The organizations a user belongs to, with the user's role in each, by name. */
export async function listOrganizationsForUser(db: Queryable, userId: string): Promise<Array<Organization & { role: OrgRole }>> {
  const { rows } = await db.query<OrgRow & { role: OrgRole }>(
    `SELECT o.id, o.name, o.created_at, m.role
       FROM org_members m JOIN organizations o ON o.id = m.org_id
      WHERE m.user_id = $1 ORDER BY lower(o.name), o.id`,
    [userId],
  );
  return rows.map((r) => ({ ...toOrganization(r), role: r.role }));
}

export async function findOrganizationByName(pool: Queryable, name: string): Promise<OrganizationRecord | null> {
  const { rows } = await pool.query<OrganizationRecord>('SELECT id, name FROM organizations WHERE lower(name) = lower($1)', [name]);
  return rows[0] ?? null;
}

/**
 * Creates an organization with workspaces and one ingest and one read key each, in one
 * transaction, without members or audit entries — the test fixture's shortcut
 * (`createTestOrg`). Real set-ups use `bootstrapOrganization`.
 */
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

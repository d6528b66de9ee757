import { inTransaction, type Db, type Queryable } from './db.js';
import { createWorkspaceKey } from './keys.js';
import { addMember } from './members.js';
import { createOrganization } from './organizations.js';
import { parseInput, TenancyError } from './errors.js';
import { bootstrapSchema, type Actor, type BootstrapInput } from './schemas.js';
import { createPersonalToken } from './tokens.js';
import { createUser, findUserByEmail, type User } from './users.js';
import { createWorkspace } from './workspaces.js';

/** The JSON that `canopy bootstrap --json` prints (DESIGN.md, "CLI"). */
export interface BootstrapResult {
  org: { id: string; name: string };
  workspaces: Array<{ id: string; slug: string; ingestKey: string; readKey: string }>;
  ownerToken: string;
  billingToken: string;
}

export const BOOTSTRAP_ACTOR = { type: 'system', id: 'bootstrap' } as const satisfies Actor;

/** `Acme, Inc.` → `acme-inc`; what default user emails are made of. */
export function slugifyName(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return slug || 'org';
}

/**
 * A given email names a user to reuse (or create); a default one must be new, so that two
 * organizations whose names slugify alike never share an owner by accident.
 */
async function bootstrapUser(client: Queryable, wanted: { email: string; name: string; given: boolean; field: string }): Promise<User> {
  const { email, name, given, field } = wanted;
  const existing = await findUserByEmail(client, email);
  if (existing && given) return existing;
  if (existing) throw new TenancyError('conflict', `a user ${email} already exists; pass the ${field} explicitly`, { field });
  return createUser(client, { email, name });
}

/**
 * Sets up an organization for `canopy bootstrap` in one transaction: an owner and a
 * billing user (default `owner@<slug>.local`, `billing@<slug>.local`), the organization,
 * its workspaces with one ingest and one read key each, and a personal token for each of
 * the two users. Every step is audited with actor system/bootstrap.
 */
export async function bootstrapOrganization(db: Db, input: BootstrapInput): Promise<BootstrapResult> {
  const { name, workspaceSlugs, ownerEmail, billingEmail } = parseInput(bootstrapSchema, input);
  const slug = slugifyName(name);
  const owner = { email: ownerEmail ?? `owner@${slug}.local`, given: ownerEmail !== undefined };
  const billing = { email: billingEmail ?? `billing@${slug}.local`, given: billingEmail !== undefined };
  if (owner.email.toLowerCase() === billing.email.toLowerCase()) {
    throw new TenancyError('invalid', 'billingEmail: the owner and the billing user must differ', { field: 'billingEmail' });
  }
  const actor = BOOTSTRAP_ACTOR;
  return inTransaction(db, async (client) => {
    const ownerUser = await bootstrapUser(client, { ...owner, name: `${name} owner`, field: 'ownerEmail' });
    const billingUser = await bootstrapUser(client, { ...billing, name: `${name} billing`, field: 'billingEmail' });
    const org = await createOrganization(client, actor, { name, ownerUserId: ownerUser.id });
    await addMember(client, actor, { orgId: org.id, userId: billingUser.id, role: 'billing' });
    const workspaces: BootstrapResult['workspaces'] = [];
    for (const wsSlug of workspaceSlugs) {
      const ws = await createWorkspace(client, actor, { orgId: org.id, slug: wsSlug });
      const ref = { orgId: org.id, workspaceId: ws.id };
      const ingestKey = await createWorkspaceKey(client, actor, { ...ref, name: `${wsSlug} ingest`, scopes: ['ingest'] });
      const readKey = await createWorkspaceKey(client, actor, { ...ref, name: `${wsSlug} read`, scopes: ['read'] });
      workspaces.push({ id: ws.id, slug: ws.slug, ingestKey: ingestKey.key, readKey: readKey.key });
    }
    const ownerToken = await createPersonalToken(client, actor, { userId: ownerUser.id, name: 'bootstrap' });
    const billingToken = await createPersonalToken(client, actor, { userId: billingUser.id, name: 'bootstrap' });
    return { org: { id: org.id, name: org.name }, workspaces, ownerToken: ownerToken.token, billingToken: billingToken.token };
  });
}

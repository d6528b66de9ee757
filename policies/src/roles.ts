/**
 * The role names of DESIGN.md ("Roles"): the vocabulary shared by the Postgres rows, the
 * role → action table (role-table.ts) and the Casbin model (model.ts).
 */

/** Roles a user holds in an organization. */
export const ORG_ROLES = ['owner', 'admin', 'billing', 'member'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

/** Org roles that act on every workspace of their organization. */
export const ORG_WIDE_ROLES = ['owner', 'admin'] as const satisfies readonly OrgRole[];
export type OrgWideRole = (typeof ORG_WIDE_ROLES)[number];

/** Roles a user holds in one workspace (what a `member` needs to see that workspace). */
export const WORKSPACE_ROLES = ['admin', 'developer', 'viewer'] as const;
export type WorkspaceRole = (typeof WORKSPACE_ROLES)[number];

export function isOrgRole(value: string): value is OrgRole {
  return (ORG_ROLES as readonly string[]).includes(value);
}

export function isWorkspaceRole(value: string): value is WorkspaceRole {
  return (WORKSPACE_ROLES as readonly string[]).includes(value);
}

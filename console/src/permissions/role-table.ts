import type { OrgRole, WorkspaceRole } from '../api/types';

/**
 * What each person role may do: a copy of the org and workspace rows of the role → action
 * table in policies/src/role-table.ts (the truth, enforced by the API). The console runs in
 * a browser and cannot load the Casbin package, so it keeps this copy to decide what to
 * offer; console/test/permissions.test.ts fails when the two differ.
 */
export type Action =
  | 'org:read'
  | 'org:update'
  | 'org:delete'
  | 'plan:update'
  | 'price:update'
  | 'workspace:create'
  | 'workspace:read'
  | 'workspace:update'
  | 'workspace:delete'
  | 'member:read'
  | 'member:invite'
  | 'member:update'
  | 'member:remove'
  | 'owner:manage'
  | 'workspace_member:manage'
  | 'key:read'
  | 'key:create'
  | 'key:revoke'
  | 'audit:read'
  | 'usage:read'
  | 'billing:read'
  | 'ingest_ledger:read'
  | 'trace:read'
  | 'analytics:read'
  | 'deadletter:manage';

const ADMIN_ACTIONS: readonly Action[] = [
  'org:read',
  'org:update',
  'price:update',
  'workspace:create',
  'workspace:read',
  'workspace:update',
  'workspace:delete',
  'member:read',
  'member:invite',
  'member:update',
  'member:remove',
  'workspace_member:manage',
  'key:read',
  'key:create',
  'key:revoke',
  'audit:read',
  'usage:read',
  'billing:read',
  'ingest_ledger:read',
  'trace:read',
  'analytics:read',
  'deadletter:manage',
];

/** Org roles: the grant covers the organization and every workspace in it. */
export const ORG_ROLE_ACTIONS: Readonly<Record<OrgRole, readonly Action[]>> = {
  owner: [...ADMIN_ACTIONS, 'org:delete', 'plan:update', 'owner:manage'],
  admin: ADMIN_ACTIONS,
  billing: ['org:read', 'workspace:read', 'usage:read', 'billing:read'],
  member: ['org:read'],
};

/** Workspace roles: the grant covers that one workspace. */
export const WORKSPACE_ROLE_ACTIONS: Readonly<Record<WorkspaceRole, readonly Action[]>> = {
  admin: [
    'workspace:read',
    'workspace:update',
    'workspace_member:manage',
    'key:read',
    'key:create',
    'key:revoke',
    'trace:read',
    'analytics:read',
    'ingest_ledger:read',
    'deadletter:manage',
  ],
  developer: ['workspace:read', 'key:read', 'key:create', 'trace:read', 'analytics:read', 'ingest_ledger:read'],
  viewer: ['workspace:read', 'trace:read', 'analytics:read', 'ingest_ledger:read'],
};
